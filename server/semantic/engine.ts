// Selection ops evaluated into per-Gaussian membership (DESIGN.md §1, the paper's §3.3):
// click = cosine similarity to the feature composited at the clicked pixel, text = similarity to
// the CLIP text embedding, region = accumulated weight Σ T·α over brushed pixels. Scores are
// cached per selection, so moving θ only re-thresholds; membership is cached per label state.
import type { PixelQuery, RegionQuery, Selection } from '../protocol/room';
import type { SceneRuntime } from '../render/runtime';
import type { LabelState, RoomState } from '../rooms/state';
import { embedTextQuery, type ClipTextEncoder } from './clip/index';
import type { z } from 'zod';

export type PixelQueryT = z.infer<typeof PixelQuery>;
export type RegionQueryT = z.infer<typeof RegionQuery>;

/** Default minimum Σ T·α (in pixels' worth of weight) for a region selection. */
export const DEFAULT_REGION_MIN_WEIGHT = 0.5;
export const HISTOGRAM_BINS = 64;
export const MAX_LABELS = 255;

export class SelectionError extends Error {
  constructor(readonly code: 'bad_request' | 'unavailable', message: string) {
    super(message);
  }
}

export interface ClickInfo {
  feature: Float32Array;
  worldPoint: [number, number, number] | null;
  topGaussian: number;
}

export class SemanticEngine {
  private scoreCache = new Map<string, Float32Array>();
  private memberCache = new Map<string, { key: string; members: Uint8Array }>();

  constructor(
    readonly runtime: SceneRuntime,
    readonly clip: ClipTextEncoder | null,
  ) {}

  get count(): number {
    return this.runtime.bundle.header.count;
  }
  get featureDim(): number {
    return this.runtime.bundle.header.featureDim;
  }

  private requireFeatures(what: string): void {
    if (this.featureDim === 0) {
      throw new SelectionError('unavailable', `${what} needs semantic features, and this scene has none (its .ply had no sem_* properties); use a region (brush or box) selection instead`);
    }
  }

  /** The query feature of a click: the mean composited feature over a patch around the pixel. */
  async clickFeature(q: PixelQueryT): Promise<ClickInfo> {
    this.requireFeatures('selecting by click');
    const r = await this.runtime.pick(q);
    if (r.alpha < 1e-3) throw new SelectionError('bad_request', `nothing is rendered at pixel (${q.x}, ${q.y}): click on the object`);
    return { feature: r.feature, worldPoint: r.worldPoint, topGaussian: r.topGaussian };
  }

  async textFeature(text: string): Promise<Float32Array> {
    try {
      return (await embedTextQuery(this.clip, this.featureDim, text)).embedding;
    } catch (err) {
      const code = (err as { code?: string }).code === 'bad_request' ? 'bad_request' : 'unavailable';
      throw new SelectionError(code, (err as Error).message);
    }
  }

  /** Fills in what a selection needs before it is committed (query features), or throws. */
  async prepare(sel: Selection): Promise<Selection> {
    if (sel.kind === 'click') {
      const { feature } = await this.clickFeature(sel.query);
      return { ...sel, feature: roundFeature(feature) };
    }
    if (sel.kind === 'text') return { ...sel, feature: roundFeature(await this.textFeature(sel.query.text)) };
    const pixels = sel.query.spans.reduce((a, [, x0, x1]) => a + Math.max(0, Math.min(x1, sel.query.camera.width) - x0), 0);
    if (pixels <= 0) throw new SelectionError('bad_request', 'the region has no pixels: brush or drag a box over the object');
    if (sel.query.spans.some(([y]) => y >= sel.query.camera.height)) throw new SelectionError('bad_request', 'the region lies outside the image');
    return sel;
  }

  /** Per-Gaussian scores of a selection (cosine similarity, or region weight), cached by id. */
  async scores(sel: Selection): Promise<Float32Array> {
    const hit = this.scoreCache.get(sel.id);
    if (hit) return hit;
    let s: Float32Array;
    if (sel.kind === 'region') {
      s = await this.runtime.regionWeights(sel.query);
    } else {
      const f = sel.feature ? Float32Array.from(sel.feature) : sel.kind === 'click' ? (await this.clickFeature(sel.query)).feature : await this.textFeature(sel.query.text);
      s = await this.runtime.similarity(f);
    }
    this.scoreCache.set(sel.id, s);
    return s;
  }

  async similarityTo(feature: Float32Array): Promise<Float32Array> {
    return this.runtime.similarity(feature);
  }

  /** Membership of one label: its selections applied in order (add = union, subtract = difference). */
  async membership(label: LabelState): Promise<Uint8Array> {
    const key = JSON.stringify([label.combine, label.selections.map((s) => [s.id, s.mode, s.theta])]);
    const cached = this.memberCache.get(label.id);
    if (cached && cached.key === key) return cached.members;
    const n = this.count;
    const m = new Uint8Array(n);
    const sels = label.selections;
    let meanDone = false;
    for (const sel of sels) {
      let scores: Float32Array;
      let threshold: number;
      if (label.combine === 'mean' && sel.mode === 'add' && sel.kind !== 'region') {
        if (meanDone) continue;
        meanDone = true;
        // One query: the normalized mean of every adding click/text feature, at the last one's θ.
        const group = sels.filter((s) => s.mode === 'add' && s.kind !== 'region') as Extract<Selection, { kind: 'click' | 'text' }>[];
        const mean = await this.meanFeature(group);
        const cacheKey = `mean:${group.map((g) => g.id).join(',')}`;
        scores = this.scoreCache.get(cacheKey) ?? (await this.runtime.similarity(mean));
        this.scoreCache.set(cacheKey, scores);
        threshold = group[group.length - 1]!.theta;
      } else {
        scores = await this.scores(sel);
        threshold = sel.kind === 'region' ? sel.query.minWeight ?? DEFAULT_REGION_MIN_WEIGHT : sel.theta;
      }
      if (sel.mode === 'add') for (let i = 0; i < n; i++) m[i] = m[i]! | (scores[i]! >= threshold ? 1 : 0);
      else for (let i = 0; i < n; i++) if (scores[i]! >= threshold) m[i] = 0;
    }
    this.memberCache.set(label.id, { key, members: m });
    return m;
  }

  private async meanFeature(group: Extract<Selection, { kind: 'click' | 'text' }>[]): Promise<Float32Array> {
    const d = this.featureDim;
    const acc = new Float32Array(d);
    for (const g of group) {
      const f = g.feature ? Float32Array.from(g.feature) : g.kind === 'click' ? (await this.clickFeature(g.query)).feature : await this.textFeature(g.query.text);
      let norm = 0;
      for (let i = 0; i < d; i++) norm += f[i]! * f[i]!;
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < d; i++) acc[i]! += f[i]! / norm;
    }
    return acc;
  }

  /**
   * Per-Gaussian label index for the rasterizer's label channel: labels in display order get
   * 1..255; a Gaussian in several labels takes the first in order. Returns the ids in that order.
   */
  async labelChannel(state: RoomState): Promise<{ labels: Uint8Array; order: string[] }> {
    const ordered = [...state.labels.values()].sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1)).slice(0, MAX_LABELS);
    const out = new Uint8Array(this.count);
    for (let k = ordered.length - 1; k >= 0; k--) {
      const m = await this.membership(ordered[k]!);
      for (let i = 0; i < out.length; i++) if (m[i]) out[i] = k + 1;
    }
    for (const id of [...this.memberCache.keys()]) if (!state.labels.has(id)) this.memberCache.delete(id);
    return { labels: out, order: ordered.map((l) => l.id) };
  }

  forget(selId: string): void {
    this.scoreCache.delete(selId);
  }
}

/** 64-bin histogram of scores over [-1, 1] (the θ slider's backdrop). */
export function histogram(scores: Float32Array, bins = HISTOGRAM_BINS): number[] {
  const h = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((scores[i]! + 1) / 2) * bins)));
    h[b]!++;
  }
  return h;
}

export function countAtLeast(scores: Float32Array, theta: number): number {
  let c = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= theta) c++;
  return c;
}

/** Features travel in ops as JSON numbers: 6 significant digits keep cosines exact to ~1e-6. */
function roundFeature(f: Float32Array): number[] {
  return Array.from(f, (v) => Number(v.toPrecision(6)));
}
