// Shared pieces of the dataset readers: the result type, the error type, and checked access to
// JSON values (every problem names the file and the place in it).
import { readFile, stat } from 'node:fs/promises';
import type { DatasetView } from '../../protocol/events';

export type DatasetKind = 'dnerf' | 'hypernerf';

/** What a dataset reader found. */
export interface DatasetReadResult {
  kind: DatasetKind;
  /** Absolute dataset directory; `views[].image` is relative to it (posix separators). */
  dir: string;
  /**
   * Views in split order (train, then test, then val), each split in the dataset's own order.
   * `index` is the frame's position in its split as the dataset lists it (D-NeRF frames,
   * HyperNeRF train_ids / val_ids), so views skipped for a missing camera leave gaps.
   * `image` is set only when the image file exists.
   */
  views: DatasetView[];
  /** Images a view refers to that are not there, relative to `dir`. */
  missingImages: string[];
  /** Problems that did not stop the read, one sentence each. */
  warnings: string[];
}

/** A dataset, model dir or config file that cannot be used; the message starts with its path. */
export class ImportInputError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ImportInputError';
    this.path = path;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file; a missing file or invalid JSON throws an error naming it. */
export async function readJsonFile(file: string, what = 'file'): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImportInputError(file, code === 'ENOENT' ? `${what} not found` : `cannot read ${what}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // Python's json module writes non-finite floats as bare NaN / Infinity.
    const nonFinite = /(?:^|[\s,:[])-?(NaN|Infinity)(?=[\s,\]}]|$)/.exec(text);
    const hint = nonFinite ? ` (it contains ${nonFinite[1]}: non-finite numbers are not allowed)` : '';
    throw new ImportInputError(file, `invalid JSON${hint}: ${(e as Error).message}`);
  }
}

/** Checked reads from parsed JSON; `where` is a path like `frames[3].transform_matrix`. */
export class JsonReader {
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new ImportInputError(this.file, where ? `${where}: ${problem}` : problem);
  }

  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, `expected an object, found ${describe(v)}`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, `expected an array, found ${describe(v)}`);
    return v;
  }

  number(v: unknown, where: string): number {
    if (typeof v !== 'number') this.fail(where, `expected a number, found ${describe(v)}`);
    if (!Number.isFinite(v)) this.fail(where, `expected a finite number, found ${v}`);
    return v;
  }

  /** A finite number array of exactly `n` entries. */
  numbers(v: unknown, n: number, where: string): number[] {
    const a = this.array(v, where);
    if (a.length !== n) this.fail(where, `expected ${n} numbers, found ${a.length}`);
    return a.map((x, i) => this.number(x, `${where}[${i}]`));
  }

  /** A rows x cols matrix of finite numbers, flattened row-major. */
  matrix(v: unknown, rows: number, cols: number, where: string): number[] {
    const a = this.array(v, where);
    if (a.length !== rows) this.fail(where, `expected ${rows} rows, found ${a.length}`);
    return a.flatMap((row, i) => this.numbers(row, cols, `${where}[${i}]`));
  }

  string(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(where, `expected a string, found ${describe(v)}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (missing)';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Largest deviation of a row-major 3x3 from a proper rotation: max |R R^T - I| entry, and
 * |det - 1|. Used to refuse matrices that invertRigid would invert wrongly.
 */
export function rotationError(r: number[]): number {
  let err = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let d = 0;
      for (let k = 0; k < 3; k++) d += r[i * 3 + k]! * r[j * 3 + k]!;
      err = Math.max(err, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  const det =
    r[0]! * (r[4]! * r[8]! - r[5]! * r[7]!) - r[1]! * (r[3]! * r[8]! - r[5]! * r[6]!) + r[2]! * (r[3]! * r[7]! - r[4]! * r[6]!);
  return Math.max(err, Math.abs(det - 1));
}

/** Tolerance for rotationError: float32-rounded rotations from Blender / COLMAP pass easily. */
export const ROTATION_TOLERANCE = 1e-3;

/** Compact list for messages: the first `max` items, then how many more. */
export function listSome(items: readonly string[], max = 10): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
