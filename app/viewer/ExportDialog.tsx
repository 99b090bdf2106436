'use client';
// Client side: the Export dialog (issue 8; E opens it). Owners and annotators only (the server
// refuses viewers anyway). Two tabs:
// - Export: the room's masks at the dataset views (split all / train / test; per-label PNG,
//   DAVIS, COCO) or an object as .ply (the selected label, or the whole scene with the room's
//   appearance edits; optionally with its semantic features) -> a progress bar fed by the job's
//   progress -> the zip is downloaded (ExportSession).
// - Evaluate: upload reference masks (.zip) -> per-label mean IoU, mIoU, per-frame IoU and the
//   problems the server found in the files.
// The dialog can be closed while a job runs: the job goes on, the header button shows it.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { SceneInfo } from '../../server/protocol';
import type { AnnotationSnapshot } from './annotation';
import {
  formatBytes,
  formatIoU,
  groupProblems,
  iouMatrix,
  MAX_EVAL_UPLOAD_BYTES,
  type ExportSession,
  type ExportSnapshot,
  type Failure,
  type MaskFormat,
  type MaskSplit,
} from './export-session';
import './export.css';

export function useExports(exports: ExportSession | null): ExportSnapshot | null {
  return useSyncExternalStore(
    exports ? exports.subscribe : noop,
    () => (exports ? exports.getSnapshot() : null),
    () => null,
  );
}
const noop = () => () => {};

/** The header button: opens the dialog; shows a running export's progress. */
export function ExportButton({ snap, onOpen }: { snap: ExportSnapshot | null; onOpen: () => void }) {
  const e = snap?.export;
  const running = e && (e.phase === 'starting' || e.phase === 'running' || e.phase === 'downloading');
  const pct = e ? Math.round(e.fraction * 100) : 0;
  const failed = e?.phase === 'failed' && e.failure;
  const title = failed ? `${e.failure!.title}: ${e.failure!.message}\n(open the dialog for what to do)` : running ? `${e.message || 'Exporting…'} (${pct}%)` : 'Export masks or objects, evaluate against reference masks (E)';
  return (
    <button className={`btn btn-ghost btn-sm export-btn ${failed ? 'btn-warn' : ''}`} data-testid="export-open" title={title} onClick={onOpen}>
      Export
      {running && (
        <span className="progress progress-xs" aria-hidden="true">
          <span className="progress-fill" style={{ width: `${pct}%` }} />
        </span>
      )}
    </button>
  );
}

type Tab = 'export' | 'eval';

export function ExportDialog({
  exports,
  scene,
  annot,
  onClose,
}: {
  exports: ExportSession;
  scene: SceneInfo;
  annot: AnnotationSnapshot;
  onClose: () => void;
}) {
  const snap = useExports(exports)!;
  const [tab, setTab] = useState<Tab>('export');
  const dialogRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    dialogRef.current?.focus();
  }, []);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal export-modal"
        role="dialog"
        aria-modal="true"
        aria-label="export and evaluate"
        data-testid="export-dialog"
        tabIndex={-1}
        ref={dialogRef}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            onClose();
          }
        }}
      >
        <div className="modal-head">
          <div className="seg-group" role="tablist" aria-label="export or evaluate">
            <button role="tab" aria-selected={tab === 'export'} className={`seg ${tab === 'export' ? 'seg-on' : ''}`} data-testid="export-tab" onClick={() => setTab('export')}>
              Export
            </button>
            <button role="tab" aria-selected={tab === 'eval'} className={`seg ${tab === 'eval' ? 'seg-on' : ''}`} data-testid="eval-tab" onClick={() => setTab('eval')}>
              Evaluate
            </button>
          </div>
          <span className="muted small export-room">
            room <span className="mono">{snap.roomId ?? '…'}</span>
            {annot.version ? ` · version ${annot.version}` : ''}
          </span>
          <button className="icon-btn" aria-label="close" title="Close (Esc); a running export goes on" onClick={onClose}>
            ×
          </button>
        </div>
        {tab === 'export' ? <ExportTab exports={exports} snap={snap} scene={scene} annot={annot} /> : <EvalTab exports={exports} snap={snap} scene={scene} />}
      </div>
    </div>
  );
}

// ---- export ------------------------------------------------------------------------------------

const FORMATS: { id: MaskFormat; label: string; tip: string }[] = [
  { id: 'png', label: 'per-label PNG', tip: 'png/<view>/<label>.png: 8-bit, 255 = label' },
  { id: 'davis', label: 'DAVIS', tip: 'davis/<view>.png: indexed PNG, index = label, with labels.json' },
  { id: 'coco', label: 'COCO', tip: 'coco.json: compressed RLE per view and label (pycocotools format)' },
];

function ExportTab({ exports, snap, scene, annot }: { exports: ExportSession; snap: ExportSnapshot; scene: SceneInfo; annot: AnnotationSnapshot }) {
  const [kind, setKind] = useState<'masks' | 'ply'>('masks');
  const [split, setSplit] = useState<MaskSplit>('all');
  const [formats, setFormats] = useState<Record<MaskFormat, boolean>>({ png: true, davis: true, coco: true });
  const [includeHidden, setIncludeHidden] = useState(false);
  const [plyWhat, setPlyWhat] = useState<'label' | 'scene'>(annot.activeLabelId ? 'label' : 'scene');
  const [features, setFeatures] = useState(false);
  const e = snap.export;
  const busy = e.phase === 'starting' || e.phase === 'running' || e.phase === 'downloading';

  const counts = { all: scene.views.length, train: 0, test: 0 } as Record<MaskSplit, number>;
  for (const v of scene.views) if (v.split === 'train' || v.split === 'test') counts[v.split]++;
  const labels = annot.labels;
  const exported = labels.filter((l) => includeHidden || l.visible);
  const active = annot.labels.find((l) => l.id === annot.activeLabelId) ?? null;
  const chosenFormats = FORMATS.filter((f) => formats[f.id]).map((f) => f.id);

  let blocker: string | null = null;
  if (!snap.roomId) blocker = 'Not connected to the room yet.';
  else if (kind === 'masks') {
    if (counts[split] === 0) blocker = split === 'all' ? 'This scene has no dataset views to export masks at.' : `This scene has no ${split} views.`;
    else if (chosenFormats.length === 0) blocker = 'Choose at least one format.';
    else if (exported.length === 0) blocker = labels.length === 0 ? 'No labels yet: click an object to make one.' : 'Every label is hidden: show one, or include hidden labels.';
  } else if (plyWhat === 'label' && !active) blocker = 'Select a label in the labels panel first, or export the whole scene.';

  const start = () => {
    if (blocker || busy) return;
    if (kind === 'masks') exports.start({ kind: 'masks', split, formats: chosenFormats, ...(includeHidden ? { includeHidden: true } : {}) });
    else exports.start({ kind: 'ply', ...(plyWhat === 'label' && active ? { labelId: active.id } : {}), features });
  };

  return (
    <div className="export-tab" data-testid="export-form">
      <fieldset className="export-fields" disabled={busy}>
        <div className="export-row" role="radiogroup" aria-label="what to export">
          <label className="check">
            <input type="radio" name="export-kind" data-testid="export-kind-masks" checked={kind === 'masks'} onChange={() => setKind('masks')} />
            Masks at the dataset views
          </label>
          <label className="check">
            <input type="radio" name="export-kind" data-testid="export-kind-ply" checked={kind === 'ply'} onChange={() => setKind('ply')} />
            Object as .ply
          </label>
        </div>
        {kind === 'masks' ? (
          <>
            <div className="export-row">
              <span className="field-label">views</span>
              <select className="select" data-testid="export-split" value={split} onChange={(ev) => setSplit(ev.currentTarget.value as MaskSplit)} aria-label="split">
                {(['all', 'train', 'test'] as const).map((s) => (
                  <option key={s} value={s} disabled={counts[s] === 0}>
                    {s} ({counts[s]})
                  </option>
                ))}
              </select>
            </div>
            <div className="export-row" role="group" aria-label="formats">
              <span className="field-label">formats</span>
              {FORMATS.map((f) => (
                <label className="check" key={f.id} title={f.tip}>
                  <input type="checkbox" data-testid={`export-format-${f.id}`} checked={formats[f.id]} onChange={(ev) => setFormats({ ...formats, [f.id]: ev.currentTarget.checked })} />
                  {f.label}
                </label>
              ))}
            </div>
            <div className="export-row">
              <label className="check" title="Labels whose eye is off in the labels panel are left out unless this is on">
                <input type="checkbox" data-testid="export-include-hidden" checked={includeHidden} onChange={(ev) => setIncludeHidden(ev.currentTarget.checked)} />
                include hidden labels
              </label>
              <span className="muted small">
                {exported.length} label{exported.length === 1 ? '' : 's'} × {counts[split]} view{counts[split] === 1 ? '' : 's'}; appearance edits do not change masks
              </span>
            </div>
          </>
        ) : (
          <>
            <div className="export-row export-col" role="radiogroup" aria-label="which Gaussians">
              <label className="check">
                <input type="radio" name="ply-what" data-testid="export-ply-label" checked={plyWhat === 'label'} disabled={!active} onChange={() => setPlyWhat('label')} />
                the selected label{active ? <>: <span className="swatch-dot" style={{ background: active.colour }} /> {active.name}</> : ' (none selected)'}
              </label>
              <label className="check">
                <input type="radio" name="ply-what" data-testid="export-ply-scene" checked={plyWhat === 'scene'} onChange={() => setPlyWhat('scene')} />
                the whole scene, with the room’s appearance edits (hidden objects left out)
              </label>
            </div>
            <div className="export-row">
              <label className="check" title={scene.featureDim ? `Keep the ${scene.featureDim} sem_* properties` : 'This scene has no semantic features'}>
                <input type="checkbox" data-testid="export-features" checked={features && scene.featureDim > 0} disabled={scene.featureDim === 0} onChange={(ev) => setFeatures(ev.currentTarget.checked)} />
                keep semantic features
              </label>
              <span className="muted small">{scene.dynamic ? 'the motion comes along (deformation network or keyframes)' : ''}</span>
            </div>
          </>
        )}
      </fieldset>
      <div className="export-actions">
        <button className="btn" data-testid="export-start" disabled={!!blocker || busy} title={blocker ?? ''} onClick={start}>
          {busy ? 'Exporting…' : kind === 'masks' ? 'Export masks' : 'Export .ply'}
        </button>
        {blocker && !busy && <span className="muted small" data-testid="export-blocker">{blocker}</span>}
      </div>
      {e.phase !== 'idle' && <ExportStatus exports={exports} snap={snap} />}
    </div>
  );
}

function ExportStatus({ exports, snap }: { exports: ExportSession; snap: ExportSnapshot }) {
  const e = snap.export;
  const pct = Math.round(e.fraction * 100);
  if (e.phase === 'failed' && e.failure) {
    return (
      <div className="export-status">
        <FailureBox failure={e.failure} testId="export-error" />
        <div className="export-actions">
          {e.download && (
            <button className="btn btn-ghost btn-sm" onClick={() => void exports.download()}>
              Try the download again
            </button>
          )}
          <button className="btn btn-ghost btn-sm" onClick={() => exports.resetExport()}>
            Dismiss
          </button>
        </div>
      </div>
    );
  }
  return (
    <div className="export-status" data-testid="export-status">
      <div
        className={`progress ${e.phase === 'done' ? 'progress-done' : ''}`}
        role="progressbar"
        aria-label={e.phase === 'downloading' ? 'download progress' : 'export progress'}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        data-testid="export-progressbar"
        data-phase={e.phase}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <div className="progress-line">
        <span className="progress-msg" data-testid="export-progress-msg" title={e.message}>
          {e.phase === 'starting' ? 'Starting…' : e.message}
        </span>
        <span className="mono">{pct}%</span>
      </div>
      {e.phase === 'done' && (
        <div className="import-msg import-ok" data-testid="export-result">
          <div>{e.summary}</div>
          <div className="export-actions">
            <span className="muted small">{e.saved ? `${e.saved.name} · ${formatBytes(e.saved.bytes)}` : ''}</span>
            <button className="btn btn-ghost btn-sm" data-testid="export-download-again" onClick={() => void exports.download()} title="Downloads are kept on the server for an hour">
              Download again
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

function FailureBox({ failure, testId }: { failure: Failure; testId: string }) {
  return (
    <div className="import-msg import-error" role="alert" data-testid={testId}>
      <div className="import-error-title">{failure.title}</div>
      <div className="import-error-msg">{failure.message}</div>
      <div>{failure.hint}</div>
    </div>
  );
}

// ---- evaluation ----------------------------------------------------------------------------------

function EvalTab({ exports, snap, scene }: { exports: ExportSession; snap: ExportSnapshot; scene: SceneInfo }) {
  const ev = snap.eval;
  const fileRef = useRef<HTMLInputElement>(null);
  const busy = ev.phase === 'uploading' || ev.phase === 'evaluating';
  const pct = Math.round(ev.uploadFraction * 100);
  return (
    <div className="eval-tab" data-testid="eval-panel">
      <p className="muted small eval-intro">
        Upload reference masks as a <b>.zip</b>: folders of per-label PNGs (<span className="mono">&lt;view&gt;/&lt;label&gt;.png</span>), DAVIS indexed PNGs
        (<span className="mono">&lt;view&gt;.png</span> + labels.json) or a COCO JSON (RLE). Frames are matched by view name (e.g.{' '}
        <span className="mono">{scene.views[0] ? `${scene.views[0].split}_${scene.views[0].index}` : 'test_0'}</span>), labels by name; an export of this room has the
        right layout. The server renders this room’s masks at every dataset view and compares (up to {formatBytes(MAX_EVAL_UPLOAD_BYTES)}).
      </p>
      <div className="export-actions">
        <input
          ref={fileRef}
          type="file"
          accept=".zip,application/zip,application/x-zip-compressed"
          data-testid="eval-file"
          className="eval-file"
          disabled={busy || !snap.roomId}
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            if (f) void exports.evaluate(f);
            e.currentTarget.value = ''; // the same file can be chosen again
          }}
        />
        <button className="btn" data-testid="eval-choose" disabled={busy || !snap.roomId} onClick={() => fileRef.current?.click()}>
          {ev.phase === 'idle' ? 'Choose reference masks…' : 'Evaluate another…'}
        </button>
        {ev.fileName && <span className="mono small muted">{ev.fileName}</span>}
      </div>
      {ev.phase === 'uploading' && (
        <div className="export-status" data-testid="eval-uploading">
          <div className="progress" role="progressbar" aria-label="upload progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} data-testid="eval-progressbar">
            <div className="progress-fill" style={{ width: `${pct}%` }} />
          </div>
          <div className="progress-line">
            <span className="progress-msg">uploading…</span>
            <span className="mono">{pct}%</span>
          </div>
        </div>
      )}
      {ev.phase === 'evaluating' && (
        <div className="eval-busy" data-testid="eval-evaluating">
          <span className="spinner spinner-sm" />
          <span className="muted small">Evaluating: the server renders this room’s masks at every dataset view and compares them with yours…</span>
        </div>
      )}
      {ev.phase === 'failed' && ev.failure && <FailureBox failure={ev.failure} testId="eval-error" />}
      {ev.phase === 'done' && ev.report && <EvalReportView report={ev.report} />}
    </div>
  );
}

function iouClass(v: number | null | undefined): string {
  if (v === undefined) return 'iou-na';
  if (v === null) return 'iou-empty';
  return v >= 0.9 ? 'iou-good' : v >= 0.5 ? 'iou-mid' : 'iou-bad';
}

function EvalReportView({ report }: { report: NonNullable<ExportSnapshot['eval']['report']> }) {
  const groups = groupProblems(report.problems);
  const matrix = iouMatrix(report);
  const fmt3 = (v: number | null) => (v === null ? '–' : v.toFixed(3));
  return (
    <div className="eval-report" data-testid="eval-report">
      <div className="eval-summary">
        <span className="eval-miou" data-testid="eval-miou" title="Mean over labels of each label's mean IoU over its frames (frames where both masks are empty are left out)">
          mIoU <b>{fmt3(report.mIoU)}</b>
        </span>
        <span className="muted small" title="Mean over every (frame, label) pair with a defined IoU">
          mean over pairs {fmt3(report.meanOverPairs)}
        </span>
        <span className="muted small">
          {report.labels.length} label{report.labels.length === 1 ? '' : 's'} × {report.frames.length} frame{report.frames.length === 1 ? '' : 's'} · reference: {report.ref.layout}
        </span>
      </div>
      {report.perLabel.length > 0 && (
        <table className="eval-table" data-testid="eval-per-label">
          <thead>
            <tr>
              <th>label</th>
              <th title="mean IoU over the label's frames">mean IoU</th>
              <th title="frames with a defined IoU">frames</th>
              <th title="frames where both masks are empty (IoU undefined)">empty</th>
              <th>min IoU</th>
            </tr>
          </thead>
          <tbody>
            {report.perLabel.map((l) => (
              <tr key={l.label} data-testid="eval-label-row">
                <td className="eval-label">{l.label}</td>
                <td className={`mono ${iouClass(l.meanIoU)}`}>{fmt3(l.meanIoU)}</td>
                <td className="mono">{l.frames}</td>
                <td className="mono">{l.emptyFrames}</td>
                <td className={`mono ${iouClass(l.minIoU)}`}>{fmt3(l.minIoU)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>mIoU</td>
              <td className={`mono ${iouClass(report.mIoU)}`} data-testid="eval-miou-cell">
                {fmt3(report.mIoU)}
              </td>
              <td colSpan={3} />
            </tr>
          </tfoot>
        </table>
      )}
      {matrix.length > 0 && report.labels.length > 0 && (
        <details className="eval-frames" open={matrix.length <= 40}>
          <summary>IoU per frame ({matrix.length})</summary>
          <div className="eval-scroll" data-testid="eval-per-frame">
            <table className="eval-table eval-matrix">
              <thead>
                <tr>
                  <th>frame</th>
                  {report.labels.map((l) => (
                    <th key={l}>{l}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {matrix.map((r) => (
                  <tr key={r.frame}>
                    <td className="mono eval-frame">{r.frame}</td>
                    {r.ious.map((v, i) => (
                      <td key={i} className={`mono ${iouClass(v)}`} title={v === null ? 'both masks empty: IoU undefined' : v === undefined ? 'not evaluated (see the problems)' : ''}>
                        {formatIoU(v)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
      {report.problems.length > 0 && (
        <details className="eval-problems" data-testid="eval-problems" open>
          <summary>
            {report.problems.length} problem{report.problems.length === 1 ? '' : 's'} with the files (left out; the rest was evaluated)
          </summary>
          <ul>
            {groups.map((g, i) => (
              <li key={i} data-testid="eval-problem">
                <span className={`chip ${g.side === 'ref' ? 'chip-warn' : ''}`} title={g.side === 'ref' ? 'in your reference masks' : g.side === 'pred' ? "in this room's masks" : ''}>
                  {g.side === 'ref' ? 'reference' : g.side === 'pred' ? 'room' : 'file'}
                </span>{' '}
                {g.count > 1 ? <b>{g.count}× </b> : null}
                <span className="eval-problem-text">{g.count > 1 ? g.kind : g.examples[0]!.problem}</span>
                {g.count > 1 && (
                  <div className="mono small muted eval-problem-files">
                    {g.examples.map(problemWhere).join('; ')}
                    {g.count > g.examples.length ? '; …' : ''}
                  </div>
                )}
                {g.count === 1 && problemFile(g.examples[0]!) && <div className="mono small muted eval-problem-files">{problemFile(g.examples[0]!)}</div>}
              </li>
            ))}
          </ul>
        </details>
      )}
      {report.notes.length > 0 && (
        <ul className="eval-notes muted small">
          {report.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * The file a problem is about, when it is one file (not a whole set's folder). The server
 * reports paths inside its temporary folders: keep the part that is the user's (inside the zip).
 */
function problemFile(p: { file: string }): string | null {
  if (!/\.(png|json)$/i.test(p.file)) return null;
  const m = /splatsync-eval-[^/\\]*[/\\](?:ref|pred)[/\\](.*)$/.exec(p.file);
  return m ? m[1]! : p.file.split(/[/\\]/).slice(-2).join('/');
}

/** Which frame / label / file an example of a group concerns. */
function problemWhere(p: { file: string; frame?: string; label?: string }): string {
  return [p.frame, p.label, problemFile(p)].filter(Boolean).join(' · ') || '(the whole set)';
}
