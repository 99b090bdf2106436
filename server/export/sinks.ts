// Where an export's files go: a directory (written under a temp name, renamed when complete) or
// a zip streamed to any writable (a file, an HTTP response) with fflate's streaming `Zip`, so a
// large export never holds more than one view's files in memory.
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';

export interface ExportSink {
  /** `name` is a relative path with '/' separators. `compress`: worth deflating (JSON; PNGs are not). */
  write(name: string, data: Uint8Array, opts?: { compress?: boolean }): Promise<void>;
  /** Completes the export (renames the directory / finishes the zip). */
  close(): Promise<void>;
  /** Gives up: removes what was written (directory) or destroys the stream (zip). */
  abort(reason?: Error): Promise<void>;
  /** Where the result is (a directory or file path), for messages. */
  readonly location: string;
}

function checkName(name: string): string {
  if (!name || name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`bad export file name ${JSON.stringify(name)}`);
  return name;
}

/** Writes into `<dir>.partial-*`, renamed to `dir` on close; `dir` must not exist or be empty. */
export class DirSink implements ExportSink {
  private made = new Set<string>();
  private constructor(
    readonly location: string,
    private readonly tmp: string,
  ) {}

  static async open(dir: string): Promise<DirSink> {
    const target = path.resolve(dir);
    await assertFreeDir(target);
    const tmp = `${target}.partial-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    return new DirSink(target, tmp);
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    const file = path.join(this.tmp, ...checkName(name).split('/'));
    const parent = path.dirname(file);
    if (!this.made.has(parent)) {
      await mkdir(parent, { recursive: true });
      this.made.add(parent);
    }
    await writeFile(file, data);
  }

  async close(): Promise<void> {
    await assertFreeDir(this.location);
    // An empty directory in the way (checked above; rmdir refuses a non-empty one).
    await rmdir(this.location).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(this.tmp, this.location);
  }

  async abort(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
  }
}

async function assertFreeDir(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} exists and is not empty: choose a new output directory`);
}

/** A zip streamed into `out` (which the sink ends on close). */
export class ZipSink implements ExportSink {
  private readonly zip: Zip;
  private failed: Error | null = null;
  private finished: Promise<void>;
  private resolveFinished!: () => void;
  private rejectFinished!: (e: Error) => void;
  private needDrain = false;

  constructor(
    private readonly out: Writable,
    readonly location = 'zip stream',
    private readonly onClose?: () => Promise<void>,
  ) {
    this.finished = new Promise<void>((res, rej) => {
      this.resolveFinished = res;
      this.rejectFinished = rej;
    });
    this.finished.catch(() => {}); // observed in close()
    out.on('error', (e: Error) => this.fail(e));
    this.zip = new Zip((err, chunk, final) => {
      if (err) return this.fail(err);
      if (chunk.length && !this.out.write(chunk)) this.needDrain = true;
      if (final) this.out.end(() => this.resolveFinished());
    });
  }

  /** A zip file written under a temp name and renamed into place when complete. */
  static toFile(file: string): ZipSink {
    const target = path.resolve(file);
    const tmp = `${target}.partial-${process.pid}-${Date.now()}`;
    const stream = createWriteStream(tmp);
    const sink = new ZipSink(stream, target, async () => {
      await rename(tmp, target);
    });
    sink.tmpFile = tmp;
    return sink;
  }

  private tmpFile: string | null = null;

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.rejectFinished(e);
  }

  async write(name: string, data: Uint8Array, opts: { compress?: boolean } = {}): Promise<void> {
    if (this.failed) throw this.failed;
    const file = opts.compress ? new ZipDeflate(checkName(name), { level: 6 }) : new ZipPassThrough(checkName(name));
    this.zip.add(file);
    file.push(data, true);
    await this.drain();
  }

  /** One entry from chunks produced one at a time (a large array never whole in memory). */
  async writeChunks(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, opts: { compress?: boolean } = {}): Promise<void> {
    if (this.failed) throw this.failed;
    const file = opts.compress ? new ZipDeflate(checkName(name), { level: 6 }) : new ZipPassThrough(checkName(name));
    this.zip.add(file);
    for await (const c of chunks) {
      file.push(c, false);
      await this.drain();
    }
    file.push(new Uint8Array(0), true);
    await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.needDrain) {
      this.needDrain = false;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    if (this.failed) throw this.failed;
    this.zip.end();
    await this.finished;
    await this.onClose?.();
  }

  async abort(reason?: Error): Promise<void> {
    this.fail(reason ?? new Error('export aborted'));
    try {
      this.zip.terminate();
    } catch {
      // already ended
    }
    this.out.destroy();
    if (this.tmpFile) await rm(this.tmpFile, { force: true });
  }
}
