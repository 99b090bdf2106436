// Reference masks uploaded to a scene (a zip of any layout evaluate reads): unpacked into a
// directory with every entry's path checked, so a crafted zip cannot write outside it.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unzipSync } from 'fflate';

export interface UnpackLimits {
  /** Most entries (default 100 000). */
  maxFiles?: number;
  /** Most bytes unpacked in all (default 2 GiB). */
  maxBytes?: number;
}

/**
 * Unpacks `zip` into `dir` (created). Returns the files written (relative to dir) and `root`: the
 * folder to evaluate, i.e. dir, or the single folder the zip wraps everything in. Throws on a
 * bad or oversized zip, or an entry that would land outside dir.
 */
export async function unpackZip(zip: Uint8Array, dir: string, limits: UnpackLimits = {}): Promise<{ files: string[]; root: string }> {
  const maxFiles = limits.maxFiles ?? 100_000;
  const maxBytes = limits.maxBytes ?? 2 ** 31;
  const root = path.resolve(dir);
  let files: Record<string, Uint8Array>;
  let count = 0;
  let bytes = 0;
  try {
    files = unzipSync(zip, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false; // folders come with their files
        count++;
        bytes += f.originalSize;
        if (count > maxFiles) throw new Error(`more than ${maxFiles} files`);
        if (bytes > maxBytes) throw new Error(`more than ${maxBytes} bytes unpacked`);
        return true;
      },
    });
  } catch (e) {
    throw new Error(`cannot unpack the reference masks: ${(e as Error).message}`);
  }
  const written: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    const parts = name.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..') || path.isAbsolute(name)) throw new Error(`the zip entry ${JSON.stringify(name)} points outside the upload`);
    if (parts[0] === '__MACOSX' || parts.some((p) => p.startsWith('._'))) continue; // Finder's metadata
    const file = path.resolve(root, ...parts);
    if (!file.startsWith(root + path.sep)) throw new Error(`the zip entry ${JSON.stringify(name)} points outside the upload`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    written.push(parts.join('/'));
  }
  // Zips made by "compress folder" wrap everything in one folder: evaluate inside it. (So a
  // per-label set of a single frame must be zipped with its frame folder inside another one.)
  let top = root;
  for (;;) {
    const entries = (await readdir(top, { withFileTypes: true })).filter((e) => e.name !== '__MACOSX');
    if (entries.length !== 1 || !entries[0]!.isDirectory()) break;
    top = path.join(top, entries[0]!.name);
  }
  return { files: written, root: top };
}
