// `splatsync eval`: per-label, per-frame IoU of predicted masks against reference masks, and the
// mean (the paper's Table 1 measure). Either side may be in any layout read.ts reads; labels are
// matched by name, frames by name (the export's view names). Bad input never stops the run: a
// missing frame, an unknown label, a mask of the wrong size or an unreadable file is reported
// (per file) and left out, and everything else is evaluated. Decisions: docs/EXPORT.md.
import { openMaskSet, readFrame, type MaskSet, type MaskView, type Problem } from './read';

export type { Problem } from './read';

export interface IouRow {
  frame: string;
  label: string;
  /** null when both masks are empty (IoU undefined; left out of every mean). */
  iou: number | null;
  intersection: number;
  union: number;
  predPixels: number;
  refPixels: number;
}

export interface LabelSummary {
  label: string;
  /** Mean IoU over this label's frames with a defined IoU (null when there are none). */
  meanIoU: number | null;
  /** Frames with a defined IoU. */
  frames: number;
  /** Frames where both masks were empty. */
  emptyFrames: number;
  minIoU: number | null;
}

export interface EvalReport {
  pred: { path: string; layout: string; namedBy: string; frames: number; labels: string[] };
  ref: { path: string; layout: string; namedBy: string; frames: number; labels: string[] };
  /** Labels evaluated (in the reference's order). */
  labels: string[];
  /** Frames evaluated (present on both sides), in the reference's order. */
  frames: string[];
  rows: IouRow[];
  perLabel: LabelSummary[];
  /** Mean over labels of each label's mean IoU (mIoU). null when nothing could be evaluated. */
  mIoU: number | null;
  /** Mean over every (frame, label) pair with a defined IoU. */
  meanOverPairs: number | null;
  problems: Problem[];
  notes: string[];
}

/** IoU of two [H,W] 0/1 masks (same length). */
export function maskIoU(pred: Uint8Array, ref: Uint8Array): { iou: number | null; intersection: number; union: number; predPixels: number; refPixels: number } {
  if (pred.length !== ref.length) throw new Error(`maskIoU: masks of ${pred.length} and ${ref.length} pixels`);
  let inter = 0;
  let p = 0;
  let r = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i]! ? 1 : 0;
    const b = ref[i]! ? 1 : 0;
    p += a;
    r += b;
    inter += a & b;
  }
  const union = p + r - inter;
  return { iou: union === 0 ? null : inter / union, intersection: inter, union, predPixels: p, refPixels: r };
}

/**
 * IoU counts of two mask views of the same size. Masks are mostly background, so 8-bit data is
 * scanned 4 pixels at a time and words that are zero on both sides (no label there: an index
 * value is never 0) are skipped; the rest goes through one loop per kind of pair.
 */
export function viewIoU(a: MaskView, b: MaskView): ReturnType<typeof maskIoU> {
  const n = a.data.length;
  if (b.data.length !== n) throw new Error(`viewIoU: masks of ${n} and ${b.data.length} pixels`);
  const counts = { inter: 0, p: 0, r: 0 };
  const wordsOk = a.data instanceof Uint8Array && b.data instanceof Uint8Array && a.data.byteOffset % 4 === 0 && b.data.byteOffset % 4 === 0 && a.value !== 0 && b.value !== 0;
  if (wordsOk) {
    const words = n >> 2;
    const xa = new Uint32Array(a.data.buffer, a.data.byteOffset, words);
    const ya = new Uint32Array(b.data.buffer, b.data.byteOffset, words);
    // Runs of words with something in them, counted pixel by pixel.
    let w = 0;
    while (w < words) {
      while (w < words && (xa[w]! | ya[w]!) === 0) w++;
      const start = w;
      while (w < words && (xa[w]! | ya[w]!) !== 0) w++;
      if (w > start) countRange(a, b, start * 4, w * 4, counts);
    }
    countRange(a, b, words * 4, n, counts);
  } else {
    countRange(a, b, 0, n, counts);
  }
  const { inter, p, r } = counts;
  const union = p + r - inter;
  return { iou: union === 0 ? null : inter / union, intersection: inter, union, predPixels: p, refPixels: r };
}

function countRange(a: MaskView, b: MaskView, from: number, to: number, c: { inter: number; p: number; r: number }): void {
  const x = a.data;
  const y = b.data;
  let inter = 0;
  let p = 0;
  let r = 0;
  if (a.value === null && b.value === null) {
    for (let i = from; i < to; i++) {
      const u = x[i] !== 0 ? 1 : 0;
      const v = y[i] !== 0 ? 1 : 0;
      p += u;
      r += v;
      inter += u & v;
    }
  } else if (a.value === null) {
    const k = b.value!;
    for (let i = from; i < to; i++) {
      const u = x[i] !== 0 ? 1 : 0;
      const v = y[i] === k ? 1 : 0;
      p += u;
      r += v;
      inter += u & v;
    }
  } else if (b.value === null) {
    const k = a.value;
    for (let i = from; i < to; i++) {
      const u = x[i] === k ? 1 : 0;
      const v = y[i] !== 0 ? 1 : 0;
      p += u;
      r += v;
      inter += u & v;
    }
  } else {
    const j = a.value;
    const k = b.value!;
    for (let i = from; i < to; i++) {
      const u = x[i] === j ? 1 : 0;
      const v = y[i] === k ? 1 : 0;
      p += u;
      r += v;
      inter += u & v;
    }
  }
  c.inter += inter;
  c.p += p;
  c.r += r;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * A side whose labels have no names (DAVIS without a label map) takes the other side's names by
 * index, when the other side knows its indices (manifest, labels.json, COCO category ids).
 */
function adoptNames(unnamed: MaskSet, named: MaskSet, which: string, notes: string[]): void {
  if (unnamed.namedBy !== 'indices' || named.namedBy === 'indices' || !named.labelIndex) return;
  const byIndex = new Map([...named.labelIndex.entries()].map(([n, i]) => [i, n]));
  const rename = new Map<string, number>();
  for (const [name, i] of unnamed.labelIndex ?? []) {
    const n = byIndex.get(i);
    rename.set(n ?? name, i);
  }
  unnamed.labelIndex = rename;
  unnamed.labels = [...rename.keys()];
  notes.push(`${which} masks (${unnamed.root}) have no label names: matched to the other side's labels by index (${[...rename.entries()].map(([n, i]) => `${i}=${n}`).join(', ')})`);
}

export interface EvalOptions {
  /** Called after each frame. */
  onProgress?: (done: number, total: number, frame: string) => void;
}

export async function evaluateMasks(predPath: string, refPath: string, opts: EvalOptions = {}): Promise<EvalReport> {
  const [pred, ref] = await Promise.all([openMaskSet(predPath), openMaskSet(refPath)]);
  const notes: string[] = [];
  adoptNames(pred, ref, 'predicted', notes);
  adoptNames(ref, pred, 'reference', notes);
  const problems: Problem[] = [...pred.problems.map((p) => ({ ...p, side: 'pred' as const })), ...ref.problems.map((p) => ({ ...p, side: 'ref' as const }))];

  // Labels by name.
  const predLabels = new Set(pred.labels);
  const refLabels = new Set(ref.labels);
  const labels = ref.labels.filter((l) => predLabels.has(l));
  for (const l of pred.labels) if (!refLabels.has(l)) problems.push({ side: 'pred', file: pred.root, label: l, problem: `unknown label ${JSON.stringify(l)}: the reference has no label of that name (reference labels: ${ref.labels.join(', ') || 'none'})` });
  for (const l of ref.labels) if (!predLabels.has(l)) problems.push({ side: 'pred', file: pred.root, label: l, problem: `no prediction for reference label ${JSON.stringify(l)}: not evaluated` });

  // Frames by name.
  const frames = [...ref.frames.keys()].filter((f) => pred.frames.has(f));
  for (const f of ref.frames.keys()) if (!pred.frames.has(f)) problems.push({ side: 'pred', file: pred.root, frame: f, problem: `missing frame ${JSON.stringify(f)} (the reference has it): not evaluated` });
  for (const f of pred.frames.keys()) if (!ref.frames.has(f)) problems.push({ side: 'ref', file: ref.root, frame: f, problem: `no reference for frame ${JSON.stringify(f)}: not evaluated` });

  const rows: IouRow[] = [];
  let done = 0;
  for (const frame of frames) {
    const fp: Problem[] = [];
    const fr: Problem[] = [];
    const [p, r] = await Promise.all([readFrame(pred, frame, labels, fp), readFrame(ref, frame, labels, fr)]);
    problems.push(...fp.map((x) => ({ ...x, side: 'pred' as const })), ...fr.map((x) => ({ ...x, side: 'ref' as const })));
    if (p && r) {
      // The size of the frame: the reference's when it has one, else the prediction's.
      const width = r.width || p.width;
      const height = r.height || p.height;
      if (r.width && p.width && (p.width !== r.width || p.height !== r.height)) {
        problems.push({ side: 'pred', file: frameFile(pred, frame), frame, problem: `wrong size: ${p.width}x${p.height}, the reference is ${r.width}x${r.height}; frame not evaluated` });
      } else if (width && height) {
        const empty: MaskView = { data: new Uint8Array(width * height), value: null };
        for (const label of labels) {
          const pm = p.masks.has(label) ? p.masks.get(label)! : empty;
          const rm = r.masks.has(label) ? r.masks.get(label)! : empty;
          if (pm === null || rm === null) continue; // unreadable, reported
          if (pm.data.length !== width * height) {
            problems.push({ side: 'pred', file: frameFile(pred, frame, label), frame, label, problem: `wrong size: ${pm.data.length} pixels, the reference frame is ${width}x${height}; not evaluated` });
            continue;
          }
          if (rm.data.length !== width * height) continue;
          rows.push({ frame, label, ...viewIoU(pm, rm) });
        }
      }
      // else: no readable mask on either side for the wanted labels; already reported
    }
    done++;
    opts.onProgress?.(done, frames.length, frame);
  }

  const perLabel: LabelSummary[] = labels.map((label) => {
    const rs = rows.filter((x) => x.label === label);
    const defined = rs.filter((x) => x.iou !== null).map((x) => x.iou!);
    return { label, meanIoU: mean(defined), frames: defined.length, emptyFrames: rs.length - defined.length, minIoU: defined.length ? Math.min(...defined) : null };
  });
  const labelMeans = perLabel.filter((l) => l.meanIoU !== null).map((l) => l.meanIoU!);
  return {
    pred: { path: pred.root, layout: pred.layout, namedBy: pred.namedBy, frames: pred.frames.size, labels: pred.labels },
    ref: { path: ref.root, layout: ref.layout, namedBy: ref.namedBy, frames: ref.frames.size, labels: ref.labels },
    labels,
    frames,
    rows,
    perLabel,
    mIoU: mean(labelMeans),
    meanOverPairs: mean(rows.filter((x) => x.iou !== null).map((x) => x.iou!)),
    problems,
    notes,
  };
}

function frameFile(set: MaskSet, frame: string, label?: string): string {
  const src = (set as MaskSet).frames.get(frame);
  if (!src) return set.root;
  if (src.kind === 'davis') return src.file;
  if (src.kind === 'png') return (label && src.files.get(label)) || set.root;
  return set.root;
}

/** The report as a text table: one row per frame, one column per label, then the means. */
export function formatReport(r: EvalReport): string {
  const fmt = (v: number | null) => (v === null ? '   -  ' : v.toFixed(4));
  const frameW = Math.max(5, ...r.frames.map((f) => f.length), 'mean'.length);
  const colW = r.labels.map((l) => Math.max(6, l.length));
  const line = (first: string, cells: string[]) => `${first.padEnd(frameW)}  ${cells.map((c, i) => c.padStart(colW[i]!)).join('  ')}`;
  const byKey = new Map(r.rows.map((x) => [`${x.frame}\u0000${x.label}`, x]));
  const out: string[] = [];
  out.push(`pred: ${r.pred.path} (${r.pred.layout}, names from ${r.pred.namedBy})`);
  out.push(`ref:  ${r.ref.path} (${r.ref.layout}, names from ${r.ref.namedBy})`);
  if (r.labels.length && r.frames.length) {
    out.push('');
    out.push(line('frame', r.labels));
    for (const f of r.frames) out.push(line(f, r.labels.map((l) => fmt(byKey.get(`${f}\u0000${l}`)?.iou ?? null))));
    out.push(line('mean', r.perLabel.map((l) => fmt(l.meanIoU))));
  }
  out.push('');
  out.push(`mIoU ${r.mIoU === null ? '-' : r.mIoU.toFixed(4)} over ${plural(r.perLabel.filter((l) => l.meanIoU !== null).length, 'label')}; mean over ${plural(r.rows.filter((x) => x.iou !== null).length, '(frame, label) pair')} ${r.meanOverPairs === null ? '-' : r.meanOverPairs.toFixed(4)}` + (r.rows.some((x) => x.iou === null) ? `; ${plural(r.rows.filter((x) => x.iou === null).length, 'pair')} empty on both sides (left out)` : ''));
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Problems as lines for stderr. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.side ?? ''}${p.side ? ': ' : ''}${p.file}${p.frame && !p.file.includes(p.frame) ? ` [${p.frame}]` : ''}: ${p.problem}`);
}
