// Reading a set of masks in any of the layouts an export writes (or other tools write):
// - per-label PNGs:  DIR/<frame>/<label>.png (binary: non-zero = label)
// - DAVIS:           DIR/<frame>.png (indexed or 8-bit gray; value = label index, 0 = background)
// - COCO:            a .json file (or DIR/coco.json) with images, categories and RLE annotations
// - an export root:  DIR/manifest.json (+ png/, davis/, coco.json): per-label PNGs preferred.
// Label names: from the export manifest (file stem -> name, index -> name), a DAVIS dir's
// labels.json, or COCO categories; per-label PNGs without a manifest are named by their file
// stem; DAVIS masks without any map are "unnamed" and their labels called "1", "2", ... (evaluate
// matches them by index against a side that knows its indices). Nothing here throws for bad
// files: problems are collected per file, and the rest stays usable.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeCocoRle } from '../export/coco-rle';
import { decodePng, pngToBinaryMask, pngToIndices } from '../export/png';

export type Layout = 'png' | 'davis' | 'coco';

export interface Problem {
  /** Which input ('pred' / 'ref'), filled in by evaluate. */
  side?: 'pred' | 'ref';
  /** The file concerned (or the set's root). */
  file: string;
  frame?: string;
  label?: string;
  problem: string;
}

/**
 * A mask without a copy: [H,W] samples where the label is `data[i] !== 0` (value null) or
 * `data[i] === value` (a DAVIS index map shared by every label of the frame).
 */
export interface MaskView {
  data: Uint8Array | Uint16Array;
  value: number | null;
}

/**
 * One frame's masks by label name. A label absent from `masks` is empty in this frame; null
 * means its file could not be read (a problem was reported). width/height are 0 when no file of
 * the frame could be read for the wanted labels (the size is then unknown).
 */
export interface FrameMasks {
  width: number;
  height: number;
  masks: Map<string, MaskView | null>;
}

interface PngFrame {
  kind: 'png';
  files: Map<string, string>; // label name -> file
}
interface DavisFrame {
  kind: 'davis';
  file: string;
}
interface CocoFrame {
  kind: 'coco';
  width: number;
  height: number;
  anns: { label: string; seg: unknown; id: unknown }[];
}
type FrameSource = PngFrame | DavisFrame | CocoFrame;

export interface MaskSet {
  root: string;
  layout: Layout;
  /** Where the names come from. */
  namedBy: 'manifest' | 'labels.json' | 'file names' | 'coco categories' | 'indices';
  /** Every label name the set knows (in index order when known). */
  labels: string[];
  /** name -> index (DAVIS palette index / COCO category id / manifest index), when known. */
  labelIndex: Map<string, number> | null;
  frames: Map<string, FrameSource>;
  problems: Problem[];
}

interface ManifestLike {
  format?: string;
  labels?: { index: number; name: string; file?: string }[];
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}
async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isFile() ?? false;
}

const stemOf = (f: string) => f.replace(/\.[^.]*$/, '');
const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

async function findManifest(dir: string): Promise<ManifestLike | null> {
  for (const d of [dir, path.dirname(dir)]) {
    const f = path.join(d, 'manifest.json');
    if (!(await isFile(f))) continue;
    try {
      const m = (await readJson(f)) as ManifestLike;
      if (m && m.format === 'splatsync-masks' && Array.isArray(m.labels)) return m;
    } catch {
      // not ours
    }
  }
  return null;
}

/** A label map file: {"labels": [{"index", "name"}]} or {"1": "name", ...}. */
function parseLabelMap(json: unknown): Map<number, string> | null {
  const out = new Map<number, string>();
  if (json && typeof json === 'object' && Array.isArray((json as { labels?: unknown }).labels)) {
    for (const l of (json as { labels: { index?: unknown; name?: unknown }[] }).labels) {
      if (Number.isInteger(l.index) && typeof l.name === 'string') out.set(l.index as number, l.name);
    }
    return out.size ? out : null;
  }
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    for (const [k, v] of Object.entries(json)) if (/^\d+$/.test(k) && typeof v === 'string') out.set(Number(k), v);
    return out.size ? out : null;
  }
  return null;
}

/** Opens a mask set at `p` (directory or COCO .json), detecting its layout. */
export async function openMaskSet(p: string): Promise<MaskSet> {
  const root = path.resolve(p);
  const st = await stat(root).catch(() => null);
  if (!st) return emptySet(root, `${root} does not exist`);
  if (st.isFile()) {
    if (root.toLowerCase().endsWith('.json')) return openCoco(root);
    return emptySet(root, `${root} is a file but not a COCO .json (give a directory of masks or a COCO JSON file)`);
  }
  // An export root: prefer per-label PNGs, then DAVIS, then COCO.
  if (await isDir(path.join(root, 'png'))) return openPerLabel(path.join(root, 'png'));
  if (await isDir(path.join(root, 'davis'))) return openDavis(path.join(root, 'davis'));
  if (await isFile(path.join(root, 'coco.json'))) return openCoco(path.join(root, 'coco.json'));
  const entries = await readdir(root, { withFileTypes: true });
  const pngs = entries.filter((e) => e.isFile() && /\.png$/i.test(e.name));
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  if (pngs.length > 0 && dirs.length === 0) return openDavis(root);
  if (dirs.length > 0 && pngs.length === 0) return openPerLabel(root);
  if (pngs.length > 0) {
    // Both: DAVIS files with unrelated folders beside them, or a per-label set with stray files.
    const set = pngs.length >= dirs.length ? await openDavis(root) : await openPerLabel(root);
    set.problems.push({ file: root, problem: `holds both .png files and folders; read as ${set.layout === 'davis' ? 'DAVIS masks (folders ignored)' : 'per-label PNG folders (top-level .png files ignored)'}` });
    return set;
  }
  const jsons = entries.filter((e) => e.isFile() && /\.json$/i.test(e.name) && e.name !== 'manifest.json' && e.name !== 'labels.json');
  if (jsons.length === 1) return openCoco(path.join(root, jsons[0]!.name));
  return emptySet(root, `${root} holds no masks: expected <frame>/<label>.png folders, <frame>.png DAVIS masks, or a COCO .json`);
}

function emptySet(root: string, problem: string): MaskSet {
  return { root, layout: 'png', namedBy: 'file names', labels: [], labelIndex: null, frames: new Map(), problems: [{ file: root, problem }] };
}

async function openPerLabel(dir: string): Promise<MaskSet> {
  const manifest = await findManifest(dir);
  const fileToName = new Map<string, string>();
  let labelIndex: Map<string, number> | null = null;
  if (manifest) {
    labelIndex = new Map();
    for (const l of manifest.labels!) {
      fileToName.set(l.file ?? l.name, l.name);
      labelIndex.set(l.name, l.index);
    }
  }
  const set: MaskSet = { root: dir, layout: 'png', namedBy: manifest ? 'manifest' : 'file names', labels: [], labelIndex, frames: new Map(), problems: [] };
  const names = new Set<string>(manifest ? manifest.labels!.map((l) => l.name) : []);
  const frames = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(byName);
  for (const frame of frames) {
    const files = new Map<string, string>();
    for (const e of await readdir(path.join(dir, frame), { withFileTypes: true })) {
      const file = path.join(dir, frame, e.name);
      if (!e.isFile()) continue;
      if (!/\.png$/i.test(e.name)) {
        set.problems.push({ file, frame, problem: 'not a .png file: ignored' });
        continue;
      }
      const stem = stemOf(e.name);
      const name = fileToName.get(stem) ?? stem;
      if (manifest && !fileToName.has(stem)) set.problems.push({ file, frame, label: stem, problem: `label file ${e.name} is not in the manifest's label map: read under the name ${JSON.stringify(stem)}` });
      files.set(name, file);
      names.add(name);
    }
    set.frames.set(frame, { kind: 'png', files });
  }
  set.labels = [...names];
  if (!manifest) set.labels.sort(byName);
  return set;
}

async function openDavis(dir: string): Promise<MaskSet> {
  let map: Map<number, string> | null = null;
  let namedBy: MaskSet['namedBy'] = 'indices';
  const problems: Problem[] = [];
  const labelsFile = path.join(dir, 'labels.json');
  if (await isFile(labelsFile)) {
    try {
      map = parseLabelMap(await readJson(labelsFile));
      if (map) namedBy = 'labels.json';
      else problems.push({ file: labelsFile, problem: 'no label map in it (expected {"labels": [{"index", "name"}]} or {"1": "name"})' });
    } catch (e) {
      problems.push({ file: labelsFile, problem: `unreadable: ${(e as Error).message}` });
    }
  }
  if (!map) {
    const manifest = await findManifest(dir);
    if (manifest) {
      map = new Map(manifest.labels!.map((l) => [l.index, l.name]));
      namedBy = 'manifest';
    }
  }
  const set: MaskSet = { root: dir, layout: 'davis', namedBy, labels: [], labelIndex: null, frames: new Map(), problems };
  const files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && /\.png$/i.test(e.name)).map((e) => e.name).sort(byName);
  for (const f of files) set.frames.set(stemOf(f), { kind: 'davis', file: path.join(dir, f) });
  if (map) {
    const entries = [...map.entries()].sort((a, b) => a[0] - b[0]);
    set.labels = entries.map(([, n]) => n);
    set.labelIndex = new Map(entries.map(([i, n]) => [n, i]));
  }
  // Unnamed: labels become known as files are read (indexNames fills them in lazily); a first
  // scan finds which indices occur so `labels` is complete before evaluation.
  if (!map) {
    const seen = new Set<number>();
    for (const f of files) {
      try {
        const idx = pngToIndices(decodePng(await readFile(path.join(dir, f))));
        for (let i = 0; i < idx.length; i++) seen.add(idx[i]!);
      } catch {
        // reported when the frame is read
      }
    }
    seen.delete(0);
    const sorted = [...seen].sort((a, b) => a - b);
    set.labels = sorted.map(String);
    set.labelIndex = new Map(sorted.map((i) => [String(i), i]));
  }
  return set;
}

interface CocoDoc {
  images?: { id: unknown; file_name?: unknown; width?: unknown; height?: unknown; view?: unknown }[];
  categories?: { id: unknown; name?: unknown }[];
  annotations?: { id?: unknown; image_id: unknown; category_id: unknown; segmentation?: unknown }[];
}

async function openCoco(file: string): Promise<MaskSet> {
  const set: MaskSet = { root: file, layout: 'coco', namedBy: 'coco categories', labels: [], labelIndex: new Map(), frames: new Map(), problems: [] };
  let doc: CocoDoc;
  try {
    doc = (await readJson(file)) as CocoDoc;
  } catch (e) {
    set.problems.push({ file, problem: `unreadable COCO JSON: ${(e as Error).message}` });
    return set;
  }
  if (!doc || !Array.isArray(doc.images) || !Array.isArray(doc.categories) || !Array.isArray(doc.annotations)) {
    set.problems.push({ file, problem: 'not a COCO annotation file (needs images, categories and annotations arrays)' });
    return set;
  }
  const cats = new Map<unknown, string>();
  for (const c of doc.categories) {
    if (typeof c.name !== 'string') continue;
    cats.set(c.id, c.name);
    set.labels.push(c.name);
    if (Number.isInteger(c.id)) set.labelIndex!.set(c.name, c.id as number);
  }
  const images = new Map<unknown, CocoFrame>();
  for (const im of doc.images) {
    const frame = typeof im.view === 'string' ? im.view : typeof im.file_name === 'string' ? stemOf(path.basename(im.file_name)) : String(im.id);
    if (!Number.isInteger(im.width) || !Number.isInteger(im.height)) {
      set.problems.push({ file, frame, problem: `image ${String(im.id)} has no integer width/height` });
      continue;
    }
    const fr: CocoFrame = { kind: 'coco', width: im.width as number, height: im.height as number, anns: [] };
    images.set(im.id, fr);
    set.frames.set(frame, fr);
  }
  for (const a of doc.annotations) {
    const fr = images.get(a.image_id);
    const label = cats.get(a.category_id);
    if (!fr) {
      set.problems.push({ file, problem: `annotation ${String(a.id)} refers to unknown image ${String(a.image_id)}` });
      continue;
    }
    if (label === undefined) {
      set.problems.push({ file, problem: `annotation ${String(a.id)} refers to unknown category ${String(a.category_id)}` });
      continue;
    }
    fr.anns.push({ label, seg: a.segmentation, id: a.id });
  }
  return set;
}

/**
 * The masks of one frame, for the labels asked for (absent labels are empty masks). Returns null
 * when the frame cannot be read at all; problems go to `problems`.
 */
export async function readFrame(set: MaskSet, frame: string, wanted: readonly string[], problems: Problem[]): Promise<FrameMasks | null> {
  const src = set.frames.get(frame);
  if (!src) return null;
  if (src.kind === 'davis') {
    let idx: Uint8Array;
    let width: number;
    let height: number;
    try {
      const png = decodePng(await readFile(src.file));
      idx = pngToIndices(png);
      width = png.width;
      height = png.height;
    } catch (e) {
      problems.push({ file: src.file, frame, problem: (e as Error).message });
      return null;
    }
    const indexOf = set.labelIndex!;
    const masks = new Map<string, MaskView | null>();
    for (const name of wanted) {
      const k = indexOf.get(name);
      if (k !== undefined) masks.set(name, { data: idx, value: k });
    }
    const hist = new Float64Array(256);
    for (let i = 0; i < idx.length; i++) hist[idx[i]!]!++;
    const known = new Set(indexOf.values());
    const unknown = new Set<number>();
    for (let v = 1; v < 256; v++) if (hist[v]! > 0 && !known.has(v)) unknown.add(v);
    if (unknown.size) problems.push({ file: src.file, frame, problem: `label index${unknown.size > 1 ? 'es' : ''} ${[...unknown].sort((a, b) => a - b).join(', ')} not in the label map: those pixels are ignored` });
    return { width, height, masks };
  }
  if (src.kind === 'png') {
    const masks = new Map<string, MaskView | null>();
    let width = 0;
    let height = 0;
    for (const name of wanted) {
      const file = src.files.get(name);
      if (!file) continue; // no file: empty in this frame
      try {
        const png = decodePng(await readFile(file));
        if (width && (png.width !== width || png.height !== height)) {
          problems.push({ file, frame, label: name, problem: `is ${png.width}x${png.height}, other masks of this frame are ${width}x${height}` });
          masks.set(name, null);
          continue;
        }
        width = png.width;
        height = png.height;
        // One-sample images (gray, indexed: index 0 = background) are used as they are.
        masks.set(name, png.channels === 1 ? { data: png.data, value: null } : { data: pngToBinaryMask(png), value: null });
      } catch (e) {
        problems.push({ file, frame, label: name, problem: (e as Error).message });
        masks.set(name, null);
      }
    }
    return { width, height, masks };
  }
  const { width, height } = src;
  const decoded = new Map<string, Uint8Array | null>();
  const want = new Set(wanted);
  for (const a of src.anns) {
    if (!want.has(a.label)) continue;
    let m = decoded.get(a.label);
    if (m === null) continue;
    if (!m) decoded.set(a.label, (m = new Uint8Array(width * height)));
    const masks = decoded;
    const seg = a.seg as { size?: unknown; counts?: unknown } | unknown[] | undefined;
    if (Array.isArray(seg)) {
      problems.push({ file: set.root, frame, label: a.label, problem: `annotation ${String(a.id)}: polygon segmentations are not supported (use RLE); the label is not evaluated in this frame` });
      masks.set(a.label, null);
      continue;
    }
    if (!seg || !Array.isArray((seg as { size?: unknown }).size) || (typeof seg.counts !== 'string' && !Array.isArray(seg.counts))) {
      problems.push({ file: set.root, frame, label: a.label, problem: `annotation ${String(a.id)}: no RLE segmentation; the label is not evaluated in this frame` });
      masks.set(a.label, null);
      continue;
    }
    const [h, w] = seg.size as number[];
    if (h !== height || w !== width) {
      problems.push({ file: set.root, frame, label: a.label, problem: `annotation ${String(a.id)} is ${w}x${h}, its image is ${width}x${height}; the label is not evaluated in this frame` });
      masks.set(a.label, null);
      continue;
    }
    try {
      const d = decodeCocoRle({ size: [h, w], counts: seg.counts as string | number[] });
      for (let i = 0; i < m.length; i++) m[i] = m[i]! | d[i]!;
    } catch (e) {
      problems.push({ file: set.root, frame, label: a.label, problem: `annotation ${String(a.id)}: ${(e as Error).message}; the label is not evaluated in this frame` });
      masks.set(a.label, null);
    }
  }
  const masks = new Map<string, MaskView | null>();
  for (const [k, m] of decoded) masks.set(k, m ? { data: m, value: null } : null);
  return { width, height, masks };
}
