// Exports started from the browser (issue 8): the server writes the zip to the data dir's
// `exports/` folder while reporting progress over the socket (job:progress), then job:done
// carries a download path. The file is served only to someone with export rights in the same
// room, and removed after DOWNLOAD_TTL_MS (or when the server starts again).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { ServerResponse } from 'node:http';
import type { RoomState } from '../rooms/state';
import type { SceneStore } from '../scene/store';
import type { BackendName } from '../render/runtime';
import { exportSceneMasks, exportScenePly, ZipSink, type MaskFormat, type SplitSelection } from './index';

export const DOWNLOAD_TTL_MS = 60 * 60 * 1000;

export interface Download {
  id: string;
  file: string;
  name: string;
  scene: string;
  room: string;
  createdAt: number;
  bytes: number;
}

export class Downloads {
  private readonly dir: string;
  private readonly items = new Map<string, Download>();

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'exports');
  }

  /** Removes what an earlier run left (its downloads were only for its own sessions). */
  async init(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  get(id: string): Download | undefined {
    const d = this.items.get(id);
    if (d && Date.now() - d.createdAt > DOWNLOAD_TTL_MS) {
      this.items.delete(id);
      void rm(d.file, { force: true });
      return undefined;
    }
    return d;
  }

  private async add(file: string, name: string, scene: string, room: string, id: string): Promise<Download> {
    const d: Download = { id, file, name, scene, room, createdAt: Date.now(), bytes: (await stat(file)).size };
    this.items.set(id, d);
    setTimeout(() => this.get(id), DOWNLOAD_TTL_MS + 1000).unref();
    return d;
  }

  /** Masks of the room at the dataset views as a zip (see exportMasks). */
  async masks(opts: {
    scenes: SceneStore; sceneId: string; roomId: string; state: RoomState; split: SplitSelection; formats: MaskFormat[];
    includeHidden?: boolean; backend?: BackendName; signal?: AbortSignal; onProgress: (fraction: number, message: string) => void;
  }): Promise<Download> {
    await mkdir(this.dir, { recursive: true });
    const id = randomUUID();
    const file = path.join(this.dir, `${id}.zip`);
    const sink = ZipSink.toFile(file);
    const res = await exportSceneMasks({
      scenes: opts.scenes, sceneId: opts.sceneId, backend: opts.backend, state: opts.state, roomId: opts.roomId, sink,
      formats: opts.formats, split: opts.split, includeHidden: opts.includeHidden, signal: opts.signal,
      onProgress: (p) => opts.onProgress(p.fraction, p.message),
    });
    const labels = res.manifest.labels.length;
    return this.add(file, `${opts.sceneId}-${opts.roomId}-masks-v${opts.state.version}-${labels}labels.zip`, opts.sceneId, opts.roomId, id);
  }

  /** A label's Gaussians (or the whole scene with edits) as .ply plus deformation files, zipped. */
  async ply(opts: {
    scenes: SceneStore; sceneId: string; roomId: string; state: RoomState; label?: string; features: boolean;
    backend?: BackendName; onProgress: (fraction: number, message: string) => void;
  }): Promise<Download & { count: number }> {
    await mkdir(this.dir, { recursive: true });
    const work = await mkdtemp(path.join(os.tmpdir(), 'splatsync-ply-'));
    try {
      const labelName = opts.label ? (opts.state.labels.get(opts.label)?.name ?? opts.label) : null;
      const base = labelName ? `${opts.sceneId}-${safeName(labelName)}` : `${opts.sceneId}-edited`;
      const res = await exportScenePly({
        scenes: opts.scenes, sceneId: opts.sceneId, roomId: opts.roomId, state: opts.state, label: opts.label, features: opts.features,
        out: path.join(work, `${base}.ply`), backend: opts.backend, onProgress: (f, m) => opts.onProgress(f * 0.9, m),
      });
      opts.onProgress(0.95, 'packing the zip');
      const entries: Record<string, Uint8Array> = {};
      for (const f of await readdir(work)) entries[f] = new Uint8Array(await readFile(path.join(work, f)));
      const id = randomUUID();
      const file = path.join(this.dir, `${id}.zip`);
      // .ply data barely compresses and is large: store it, deflate the small side files.
      await writeFile(file, zipSync(entries, { level: 0 }));
      const d = await this.add(file, `${base}.zip`, opts.sceneId, opts.roomId, id);
      return { ...d, count: res.count };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Streams a download (the caller checked the principal's rights to its room). */
  send(d: Download, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': String(d.bytes),
      'content-disposition': `attachment; filename="${d.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
    });
    createReadStream(d.file).pipe(res);
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60) || 'label';
}
