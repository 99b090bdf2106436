// A loaded scene ready to render: the bundle's arrays uploaded once into a native handle,
// with its deformation keyframes. Shared by every client of the scene.
import { capabilities, createScene, type NativeScene, type RenderOutput } from '../../native/index';
import type { SceneInfo } from '../protocol/events';
import type { SceneBundle } from '../scene/bundle';
import type { SceneStore } from '../scene/store';
import type { CameraJSON } from '../scene/types';
import { DeformRunner } from '../deform/runner';
import { DeformCache } from './deform-cache';

/** Memory for exact deformation results of scenes with an MLP (SPLATSYNC_DEFORM_CACHE_MB). */
const DEFORM_CACHE_BYTES = Number(process.env.SPLATSYNC_DEFORM_CACHE_MB ?? 512) * 2 ** 20;

export type BackendName = 'cpu' | 'cuda';

/** The backend in use: SPLATSYNC_BACKEND when set (and available), else CUDA when a device is present, else CPU. */
export function selectBackend(): BackendName {
  const caps = capabilities();
  const wanted = process.env.SPLATSYNC_BACKEND as BackendName | undefined;
  if (wanted && wanted !== 'cpu' && wanted !== 'cuda') throw new Error(`SPLATSYNC_BACKEND must be cpu or cuda, got ${wanted}`);
  if (wanted === 'cuda' && !(caps.cuda.compiled && caps.cuda.devices > 0)) {
    throw new Error('SPLATSYNC_BACKEND=cuda but the addon has no CUDA device available (see `splatsync info`)');
  }
  if (wanted) return wanted;
  return caps.cuda.compiled && caps.cuda.devices > 0 ? 'cuda' : 'cpu';
}

/** Per-Gaussian appearance edits and a key that changes whenever they do. */
export interface AppearanceState {
  key: string;
  opacityScale: Float32Array | null;
  tint: Float32Array | null;
}

export class SceneRuntime {
  private constructor(
    readonly bundle: SceneBundle,
    readonly native: NativeScene,
    readonly backend: BackendName,
    /** Present when the scene carries its deformation MLP. */
    readonly deform: DeformCache | null,
  ) {}

  static async fromBundle(bundle: SceneBundle, backend: BackendName = selectBackend()): Promise<SceneRuntime> {
    const native = bundle.shHalf
      ? createScene({ count: bundle.cloud.count, shDegree: bundle.cloud.shDegree, positions: bundle.cloud.positions, rotations: bundle.cloud.rotations, logScales: bundle.cloud.logScales, opacityLogits: bundle.cloud.opacityLogits }, { shHalf: bundle.shHalf, backend })
      : createScene(bundle.cloud, { backend });
    for (const kf of bundle.keyframes) native.addKeyframe(kf);
    if (bundle.featuresFile) {
      native.setFeaturesFromFile(bundle.featuresFile.path, bundle.featuresFile.offset, bundle.featuresFile.dim);
    } else if (bundle.featuresHalf) {
      // The native scene keeps the (normalized) features; the JS copy is not needed any more.
      native.setFeatures(bundle.featuresHalf, bundle.header.featureDim);
      bundle.featuresHalf = null;
    }
    let deform: DeformCache | null = null;
    if (bundle.deformNet) {
      const runner = await DeformRunner.create(bundle.deformNet.spec, bundle.deformNet.tensors);
      deform = new DeformCache(native, runner, bundle.cloud.positions, DEFORM_CACHE_BYTES);
      if (bundle.keyframes.length === 0) deform.request(0);
    }
    return new SceneRuntime(bundle, native, backend, deform);
  }

  static async load(store: SceneStore, id: string, backend?: BackendName): Promise<SceneRuntime> {
    return await SceneRuntime.fromBundle(await store.load(id, { featuresOnDisk: true }), backend);
  }

  get id(): string {
    return this.bundle.header.id;
  }

  info(): SceneInfo {
    const h = this.bundle.header;
    return {
      id: h.id,
      name: h.name,
      count: h.count,
      shDegree: h.shDegree,
      featureDim: h.featureDim,
      dynamic: h.keyframeTimes.length > 0 || Boolean(h.deformNet),
      background: h.background,
      home: h.home,
      views: h.views,
      backend: this.backend,
      baked: !h.deformNet || h.keyframeTimes.length > 0,
      semanticNote: h.featureDim === 0 ? 'This scene has no semantic features (its .ply has no sem_* properties), so selecting by click or text is unavailable.' : undefined,
    };
  }

  /** The time a request for t renders at (see DeformCache.resolve). */
  resolveTime(t: number): number {
    return this.deform ? this.deform.resolve(t) : t;
  }

  /**
   * Renders at t. With an MLP, a time not computed yet renders from the nearest computed
   * keyframes and the exact deformation is requested (`deform.onExact` fires when ready).
   */
  render(camera: CameraJSON, t: number, opts: { labels?: Uint8Array | null; appearance?: AppearanceState | null } = {}): Promise<RenderOutput> {
    const rt = this.resolveTime(t);
    this.deform?.request(rt);
    if (opts.labels) this.native.setLabels(opts.labels);
    this.applyAppearance(opts.appearance ?? null);
    return this.native.render({ camera, t: rt, background: this.bundle.header.background, labels: Boolean(opts.labels) });
  }

  private appearanceKey = '';
  /**
   * Appearance edits are per room, the native scene per scene: set them only when the frame's
   * room differs from the last one applied (so one room costs nothing per frame).
   */
  private applyAppearance(a: AppearanceState | null): void {
    const key = a?.key ?? '';
    if (key === this.appearanceKey) return;
    this.native.setAppearance({ opacityScale: a?.opacityScale ?? null, tint: a?.tint ?? null });
    this.appearanceKey = key;
  }

  /** Feature, depth and world point at a pixel (mean over a patch), at the query's time. */
  pick(q: { camera: CameraJSON; t: number; x: number; y: number; patch?: number }) {
    return this.native.pick({ camera: q.camera, t: this.resolveTime(q.t), x: q.x, y: q.y, patch: q.patch ?? 5 });
  }

  /** Σ T·α per Gaussian over the given pixel spans ([y, x0, x1) triples). */
  regionWeights(q: { camera: CameraJSON; t: number; spans: [number, number, number][] }): Promise<Float32Array> {
    return this.native.regionWeights({ camera: q.camera, t: this.resolveTime(q.t), spans: q.spans });
  }

  /** Cosine similarity of every Gaussian's feature with `query`. */
  similarity(query: Float32Array): Promise<Float32Array> {
    return this.native.similarity(query);
  }

  /** Whether a frame at t shows the exact deformation (always, without an MLP). */
  isExact(t: number): boolean {
    return this.deform ? this.deform.isExact(t) : true;
  }

  dispose(): void {
    this.deform?.dispose();
    this.native.dispose();
  }
}
