'use client';
// Client side: the list of scenes on the server (GET /api/scenes -> [{id, name, count, dynamic,
// featureDim}]), each linking to its viewer /s/<id>, keeping the page's ?token= (and ?room=) of
// its share link; above it the "Import scene" panel (a finished import re-fetches the list and marks the new scene).
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { AuthSlot } from '../lib/AuthProvider';
import { authHeaders } from '../lib/auth-client';
import { apiUrl, pageRoom, pageToken, shareQuery, tokenQuery } from '../lib/server-url';
import { ImportPanel } from './ImportPanel';

export interface SceneSummary {
  id: string;
  name: string;
  count: number;
  dynamic: boolean;
  /** Semantic feature channels per Gaussian; 0 = no features (older servers omit it). */
  featureDim?: number;
}

type LoadState = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ok'; scenes: SceneSummary[] };

function isSummary(x: unknown): x is SceneSummary {
  const o = x as Partial<SceneSummary> | null;
  return (
    !!o &&
    typeof o.id === 'string' &&
    typeof o.name === 'string' &&
    typeof o.count === 'number' &&
    typeof o.dynamic === 'boolean' &&
    (o.featureDim === undefined || typeof o.featureDim === 'number')
  );
}

export function SceneList() {
  const [state, setState] = useState<LoadState>({ kind: 'loading' });
  const [token, setToken] = useState<string | undefined>(undefined);
  const [room, setRoom] = useState<string | undefined>(undefined);
  const [fresh, setFresh] = useState<string | null>(null);
  /** Whether these credentials may import (owners of the whole server); null until known. */
  const [canImport, setCanImport] = useState<boolean | null>(null);
  const ctrlRef = useRef<AbortController | null>(null);

  const load = useCallback((tok: string | undefined) => {
    ctrlRef.current?.abort();
    const ctrl = new AbortController();
    ctrlRef.current = ctrl;
    // Clerk mode: the session token goes along (authHeaders waits for the sign-in)
    authHeaders()
      .then((auth) => fetch(apiUrl(`/api/scenes${tokenQuery(tok)}`), { signal: ctrl.signal, headers: { accept: 'application/json', ...auth }, cache: 'no-store' }))
      .then(async (res) => {
        if (!res.ok) throw new Error(`GET /api/scenes answered ${res.status} ${res.statusText}`);
        const body: unknown = await res.json();
        if (!Array.isArray(body) || !body.every(isSummary)) throw new Error('GET /api/scenes answered something other than a list of scenes');
        setState({ kind: 'ok', scenes: body });
        const me = await fetch(apiUrl(`/api/me${tokenQuery(tok)}`), { signal: ctrl.signal, headers: { accept: 'application/json', ...(await authHeaders()) }, cache: 'no-store' });
        const who = (await me.json().catch(() => null)) as { canImport?: unknown } | null;
        setCanImport(me.ok && who?.canImport === true);
      })
      .catch((err: unknown) => {
        if (ctrl.signal.aborted) return;
        setState({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      });
  }, []);

  useEffect(() => {
    const tok = pageToken();
    setToken(tok);
    setRoom(pageRoom());
    load(tok);
    return () => ctrlRef.current?.abort();
  }, [load]);

  const onImported = useCallback(
    (sceneId: string) => {
      setFresh(sceneId);
      load(token);
    },
    [load, token],
  );
  const sceneName = (id: string) => (state.kind === 'ok' ? state.scenes.find((s) => s.id === id)?.name : undefined);

  return (
    <div className="page">
      <header className="topbar">
        <span className="brand">Splatsync</span>
        <span className="sep">/</span>
        <span className="scene-name">Scenes</span>
        <span className="grow" />
        <AuthSlot />
      </header>
      <main className="scene-list-wrap">
        {canImport && <ImportPanel token={token} onImported={onImported} sceneName={sceneName} />}

        <div className="section-head">
          <span className="panel-title">Scenes</span>
          {state.kind === 'ok' && <span className="muted small">{state.scenes.length}</span>}
        </div>
        {state.kind === 'loading' && <div className="muted">Loading scenes…</div>}
        {state.kind === 'error' && (
          <div className="error-box" role="alert">
            <div className="error-title">Could not load the scene list</div>
            <div className="error-msg">{state.message}</div>
            <div className="error-hint">Check that the Splatsync server is running (npx splatsync serve), then reload.</div>
          </div>
        )}
        {state.kind === 'ok' && state.scenes.length === 0 && (
          <div className="empty">
            <div>No scenes yet.</div>
            <div className="muted">
              Import one above, or with <code>npx splatsync import MODEL_DIR</code>.
            </div>
          </div>
        )}
        {state.kind === 'ok' && state.scenes.length > 0 && (
          <ul className="scene-list" data-testid="scene-list">
            {state.scenes.map((s) => (
              <li key={s.id}>
                <Link
                  className={`scene-card ${s.id === fresh ? 'scene-card-fresh' : ''}`}
                  href={`/s/${encodeURIComponent(s.id)}${shareQuery(token, room)}`}
                  data-testid="scene-card"
                  data-scene-id={s.id}
                >
                  <span className="scene-card-name">{s.name}</span>
                  <span className="muted small mono">{s.id}</span>
                  {s.id === fresh && <span className="chip chip-ok">new</span>}
                  <span className="grow" />
                  <span className="muted small">{s.count.toLocaleString('en-US')} Gaussians</span>
                  {s.featureDim !== undefined &&
                    (s.featureDim > 0 ? (
                      <span className="chip" title={`${s.featureDim} semantic feature channels per Gaussian`}>
                        {s.featureDim}-d features
                      </span>
                    ) : (
                      <span className="chip chip-warn" title="No semantic features: selection by click or text is unavailable">
                        no features
                      </span>
                    ))}
                  <span className={`chip ${s.dynamic ? 'chip-accent' : ''}`}>{s.dynamic ? 'dynamic' : 'static'}</span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </main>
    </div>
  );
}
