'use client';
// Client side: exports and evaluation of the room (issue 8, docs/EXPORT.md). No DOM except the
// download itself; the Export dialog (ExportDialog.tsx) reads its snapshot (subscribe /
// getSnapshot) and calls its actions.
//
// Export: `export:start` {kind: 'masks', split, formats} | {kind: 'ply', labelId?, features} ->
// {jobId} -> `job:progress` (kind 'export') ... -> `job:done` {ok, message, download}. The job
// may report before its ack arrives, so events of unknown export jobs are kept until the ack
// says which one is ours (as the import panel does). The job reports to the socket that started
// it: a dropped connection loses it (the user is told to export again). On success the zip is
// fetched with the page's credentials and saved (app/lib/api-auth.ts says why not a URL token).
//
// Evaluation: a .zip of reference masks -> POST /api/scenes/<scene>/rooms/<room>/eval (upload
// progress, then the server exports the room at every dataset view and compares) -> the
// report (server/eval/index.ts EvalReport), or {error} with what to do.
import type { Socket } from 'socket.io-client';
import type { Ack, ClientToServer, ExportRequest, JobDone, JobProgress, JobStarted, ServerToClient } from '../../server/protocol';
import type { EvalReport } from '../../server/eval/index';
import { apiHint, fetchDownload, postWithProgress, ApiError } from '../lib/api-auth';
import { hintFor } from './error-hints';

type ClientSocket = Socket<ServerToClient, ClientToServer>;

const ACK_TIMEOUT_MS = 20000;
/** The server's limit on reference-mask uploads (server/app.ts MAX_EVAL_UPLOAD_BYTES). */
export const MAX_EVAL_UPLOAD_BYTES = 256 * 1024 * 1024;

export interface Failure {
  title: string;
  message: string;
  hint: string;
}

export type ExportPhase = 'idle' | 'starting' | 'running' | 'downloading' | 'done' | 'failed';

export interface ExportState {
  phase: ExportPhase;
  kind: 'masks' | 'ply' | null;
  /** 0..1: the server's progress while running, the bytes received while downloading. */
  fraction: number;
  /** The server's last progress message (or what the client is doing). */
  message: string;
  /** The finished export: its download path (kept to download again), server summary, saved file. */
  download: string | null;
  summary: string | null;
  saved: { name: string; bytes: number } | null;
  failure: Failure | null;
}

export type EvalPhase = 'idle' | 'uploading' | 'evaluating' | 'done' | 'failed';

export interface EvalState {
  phase: EvalPhase;
  fileName: string | null;
  /** 0..1 of the upload. */
  uploadFraction: number;
  report: EvalReport | null;
  failure: Failure | null;
}

export interface ExportSnapshot {
  /** The room this page joined (exports and evaluation are of it); null before the join. */
  roomId: string | null;
  export: ExportState;
  eval: EvalState;
}

export interface ExportHost {
  readonly sceneId: string;
  socket(): ClientSocket | null;
}

export type MaskFormat = 'png' | 'davis' | 'coco';
export type MaskSplit = 'all' | 'train' | 'test';

const IDLE_EXPORT: ExportState = { phase: 'idle', kind: null, fraction: 0, message: '', download: null, summary: null, saved: null, failure: null };
const IDLE_EVAL: EvalState = { phase: 'idle', fileName: null, uploadFraction: 0, report: null, failure: null };

export class ExportSession {
  private state: ExportSnapshot = { roomId: null, export: IDLE_EXPORT, eval: IDLE_EVAL };
  private readonly listeners = new Set<() => void>();
  private jobId: string | null = null;
  /** Export events of jobs whose ack has not arrived yet, by job id. */
  private readonly early = new Map<string, { progress?: JobProgress; done?: JobDone }>();
  private attempt = 0;
  private evalAttempt = 0;
  private downloadCtrl: AbortController | null = null;
  private evalCtrl: AbortController | null = null;
  private disposed = false;

  constructor(private readonly host: ExportHost) {}

  // ---- React store -------------------------------------------------------------------------

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): ExportSnapshot => this.state;

  private patch(p: Partial<ExportSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }
  private patchExport(p: Partial<ExportState>): void {
    this.patch({ export: { ...this.state.export, ...p } });
  }
  private patchEval(p: Partial<EvalState>): void {
    this.patch({ eval: { ...this.state.eval, ...p } });
  }

  dispose(): void {
    this.disposed = true;
    this.downloadCtrl?.abort();
    this.evalCtrl?.abort();
    this.listeners.clear();
  }

  get busy(): boolean {
    const p = this.state.export.phase;
    return p === 'starting' || p === 'running' || p === 'downloading';
  }

  // ---- connection --------------------------------------------------------------------------

  /** The room was (re-)joined. */
  setRoom(roomId: string): void {
    if (roomId !== this.state.roomId) this.patch({ roomId });
  }

  /** The socket dropped: a running job reports to the old connection, so it is lost to us. */
  onDisconnect(): void {
    const p = this.state.export.phase;
    if (p !== 'starting' && p !== 'running') return;
    this.attempt++;
    this.jobId = null;
    this.early.clear();
    this.fail({
      title: 'Lost track of the export',
      message: 'The connection dropped while the server was exporting; its progress and download went to the old connection.',
      hint: 'Wait until the connection is back (top right), then export again.',
    });
  }

  // ---- export ------------------------------------------------------------------------------

  /** Starts an export job; ignored while one runs. */
  start(req: ExportRequest): void {
    if (this.busy || this.disposed) return;
    const socket = this.host.socket();
    const attempt = ++this.attempt;
    this.jobId = null;
    this.early.clear();
    if (!socket?.connected || !this.state.roomId) {
      this.patchExport({ ...IDLE_EXPORT, kind: req.kind });
      return this.fail({ title: 'Not connected to the room', message: 'The export runs on the server and needs the room joined.', hint: 'Wait for the connection (top right), then try again.' });
    }
    this.patchExport({ ...IDLE_EXPORT, phase: 'starting', kind: req.kind, message: 'Starting the export…' });
    socket.timeout(ACK_TIMEOUT_MS).emit('export:start', req, (err: Error | null, res: Ack<JobStarted>) => {
      if (attempt !== this.attempt || this.disposed) return;
      if (err) return this.fail({ title: 'The server did not answer', message: `No answer to export:start within ${ACK_TIMEOUT_MS / 1000} s.`, hint: hintFor(undefined) });
      if (!res.ok) return this.fail({ title: 'The server refused the export', message: res.message, hint: exportHint(res.code, res.message) });
      this.jobId = res.data.jobId;
      this.patchExport({ phase: 'running' });
      const early = this.early.get(res.data.jobId);
      this.early.clear();
      if (early?.progress) this.onProgress(early.progress);
      if (early?.done) this.onDone(early.done);
    });
  }

  readonly onProgress = (p: JobProgress): void => {
    if (p.kind !== 'export') return;
    if (this.jobId === null) {
      if (this.state.export.phase === 'starting') this.early.set(p.jobId, { ...this.early.get(p.jobId), progress: p });
      return;
    }
    if (p.jobId !== this.jobId || this.state.export.phase !== 'running') return;
    this.patchExport({ fraction: clamp01(p.fraction), message: p.message });
  };

  readonly onDone = (d: JobDone): void => {
    if (d.kind !== 'export') return;
    if (this.jobId === null) {
      if (this.state.export.phase === 'starting') this.early.set(d.jobId, { ...this.early.get(d.jobId), done: d });
      return;
    }
    if (d.jobId !== this.jobId) return;
    this.jobId = null;
    if (!d.ok) return this.fail({ title: 'The export failed', message: d.message, hint: exportHint(undefined, d.message) });
    if (!d.download) return this.fail({ title: 'The export has no download', message: d.message, hint: 'The server is older than this viewer. Reload the page; if it keeps happening, export with the command line (splatsync export-masks).' });
    this.patchExport({ fraction: 1, summary: d.message, download: d.download });
    void this.download();
  };

  /** Fetches the finished export again (or for the first time) and saves it. */
  async download(): Promise<void> {
    const path = this.state.export.download;
    if (!path || this.state.export.phase === 'downloading' || this.disposed) return;
    const attempt = this.attempt;
    this.downloadCtrl?.abort();
    const ctrl = new AbortController();
    this.downloadCtrl = ctrl;
    this.patchExport({ phase: 'downloading', fraction: 0, message: 'Downloading…', failure: null });
    try {
      const r = await fetchDownload(path, {
        fallbackName: `${this.host.sceneId}-${this.state.roomId ?? 'room'}-${this.state.export.kind ?? 'export'}.zip`,
        signal: ctrl.signal,
        onProgress: (fraction, bytes) => {
          if (attempt === this.attempt && !this.disposed) this.patchExport({ fraction: fraction ?? 0, message: `Downloading… ${formatBytes(bytes)}` });
        },
      });
      if (attempt !== this.attempt || this.disposed) return;
      this.patchExport({ phase: 'done', fraction: 1, message: r.via === 'link' ? `${r.name} (${formatBytes(r.bytes)}) is downloading in the browser` : `saved ${r.name} (${formatBytes(r.bytes)})`, saved: { name: r.name, bytes: r.bytes } });
    } catch (err) {
      if (attempt !== this.attempt || this.disposed || ctrl.signal.aborted) return;
      const e = err as ApiError;
      this.fail({ title: 'The download failed', message: e.message, hint: e.status === 404 ? 'The export is gone (downloads are kept for an hour, and not across server restarts): export again.' : apiHint(e.status ?? 0, e.code) }, true);
    } finally {
      if (this.downloadCtrl === ctrl) this.downloadCtrl = null;
    }
  }

  /** Back to the form (after a result or a failure). */
  resetExport(): void {
    if (this.busy) return;
    this.attempt++;
    this.patch({ export: IDLE_EXPORT });
  }

  private fail(failure: Failure, keepDownload = false): void {
    this.patchExport({ phase: 'failed', failure, ...(keepDownload ? {} : { download: null }) });
  }

  // ---- evaluation --------------------------------------------------------------------------

  get evaluating(): boolean {
    return this.state.eval.phase === 'uploading' || this.state.eval.phase === 'evaluating';
  }

  /** Uploads reference masks (a .zip) and evaluates the room against them. */
  async evaluate(file: File): Promise<void> {
    if (this.evaluating || this.disposed) return;
    const attempt = ++this.evalAttempt;
    const roomId = this.state.roomId;
    const failEval = (failure: Failure) => {
      if (attempt === this.evalAttempt && !this.disposed) this.patchEval({ phase: 'failed', failure });
    };
    this.patchEval({ ...IDLE_EVAL, fileName: file.name });
    if (!roomId) return failEval({ title: 'Not connected to the room', message: 'Evaluation compares the reference masks with this room’s labels.', hint: 'Wait for the connection (top right), then try again.' });
    if (file.size === 0) return failEval({ title: 'The file is empty', message: `${file.name} has 0 bytes.`, hint: 'Choose a .zip of per-label PNG folders, DAVIS PNGs or a COCO JSON.' });
    if (file.size > MAX_EVAL_UPLOAD_BYTES) {
      return failEval({ title: 'The file is too large', message: `${file.name} has ${formatBytes(file.size)}; the server accepts up to ${formatBytes(MAX_EVAL_UPLOAD_BYTES)}.`, hint: 'Zip only the frames you want to evaluate, or use DAVIS (one indexed PNG per frame) or COCO RLE, which are much smaller.' });
    }
    if (!(await looksLikeZip(file))) {
      return failEval({ title: 'Not a .zip file', message: `${file.name} does not start like a zip archive.`, hint: 'Zip the reference masks first: a folder per frame with a PNG per label, a DAVIS folder of indexed PNGs, or a COCO JSON.' });
    }
    this.evalCtrl?.abort();
    const ctrl = new AbortController();
    this.evalCtrl = ctrl;
    this.patchEval({ phase: 'uploading', uploadFraction: 0 });
    const path = `/api/scenes/${encodeURIComponent(this.host.sceneId)}/rooms/${encodeURIComponent(roomId)}/eval`;
    try {
      const { status, json } = await postWithProgress(path, file, {
        contentType: 'application/zip',
        signal: ctrl.signal,
        onUpload: (p) => {
          if (attempt === this.evalAttempt && this.state.eval.phase === 'uploading') this.patchEval({ uploadFraction: p.total ? clamp01(p.loaded / p.total) : 0 });
        },
        onUploaded: () => {
          if (attempt === this.evalAttempt && this.state.eval.phase === 'uploading') this.patchEval({ phase: 'evaluating', uploadFraction: 1 });
        },
      });
      if (attempt !== this.evalAttempt || this.disposed) return;
      if (status === 200 && isReport(json)) return this.patchEval({ phase: 'done', uploadFraction: 1, report: json });
      const body = (json ?? {}) as { error?: unknown; code?: unknown };
      const message = typeof body.error === 'string' ? body.error : `the server answered HTTP ${status}`;
      const code = typeof body.code === 'string' ? body.code : undefined;
      failEval({ title: status === 400 ? 'The reference masks could not be evaluated' : 'Evaluation was refused', message, hint: evalHint(status, code, message) });
    } catch (err) {
      if (ctrl.signal.aborted) return;
      const e = err as ApiError;
      failEval({ title: 'The upload failed', message: e.message, hint: apiHint(e.status ?? 0, e.code) });
    } finally {
      if (this.evalCtrl === ctrl) this.evalCtrl = null;
    }
  }

  resetEval(): void {
    if (this.evaluating) return;
    this.evalAttempt++;
    this.patch({ eval: IDLE_EVAL });
  }
}

function isReport(x: unknown): x is EvalReport {
  const r = x as Partial<EvalReport> | null;
  return !!r && Array.isArray(r.labels) && Array.isArray(r.frames) && Array.isArray(r.rows) && Array.isArray(r.perLabel) && Array.isArray(r.problems);
}

/** Zip files start with a local file header (PK\3\4) or, when empty, the end record (PK\5\6). */
async function looksLikeZip(file: Blob): Promise<boolean> {
  try {
    const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
    return head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5 || head[2] === 7);
  } catch {
    return true; // let the server say
  }
}

const clamp01 = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);

/** What to do after the server refused or failed an export. */
export function exportHint(code: string | undefined, message: string): string {
  if (code === 'forbidden' || /viewers cannot/i.test(message)) return 'Exports are for owners and annotators. Ask the owner for an annotator link.';
  if (code === 'unavailable' || /still running/i.test(message)) return 'Wait for your previous export to finish, then try again.';
  if (code === 'not_found' || /does not exist|deleted/i.test(message)) return 'Someone deleted that label meanwhile. Choose another label, or export the whole scene.';
  if (code === 'not_joined') return 'The connection lost its room. Wait for it to come back (top right), then export again.';
  if (/no (dataset )?views|has no views/i.test(message)) return 'This scene has no dataset views to export masks at. Export an object as .ply instead.';
  if (/no labels|nothing to export/i.test(message)) return 'Make a label first (click an object), or include hidden labels.';
  return hintFor(code);
}

/** What to do after an evaluation upload was refused. */
export function evalHint(status: number, code: string | undefined, message: string): string {
  if (status === 400 && /zip|unpack/i.test(message)) return 'Upload a .zip of per-label PNG folders (<frame>/<label>.png), DAVIS PNGs (<frame>.png, with labels.json), or a COCO JSON.';
  if (status === 400 && /no masks|nothing|no frames|no labels/i.test(message)) return 'The zip holds no masks Splatsync can read. Frames are matched by view name (e.g. test_0) and labels by name: compare with an export of this room.';
  return apiHint(status, code);
}

export function formatBytes(n: number): string {
  // decimal units, as the server's messages ("0.1 MB")
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

// ---- the report, for display (pure) -----------------------------------------------------------

export interface ProblemGroup {
  /** The problem text with names elided: what the group's problems share. */
  kind: string;
  side: 'pred' | 'ref' | null;
  count: number;
  /** Up to a few complete examples. */
  examples: EvalReport['problems'];
}

/**
 * Groups the report's problems by kind (the message with quoted names and numbers elided, per
 * side), largest first. Uploading a subset (e.g. only the test split) gives one group "no
 * reference for frame …" instead of a hundred lines.
 */
export function groupProblems(problems: EvalReport['problems'], examples = 3): ProblemGroup[] {
  const groups = new Map<string, ProblemGroup>();
  for (const p of problems) {
    const kind = p.problem.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\b\d+(?:\.\d+)?(?:x\d+)?\b/g, 'N');
    const side = p.side ?? null;
    const key = `${side}\u0000${kind}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kind, side, count: 0, examples: [] }));
    g.count++;
    if (g.examples.length < examples) g.examples.push(p);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** IoU per frame x label, in the report's frame and label order (null: undefined or not evaluated). */
export function iouMatrix(r: Pick<EvalReport, 'frames' | 'labels' | 'rows'>): { frame: string; ious: (number | null | undefined)[] }[] {
  const byKey = new Map(r.rows.map((x) => [`${x.frame}\u0000${x.label}`, x.iou]));
  // undefined: no row (not evaluated); null: both masks empty
  return r.frames.map((frame) => ({ frame, ious: r.labels.map((l) => (byKey.has(`${frame}\u0000${l}`) ? byKey.get(`${frame}\u0000${l}`)! : undefined)) }));
}

export function formatIoU(v: number | null | undefined): string {
  return v === undefined ? '×' : v === null ? '–' : v.toFixed(2);
}
