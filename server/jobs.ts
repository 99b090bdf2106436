// Long work started from the UI (import, bake): runs in the server process, reports progress to
// the socket that started it (throttled), and ends with one job:done carrying success or the
// error message. A failed job changes nothing (imports and bakes write atomically).
import { randomUUID } from 'node:crypto';
import type { JobDone, JobKind, JobProgress } from './protocol/events';

export type { JobKind };

export interface JobSink {
  progress(p: JobProgress): void;
  done(d: JobDone): void;
}

const PROGRESS_INTERVAL_MS = 100;

export class JobRunner {
  private running = new Map<string, { kind: JobKind; key: string }>();

  /** Whether a job with this key (e.g. the scene being baked) is already running. */
  busy(key: string): boolean {
    for (const j of this.running.values()) if (j.key === key) return true;
    return false;
  }

  start(
    kind: JobKind,
    key: string,
    sink: JobSink,
    work: (progress: (fraction: number, message: string) => void) => Promise<{ sceneId?: string; message: string; warnings?: string[]; download?: string }>,
  ): string {
    const jobId = randomUUID();
    this.running.set(jobId, { kind, key });
    let last = 0;
    const progress = (fraction: number, message: string) => {
      const now = performance.now();
      if (now - last < PROGRESS_INTERVAL_MS && fraction < 1) return;
      last = now;
      sink.progress({ jobId, kind, fraction, message });
    };
    void work(progress)
      .then((r) => sink.done({ jobId, kind, ok: true, sceneId: r.sceneId, message: r.message, warnings: r.warnings ?? [], download: r.download }))
      .catch((err: Error) => sink.done({ jobId, kind, ok: false, message: err.message, warnings: [] }))
      .finally(() => this.running.delete(jobId));
    return jobId;
  }
}
