'use client';
// Client side: the list of scenes on the server (GET /api/scenes -> [{id, name, count, dynamic}]),
// each linking to its viewer /s/<id>, keeping the page's ?token= for share links.
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { apiUrl, pageToken, tokenQuery } from '../lib/server-url';

export interface SceneSummary {
  id: string;
  name: string;
  count: number;
  dynamic: boolean;
}

type LoadState = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ok'; scenes: SceneSummary[] };

function isSummary(x: unknown): x is SceneSummary {
  const o = x as Partial<SceneSummary> | null;
  return !!o && typeof o.id === 'string' && typeof o.name === 'string' && typeof o.count === 'number' && typeof o.dynamic === 'boolean';
}

export function SceneList() {
  const [state, setState] = useState<LoadState>({ kind: 'loading' });
  const [token, setToken] = useState<string | undefined>(undefined);

  useEffect(() => {
    const tok = pageToken();
    setToken(tok);
    const ctrl = new AbortController();
    fetch(apiUrl(`/api/scenes${tokenQuery(tok)}`), { signal: ctrl.signal, headers: { accept: 'application/json' } })
      .then(async (res) => {
        if (!res.ok) throw new Error(`GET /api/scenes answered ${res.status} ${res.statusText}`);
        const body: unknown = await res.json();
        if (!Array.isArray(body) || !body.every(isSummary)) throw new Error('GET /api/scenes answered something other than a list of scenes');
        setState({ kind: 'ok', scenes: body });
      })
      .catch((err: unknown) => {
        if (ctrl.signal.aborted) return;
        setState({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      });
    return () => ctrl.abort();
  }, []);

  return (
    <div className="page">
      <header className="topbar">
        <span className="brand">Splatsync</span>
        <span className="sep">/</span>
        <span className="scene-name">Scenes</span>
      </header>
      <main className="scene-list-wrap">
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
              Import one with <code>npx splatsync import MODEL_DIR</code>, then reload.
            </div>
          </div>
        )}
        {state.kind === 'ok' && state.scenes.length > 0 && (
          <ul className="scene-list" data-testid="scene-list">
            {state.scenes.map((s) => (
              <li key={s.id}>
                <Link className="scene-card" href={`/s/${encodeURIComponent(s.id)}${tokenQuery(token)}`}>
                  <span className="scene-card-name">{s.name}</span>
                  <span className="muted small mono">{s.id}</span>
                  <span className="grow" />
                  <span className="muted small">{s.count.toLocaleString('en-US')} Gaussians</span>
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
