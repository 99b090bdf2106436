'use client';
// Client side: the "Import scene" panel of the scene list. A training output on the server's
// disk -> `import:start` (ImportSession) -> progress bar -> the new scene's link and the
// importer's warnings, or the error (the form keeps its values so the path can be fixed).
import Link from 'next/link';
import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import type { ImportRequest } from '../../server/protocol';
import { tokenQuery } from '../lib/server-url';
import { ImportSession, type ImportSnapshot } from './import-session';

const noop = () => () => {};
const IDLE: ImportSnapshot = { phase: 'idle', fraction: 0, message: '', result: null, failure: null };

interface Form {
  modelDir: string;
  dataset: string;
  iteration: string;
  name: string;
  bake: boolean;
}

/** The request for the form's values, or what is wrong with them. */
export function importRequestOf(f: Form): { req: ImportRequest } | { problem: string } {
  const modelDir = f.modelDir.trim();
  if (!modelDir) return { problem: 'Enter the model directory (the training output folder on the server).' };
  const req: ImportRequest = { modelDir };
  if (f.dataset.trim()) req.dataset = f.dataset.trim();
  if (f.iteration.trim()) {
    const n = Number(f.iteration.trim());
    if (!Number.isInteger(n) || n < 0) return { problem: `Iteration must be a whole number ≥ 0 (got "${f.iteration.trim()}").` };
    req.iteration = n;
  }
  if (f.name.trim()) req.name = f.name.trim();
  if (f.bake) req.bake = true;
  return { req };
}

export function ImportPanel({ token, onImported, sceneName }: { token: string | undefined; onImported: (sceneId: string) => void; sceneName: (id: string) => string | undefined }) {
  const [session, setSession] = useState<ImportSession | null>(null);
  const [form, setForm] = useState<Form>({ modelDir: '', dataset: '', iteration: '', name: '', bake: false });
  const [problem, setProblem] = useState<string | null>(null);
  const snap = useSyncExternalStore(session ? session.subscribe : noop, () => session?.getSnapshot() ?? IDLE, () => IDLE);

  const onImportedRef = useRef(onImported);
  useEffect(() => {
    onImportedRef.current = onImported;
  });

  useEffect(() => {
    const s = new ImportSession((id) => onImportedRef.current(id));
    setSession(s);
    return () => s.dispose();
  }, []);

  const busy = snap.phase === 'connecting' || snap.phase === 'running';
  const set = <K extends keyof Form>(k: K) => (v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!session || busy) return;
    const r = importRequestOf(form);
    if ('problem' in r) return setProblem(r.problem);
    setProblem(null);
    session.start(r.req);
  };

  const pct = Math.round(snap.fraction * 100);
  const result = snap.phase === 'done' ? snap.result : null;
  const failure = snap.phase === 'failed' ? snap.failure : null;

  return (
    <section className="panel import-panel" data-testid="import-panel" aria-labelledby="import-title">
      <div className="panel-head">
        <span id="import-title" className="panel-title">
          Import scene
        </span>
        <span className="muted small">a DGD / Deformable-3DGS training output, or a 3DGS .ply, on the server’s disk</span>
      </div>
      <form className="import-form" onSubmit={submit} noValidate>
        <label className="field field-wide">
          <span className="field-label">
            Model directory <span className="req">*</span>
          </span>
          <input
            className="input mono"
            data-testid="import-model-dir"
            name="modelDir"
            required
            spellCheck={false}
            autoComplete="off"
            placeholder="/path/on/server/output/scene"
            value={form.modelDir}
            disabled={busy}
            onChange={(e) => set('modelDir')(e.currentTarget.value)}
          />
        </label>
        <label className="field field-wide">
          <span className="field-label">
            Dataset directory <span className="muted">(optional: else from cfg_args)</span>
          </span>
          <input
            className="input mono"
            data-testid="import-dataset"
            name="dataset"
            spellCheck={false}
            autoComplete="off"
            placeholder="/path/on/server/data/scene"
            value={form.dataset}
            disabled={busy}
            onChange={(e) => set('dataset')(e.currentTarget.value)}
          />
        </label>
        <div className="field-row">
          <label className="field field-iter">
            <span className="field-label">
              Iteration <span className="muted">(latest)</span>
            </span>
            <input
              className="input mono"
              data-testid="import-iteration"
              name="iteration"
              type="number"
              min={0}
              step={1}
              inputMode="numeric"
              placeholder="latest"
              value={form.iteration}
              disabled={busy}
              onChange={(e) => set('iteration')(e.currentTarget.value)}
            />
          </label>
          <label className="field field-name">
            <span className="field-label">
              Name <span className="muted">(optional)</span>
            </span>
            <input
              className="input"
              data-testid="import-name"
              name="name"
              autoComplete="off"
              placeholder="from the folder name"
              maxLength={200}
              value={form.name}
              disabled={busy}
              onChange={(e) => set('name')(e.currentTarget.value)}
            />
          </label>
          <label className="check" title="Precompute the deformation at every dataset time (slower import, smoother playback)">
            <input type="checkbox" data-testid="import-bake" checked={form.bake} disabled={busy} onChange={(e) => set('bake')(e.currentTarget.checked)} />
            bake deformation
          </label>
          <span className="grow" />
          <button className="btn" type="submit" data-testid="import-submit" disabled={busy || !session}>
            {busy ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>

      {problem && (
        <div className="import-msg import-error" role="alert" data-testid="import-error">
          {problem}
        </div>
      )}

      {(busy || snap.phase === 'done') && (
        <div className="import-progress" data-testid="import-progress">
          <div
            className={`progress ${snap.phase === 'done' ? 'progress-done' : ''}`}
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
            aria-label="import progress"
            data-testid="import-progressbar"
          >
            <div className="progress-fill" style={{ width: `${pct}%` }} />
          </div>
          <div className="progress-line">
            <span className="progress-msg" data-testid="import-progress-msg">
              {snap.phase === 'done' ? 'finished' : snap.message}
            </span>
            <span className="mono small">{pct}%</span>
          </div>
        </div>
      )}

      {result && (
        <div className="import-msg import-ok" role="status" data-testid="import-result">
          <div className="import-ok-line">
            <span className="import-ok-mark">✓</span>
            <span className="grow">{result.message}</span>
            <Link className="link" href={`/s/${encodeURIComponent(result.sceneId)}${tokenQuery(token)}`} data-testid="import-open">
              Open {sceneName(result.sceneId) ?? result.sceneId} →
            </Link>
          </div>
          {result.warnings.length > 0 && (
            <>
              <div className="import-warn-title">
                {result.warnings.length} warning{result.warnings.length > 1 ? 's' : ''}
              </div>
              <ul className="import-warnings" data-testid="import-warnings">
                {result.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}

      {failure && !problem && (
        <div className="import-msg import-error" role="alert" data-testid="import-error">
          <div className="import-error-title">
            {failure.title}
            {failure.code && <span className="muted mono small"> ({failure.code})</span>}
          </div>
          <div className="import-error-msg">{failure.message}</div>
          <div className="muted">{failure.hint}</div>
        </div>
      )}
    </section>
  );
}
