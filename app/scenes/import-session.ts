'use client';
// Client side: one "Import scene" job at a time, started from the scene list. Owns a socket
// (connected on the first import), sends `import:start` and follows that job's `job:progress`
// / `job:done` events; exposes an immutable snapshot for React (subscribe / getSnapshot, for
// useSyncExternalStore), like ViewerSession.
//
// The server may report progress before the ack carrying the job id arrives (the job starts
// synchronously), so events of unknown jobs are kept until the ack says which one is ours.
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  type Ack,
  type ClientToServer,
  type ImportRequest,
  type JobDone,
  type JobProgress,
  type JobStarted,
  type ServerToClient,
} from '../../server/protocol';
import { clerkHandshake } from '../lib/auth-client';
import { SERVER_URL, pageToken } from '../lib/server-url';
import { hintFor } from '../viewer/error-hints';

export type ImportPhase = 'idle' | 'connecting' | 'running' | 'done' | 'failed';

export interface ImportFailure {
  title: string;
  message: string;
  hint: string;
  code?: string;
}

export interface ImportResult {
  sceneId: string;
  message: string;
  warnings: string[];
}

export interface ImportSnapshot {
  phase: ImportPhase;
  /** 0..1 while running (1 once done). */
  fraction: number;
  /** The server's last progress message. */
  message: string;
  result: ImportResult | null;
  failure: ImportFailure | null;
}

type ClientSocket = Socket<ServerToClient, ClientToServer>;

const ACK_TIMEOUT_MS = 15000;
const CONNECT_TIMEOUT_MS = 15000;

export class ImportSession {
  private state: ImportSnapshot = { phase: 'idle', fraction: 0, message: '', result: null, failure: null };
  private readonly listeners = new Set<() => void>();
  private socket: ClientSocket | null = null;
  private jobId: string | null = null;
  /** Events of jobs whose ack has not arrived yet (latest progress, and done), by job id. */
  private readonly early = new Map<string, { progress?: JobProgress; done?: JobDone }>();
  private attempt = 0;
  private disposed = false;

  /** Called after a successful import (the list re-fetches). */
  constructor(private readonly onImported: (sceneId: string) => void = () => {}) {}

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly getSnapshot = (): ImportSnapshot => this.state;

  private patch(p: Partial<ImportSnapshot>): void {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn();
  }

  get busy(): boolean {
    return this.state.phase === 'connecting' || this.state.phase === 'running';
  }

  dispose(): void {
    this.disposed = true;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.listeners.clear();
  }

  /** Start importing; ignored while an import runs. */
  start(req: ImportRequest): void {
    if (this.busy || this.disposed) return;
    const attempt = ++this.attempt;
    this.jobId = null;
    this.early.clear();
    this.patch({ phase: 'connecting', fraction: 0, message: 'Connecting to the server…', result: null, failure: null });
    this.connected()
      .then((socket) => {
        if (attempt !== this.attempt || this.disposed) return;
        this.patch({ phase: 'running', message: 'Starting the import…' });
        socket.timeout(ACK_TIMEOUT_MS).emit('import:start', req, (err: Error | null, res: Ack<JobStarted>) => {
          if (attempt !== this.attempt || this.disposed) return;
          if (err) return this.fail({ title: 'The server did not answer', message: `No answer to import:start within ${ACK_TIMEOUT_MS / 1000} s.`, hint: hintFor(undefined) });
          if (!res.ok) return this.fail({ title: 'The server refused the import', message: res.message, hint: hintFor(res.code), code: res.code });
          this.jobId = res.data.jobId;
          const early = this.early.get(res.data.jobId);
          this.early.clear();
          if (early?.progress) this.onProgress(early.progress);
          if (early?.done) this.onDone(early.done);
        });
      })
      .catch((err: Error & { code?: string }) => {
        if (attempt !== this.attempt || this.disposed) return;
        this.fail({ title: 'Cannot reach the server', message: err.message, hint: hintFor(err.code), ...(err.code ? { code: err.code } : {}) });
      });
  }

  /** The socket, connected (connects on first use). */
  private connected(): Promise<ClientSocket> {
    let socket = this.socket;
    if (!socket) {
      const token = pageToken();
      const base = { protocol: PROTOCOL_VERSION, ...(token ? { token } : {}) };
      // a function: a fresh Clerk session token at every (re)connect in Clerk mode (auth-client.ts)
      const opts = { auth: (cb: (data: object) => void) => void clerkHandshake().then((extra) => cb({ ...base, ...extra }), () => cb(base)) };
      socket = SERVER_URL ? io(SERVER_URL, opts) : io(opts);
      this.socket = socket;
      socket.on('job:progress', (p) => this.onProgress(p));
      socket.on('job:done', (d) => this.onDone(d));
      socket.on('disconnect', (reason) => {
        // the job's events go to the socket that started it: a new connection will not get them
        if (this.state.phase === 'running' && reason !== 'io client disconnect') {
          this.fail({
            title: 'Lost the connection during the import',
            message: `disconnected (${reason})`,
            hint: 'The server may still finish the import: reload the page in a while and look for the scene in the list.',
          });
        }
      });
    }
    if (socket.connected) return Promise.resolve(socket);
    const s = socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      const onConnect = () => finish(null);
      const onError = (err: Error & { data?: { code?: string; message?: string } }) => {
        // a refused handshake ("protocol_mismatch: ...") is final; otherwise socket.io retries
        if (s.active) return;
        const code = err.data?.code ?? /^([a-z_]+):/.exec(err.message)?.[1];
        finish(Object.assign(new Error(err.data?.message ?? err.message), code ? { code } : {}));
      };
      const finish = (err: Error | null) => {
        clearTimeout(timer);
        s.off('connect', onConnect);
        s.off('connect_error', onError);
        if (err) reject(err);
        else resolve(s);
      };
      s.on('connect', onConnect);
      s.on('connect_error', onError);
      if (!s.active) s.connect();
    });
  }

  private readonly onProgress = (p: JobProgress): void => {
    if (p.kind !== 'import') return;
    if (this.jobId === null) {
      if (this.state.phase === 'running') this.early.set(p.jobId, { ...this.early.get(p.jobId), progress: p });
      return;
    }
    if (p.jobId !== this.jobId || this.state.phase !== 'running') return;
    this.patch({ fraction: Math.min(1, Math.max(0, p.fraction)), message: p.message });
  };

  private readonly onDone = (d: JobDone): void => {
    if (d.kind !== 'import') return;
    if (this.jobId === null) {
      if (this.state.phase === 'running') this.early.set(d.jobId, { ...this.early.get(d.jobId), done: d });
      return;
    }
    if (d.jobId !== this.jobId || this.state.phase !== 'running') return;
    this.jobId = null;
    if (d.ok && d.sceneId) {
      this.patch({ phase: 'done', fraction: 1, message: d.message, result: { sceneId: d.sceneId, message: d.message, warnings: d.warnings } });
      this.onImported(d.sceneId);
    } else {
      this.fail({ title: 'Import failed', message: d.message, hint: 'Fix the path or the files on the server, then import again.' });
    }
  };

  private fail(failure: ImportFailure): void {
    this.jobId = null;
    this.patch({ phase: 'failed', failure });
  }
}
