// Ground-truth mask export at the dataset's views (issue #8, DESIGN.md §1 and §4).
//
// For every selected dataset view, at that view's own camera and time, the label channel is
// rendered once: pixel p shows label k when W_k(p) = Σ_{i in k} T_i α_i >= threshold (0.5), the
// largest weight winning (the native renderer's exact label channel). From that one map:
// - png:   `png/<view>/<label>.png`, 8-bit grayscale, 255 = label, 0 = not (one file per exported
//          label per view, empty masks included, so a missing file always means a problem);
// - davis: `davis/<view>.png`, 8-bit indexed, palette index = label position 1..n in display
//          order, 0 = background; palette colours are the labels' colours; `davis/labels.json`;
// - coco:  `coco.json`, images = views, categories = labels (id = the same index), one annotation
//          per non-empty (view, label) with compressed-RLE segmentation, area and bbox.
// plus `manifest.json`: scene, room and its version, θ of every selection, the label map,
// cameras and times, so the export can be reproduced. Details and decisions: docs/EXPORT.md.
import type { DatasetView } from '../protocol/events';
import type { SceneRuntime } from '../render/runtime';
import type { LabelState, RoomState } from '../rooms/state';
import { DEFAULT_REGION_MIN_WEIGHT, type SemanticEngine } from '../semantic/engine';
import type { CameraJSON } from '../scene/types';
import { VERSION } from '../version';
import { parseColour } from './appearance';
import { rleEncodeLabels, rleToString } from './coco-rle';
import { labelFileNames, selectViews, viewNames, type SplitSelection } from './names';
import { encodeIndexedPng, encodeLabelMaskPng } from './png';
import type { ExportSink } from './sinks';

export type MaskFormat = 'png' | 'davis' | 'coco';
export const MASK_FORMATS: readonly MaskFormat[] = ['png', 'davis', 'coco'];
export const MANIFEST_FORMAT = 'splatsync-masks';
export const MANIFEST_VERSION = 1;
export const DEFAULT_MASK_THRESHOLD = 0.5;

export class ExportError extends Error {}

export interface ExportProgress {
  /** Views finished. */
  done: number;
  total: number;
  fraction: number;
  /** The view just finished (or '' before the first). */
  view: string;
  message: string;
}

export interface ExportMasksOptions {
  /**
   * The scene to render. The export sets its label channel and clears its appearance edits
   * (masks are of the unedited scene), so give it a runtime no one else renders with meanwhile.
   */
  runtime: SceneRuntime;
  /** Computes label membership (over the same runtime); not needed when `channel` is given. */
  engine?: SemanticEngine | null;
  state: RoomState;
  /** The room the labels come from (null: labels from selection files, see `channel`). */
  roomId: string | null;
  /**
   * The per-Gaussian label channel (index k + 1 = order[k]) when it does not come from the
   * room's selections (labels given as `splatsync select` files); default engine.labelChannel.
   */
  channel?: { labels: Uint8Array; order: string[] };
  /** Recorded in the manifest: where labels given through `channel` came from. */
  labelSource?: string;
  sink: ExportSink;
  formats: readonly MaskFormat[];
  /** Which dataset views (default 'all'); ignored when `views` is given. */
  split?: SplitSelection;
  /** Explicit views (tests, benchmarks); default: the scene's views of `split`. */
  views?: readonly DatasetView[];
  /** Also export labels whose `visible` is off (default: visible labels only, as the issue says). */
  includeHidden?: boolean;
  /** W_k threshold in (0, 1] (default 0.5, DESIGN.md §1). */
  threshold?: number;
  onProgress?: (p: ExportProgress) => void;
  signal?: AbortSignal;
  /** How long to wait for an exact deformation at a view's time (MLP scenes), ms; default 10 min. */
  deformTimeoutMs?: number;
}

export interface ManifestLabel {
  /** Index in DAVIS masks and COCO category id (1..n). */
  index: number;
  id: string;
  name: string;
  /** File name stem of per-label PNGs. */
  file: string;
  colour: string;
  order: number;
  visible: boolean;
  combine: 'union' | 'mean';
  edit: LabelState['edit'];
  selections: {
    id: string;
    kind: string;
    mode: string;
    theta: number;
    author: string;
    /** The query without its feature vector (click pixel and camera, text, region spans). */
    query: unknown;
    /** Region selections: minimum weight used. */
    minWeight?: number;
  }[];
}

export interface ManifestView {
  name: string;
  split: string;
  index: number;
  time: number;
  /** The time the renderer used (MLP scenes: quantized to the deformation cache's step). */
  renderedTime: number;
  image?: string;
  camera: CameraJSON;
  /** Pixels per exported label in this view (labels with none are left out). */
  pixels: Record<string, number>;
}

export interface MaskManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  splatsync: string;
  createdAt: string;
  scene: { id: string; name: string; count: number; createdAt: string; source: string; datasetDir?: string; background: [number, number, number] };
  room: { id: string; version: number } | null;
  /** Set when the labels did not come from a room (selection files). */
  labelSource?: string;
  mask: { threshold: number; rule: string; appearanceEdits: 'ignored' };
  formats: MaskFormat[];
  split: SplitSelection | 'custom';
  files: { png?: string; davis?: string; coco?: string };
  labels: ManifestLabel[];
  /** Labels of the room that were not exported, and why. */
  skippedLabels: { id: string; name: string; reason: string }[];
  views: ManifestView[];
  timings: { totalMs: number; renderMs: number; encodeMs: number };
}

export interface ExportResult {
  manifest: MaskManifest;
  location: string;
}

/** dst[i] = lut[src[i]] (kept out of exportMasks so it stays a small, hot, optimized loop). */
function remap(src: Uint8Array, lut: Uint8Array): Uint8Array {
  const dst = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) dst[i] = lut[src[i]!]!;
  return dst;
}


function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new ExportError('export cancelled');
}

/** Waits until the runtime has the exact deformation at t (scenes with an MLP). */
async function ensureExact(runtime: SceneRuntime, t: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deform = runtime.deform;
  if (!deform || deform.isExact(t)) return;
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    let poll: NodeJS.Timeout | null = null;
    const done = (err?: Error) => {
      off();
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      if (deform.isExact(t)) return done();
      const rt = deform.resolve(t);
      if (deform.lastError && deform.lastError.includes(`t=${rt}`)) return done(new ExportError(deform.lastError));
      // Live viewers' requests replace queued ones (latest wins): ask again until ours is done.
      deform.request(t);
    };
    const off = deform.onExact(() => check());
    const onAbort = () => done(abortError(signal!));
    signal?.addEventListener('abort', onAbort);
    timer = setTimeout(() => done(new ExportError(`the deformation at t=${t} was not ready within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    poll = setInterval(check, 200);
    check();
  });
}

/** Exports masks of the room's labels at the dataset views; returns the manifest (also written). */
export async function exportMasks(opts: ExportMasksOptions): Promise<ExportResult> {
  const t0 = performance.now();
  const { runtime, engine, state, sink } = opts;
  const formats = [...new Set(opts.formats)];
  if (formats.length === 0) throw new ExportError('no mask format chosen (png, davis, coco)');
  for (const f of formats) if (!MASK_FORMATS.includes(f)) throw new ExportError(`unknown mask format ${JSON.stringify(f)} (png, davis, coco)`);
  const threshold = opts.threshold ?? DEFAULT_MASK_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new ExportError(`the mask threshold must be in (0, 1], got ${threshold}`);
  const header = runtime.bundle.header;
  const split = opts.split ?? 'all';
  const views = opts.views ? [...opts.views] : selectViews(header.views, split);
  if (views.length === 0) throw new ExportError(`scene ${header.id} has no ${split === 'all' ? '' : `${split} `}views to export`);
  const names = viewNames(views);

  // Labels: the channel over every label (so an invisible label never changes another's mask),
  // then only the exported ones get indices 1..n.
  if (!opts.channel && !engine) throw new ExportError('exportMasks needs an engine or a label channel');
  const channel = opts.channel ?? (await engine!.labelChannel(state));
  const ordered = channel.order.map((id) => state.labels.get(id)).filter((l): l is LabelState => l !== undefined);
  const exported: LabelState[] = [];
  const skipped: MaskManifest['skippedLabels'] = [];
  for (const l of ordered) {
    if (!l.visible && !opts.includeHidden) skipped.push({ id: l.id, name: l.name, reason: 'not visible (export with hidden labels included to get it)' });
    else exported.push(l);
  }
  for (const l of state.labels.values()) if (!channel.order.includes(l.id)) skipped.push({ id: l.id, name: l.name, reason: 'beyond the label channel limit' });
  if (exported.length === 0) throw new ExportError(state.labels.size === 0 ? 'the room has no labels to export' : 'every label of the room is hidden: nothing to export');
  const files = labelFileNames(exported.map((l) => l.name));
  const lut = new Uint8Array(256); // channel index -> export index
  exported.forEach((l, k) => (lut[channel.order.indexOf(l.id) + 1] = k + 1));
  const exportIndices = exported.map((_, k) => k + 1);
  const palette = new Uint8Array((exported.length + 1) * 3);
  exported.forEach((l, k) => palette.set(parseColour(l.colour).map((c) => Math.round(c * 255)), (k + 1) * 3));

  const manifestLabels: ManifestLabel[] = exported.map((l, k) => ({
    index: k + 1,
    id: l.id,
    name: l.name,
    file: files[k]!,
    colour: l.colour,
    order: l.order,
    visible: l.visible,
    combine: l.combine,
    edit: l.edit,
    selections: l.selections.map((s) => ({
      id: s.id,
      kind: s.kind,
      mode: s.mode,
      theta: s.theta,
      author: s.author,
      query: s.query,
      ...(s.kind === 'region' ? { minWeight: s.query.minWeight ?? DEFAULT_REGION_MIN_WEIGHT } : {}),
    })),
  }));

  const native = runtime.native;
  native.setAppearance({ opacityScale: null, tint: null });
  native.setLabels(channel.labels);

  const deformTimeout = opts.deformTimeoutMs ?? 600_000;
  const renderView = async (v: DatasetView) => {
    await ensureExact(runtime, v.time, deformTimeout, opts.signal);
    const t = runtime.resolveTime(v.time);
    const r0 = performance.now();
    const out = await native.render({ camera: v.camera, t, background: header.background, labels: true, labelThreshold: threshold });
    return { out, t, ms: performance.now() - r0 };
  };

  const coco = formats.includes('coco')
    ? { images: [] as unknown[], annotations: [] as unknown[] }
    : null;
  const manifestViews: ManifestView[] = [];
  let renderMs = 0;
  let encodeMs = 0;
  const report = (done: number, view: string) =>
    opts.onProgress?.({ done, total: views.length, fraction: done / views.length, view, message: view ? `exporting ${view} (${done}/${views.length})` : `exporting ${views.length} views` });
  report(0, '');

  try {
    // One view ahead: the next render runs (on the native threads) while this one is encoded.
    let next: ReturnType<typeof renderView> | null = renderView(views[0]!);
    for (let i = 0; i < views.length; i++) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const { out, t, ms } = await next!;
      next = i + 1 < views.length ? renderView(views[i + 1]!) : null;
      next?.catch(() => {}); // awaited on the next iteration
      renderMs += ms;
      const e0 = performance.now();
      const v = views[i]!;
      const name = names[i]!;
      const { width: w, height: h } = out;
      const channelMap = out.labels!;
      const idx = remap(channelMap, lut);
      const rle = rleEncodeLabels(idx, w, h, exportIndices);
      const pixels: Record<string, number> = {};
      for (const l of manifestLabels) {
        const a = rle.get(l.index)!.area;
        if (a > 0) pixels[l.name] = a;
      }
      if (formats.includes('png')) {
        for (const l of manifestLabels) await sink.write(`png/${name}/${l.file}.png`, encodeLabelMaskPng(idx, w, h, l.index));
      }
      if (formats.includes('davis')) await sink.write(`davis/${name}.png`, encodeIndexedPng(idx, w, h, palette));
      if (coco) {
        const imageId = i + 1;
        coco.images.push({ id: imageId, file_name: v.image ?? `${name}.png`, width: w, height: h, view: name, split: v.split, index: v.index, time: v.time });
        for (const l of manifestLabels) {
          const r = rle.get(l.index)!;
          if (r.area === 0) continue;
          coco.annotations.push({
            id: coco.annotations.length + 1,
            image_id: imageId,
            category_id: l.index,
            segmentation: { size: [h, w], counts: rleToString(r.counts) },
            area: r.area,
            bbox: r.bbox,
            iscrowd: 0,
          });
        }
      }
      manifestViews.push({ name, split: v.split, index: v.index, time: v.time, renderedTime: t, image: v.image, camera: v.camera, pixels });
      encodeMs += performance.now() - e0;
      report(i + 1, name);
    }

    const manifest: MaskManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      splatsync: VERSION,
      createdAt: new Date().toISOString(),
      scene: { id: header.id, name: header.name, count: header.count, createdAt: header.createdAt, source: header.source, datasetDir: header.datasetDir, background: header.background },
      room: opts.roomId === null ? null : { id: opts.roomId, version: state.version },
      ...(opts.labelSource ? { labelSource: opts.labelSource } : {}),
      mask: {
        threshold,
        rule: 'pixel p shows label k when W_k(p) = sum over the label\'s Gaussians of T_i alpha_i >= threshold; the largest W_k wins; a Gaussian in several labels counts for the first in display order',
        appearanceEdits: 'ignored',
      },
      formats,
      split: opts.views ? 'custom' : split,
      files: {
        ...(formats.includes('png') ? { png: 'png/<view>/<label file>.png' } : {}),
        ...(formats.includes('davis') ? { davis: 'davis/<view>.png' } : {}),
        ...(formats.includes('coco') ? { coco: 'coco.json' } : {}),
      },
      labels: manifestLabels,
      skippedLabels: skipped,
      views: manifestViews,
      timings: { totalMs: 0, renderMs, encodeMs },
    };
    const enc = new TextEncoder();
    if (formats.includes('davis')) {
      const map = { labels: manifestLabels.map((l) => ({ index: l.index, name: l.name, colour: l.colour })) };
      await sink.write('davis/labels.json', enc.encode(JSON.stringify(map, null, 1)), { compress: true });
    }
    if (coco) {
      const doc = {
        info: { description: `Splatsync ground-truth masks of scene ${header.id}, ${opts.roomId === null ? opts.labelSource ?? 'selection files' : `room ${opts.roomId} v${state.version}`}`, version: VERSION, date_created: manifest.createdAt },
        licenses: [],
        images: coco.images,
        categories: manifestLabels.map((l) => ({ id: l.index, name: l.name, supercategory: 'label', color: l.colour })),
        annotations: coco.annotations,
      };
      await sink.write('coco.json', enc.encode(JSON.stringify(doc)), { compress: true });
    }
    manifest.timings.totalMs = performance.now() - t0;
    await sink.write('manifest.json', enc.encode(JSON.stringify(manifest, null, 1)), { compress: true });
    await sink.close();
    return { manifest, location: sink.location };
  } catch (err) {
    await sink.abort(err as Error).catch(() => {});
    throw err;
  }
}
