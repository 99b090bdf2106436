// The only door to the native addon (native/build/Release/splatsync.node). Everything that
// crosses into C++ is validated here first, with errors of the form
// "Expected X for Y but received Z"; the binding (src/addon.cc) only re-checks sizes.
//
// Call chain: createScene() -> new addon.Scene (src/addon.cc, copies + activates the cloud in
// src/scene.cc) -> NativeScene.render() -> Job (libuv thread) -> Scene::render ->
// cpu::prepare_frame (deform -> preprocess -> sort_and_bin) -> cpu::blend_tiles (src/cpu/*).
// pick() / regionWeights() run the same preparation (or reuse a render's, same camera and t)
// and composite only the pixels they need (cpu::composite_masked); similarity() streams the
// scene's unit fp16 features (cpu/features.cc). floatToHalf / halfToFloat: cpu/half.cc.
// The math every backend computes is docs/RENDERING.md; src/common/ holds the shared part.
// Backends (src/backend.h): every scene is created on one, CPU or CUDA (src/cuda/, compiled in
// when nvcc was present at build time; docs/CUDA.md). The default is defaultBackend().
import { createRequire } from 'node:module';
import type { CameraJSON, DeformKeyframe, DeformSample, GaussianCloud } from '../server/scene/types';
import type { DeformNetworkSpec } from '../server/deform/network';
import type { Tensor } from '../server/import/pth';

/** Largest image side a render accepts, in pixels. */
export const MAX_IMAGE_SIDE = 4096;

/** Largest semantic feature dimension setFeatures() accepts. */
export const MAX_FEATURE_DIM = 8192;

export type BackendName = 'cpu' | 'cuda';

export interface CudaCapabilities {
  /** Whether this build contains the CUDA backend (nvcc was present when it was built). */
  compiled: boolean;
  /** Usable CUDA devices (0 when not compiled, no driver, or no device). */
  devices: number;
  /** Why there is no usable device (or no CUDA backend), when devices is 0. */
  error?: string;
  /** Compiled targets, e.g. "sm_80 sm_86 sm_89 sm_90 compute_90" (compiled builds). */
  archs?: string;
  /** CUDA runtime (linked statically) and driver versions, e.g. 13000; driver 0 when there is none. */
  runtimeVersion?: number;
  driverVersion?: number;
  /** Device 0, when there is one. */
  device?: string;
  computeCapability?: string;
  memoryBytes?: number;
}

export interface Capabilities {
  cpu: true;
  cuda: CudaCapabilities;
  /** SIMD level the CPU backend was compiled for, e.g. "avx2+fma", "avx512f". */
  simd: string;
  /** Threads the CPU backend uses per render. */
  threads: number;
  /** Whether fp16 conversions use the F16C instructions (else a bit-identical scalar path). */
  f16c: boolean;
}

export interface RenderOptions {
  camera: CameraJSON;
  /** Time; selects or interpolates the scene's keyframes (docs/RENDERING.md "Inputs"). */
  t: number;
  /** RGB in [0,1]. */
  background: [number, number, number];
  /**
   * Also produce RenderOutput.labels (needs setLabels()): per pixel the label k with the largest
   * W_k = sum over its Gaussians of T_i alpha_i among labels with W_k >= labelThreshold (ties to
   * the lower id), else 0. Exact for any number of labels per pixel.
   */
  labels?: boolean;
  /** In (0, 1]; default 0.5. */
  labelThreshold?: number;
  /**
   * Default true. false: depth and alpha are not returned (zero-length arrays), so the CUDA
   * backend reads back only the 8-bit RGB (and labels). For callers that never read them.
   */
  depthAlpha?: boolean;
  /**
   * Deform with the scene's network (setDeformNetwork) evaluated at t on the device, instead of
   * its keyframes. CUDA backend only.
   */
  deformNetwork?: boolean;
}

export interface RenderTimings {
  /** Keyframe interpolation + deformed covariances (0 when the scene has no keyframes). */
  deformMs: number;
  /** Projection, colour, tile bounds. */
  preprocessMs: number;
  /** Depth sort + scatter into tile bins. */
  sortMs: number;
  /** Per-tile compositing. */
  blendMs: number;
  /** All native stages (not counting the JS <-> C++ hand-over). */
  totalMs: number;
  /** Device -> host copies (CUDA backend; 0 on the CPU). */
  readbackMs: number;
}

export interface RenderStats {
  /** Gaussians that touch at least one tile. */
  visible: number;
  /** (tile, Gaussian) pairs after binning. */
  tileEntries: number;
  /** Pixel x Gaussian evaluations the blend performed (evaluated / (W*H) = per-pixel work). */
  evaluated: number;
}

export interface RenderOutput {
  width: number;
  height: number;
  /** [H,W,3] row-major, top row first. */
  rgb: Uint8Array;
  /** [H,W] expected camera z of what was hit, 0 where alpha <= 1e-6. */
  depth: Float32Array;
  /** [H,W] 1 - final transmittance. */
  alpha: Float32Array;
  /** [H,W] label per pixel (0 = none), only when RenderOptions.labels was set. */
  labels?: Uint8Array;
  timings: RenderTimings;
  stats: RenderStats;
}

export interface PickOptions {
  camera: CameraJSON;
  t: number;
  /** Centre pixel (integers, inside the image). */
  x: number;
  y: number;
  /** Odd side of the square patch, clipped to the image; default 5. */
  patch?: number;
  /** As RenderOptions.deformNetwork. */
  deformNetwork?: boolean;
}

export interface PickResult {
  /** [D] mean over the patch pixels of sum_i w_i f_i, w_i = T_i alpha_i, f_i unit features. */
  feature: Float32Array;
  /** Expected camera z at the centre pixel, 0 where alpha <= 1e-6. */
  depth: number;
  /** 1 - T at the centre pixel. */
  alpha: number;
  /** The centre pixel's centre unprojected at `depth`; null where alpha <= 1e-6. */
  worldPoint: [number, number, number] | null;
  /** Gaussian with the largest w_i at the centre pixel (the front-most on ties), -1 if none. */
  topGaussian: number;
  /** Patch pixels inside the image (the feature's divisor). */
  pixels: number;
  /** Whether preprocess + sort were reused from an earlier render / pick of the same camera and t. */
  reused: boolean;
  /** deform / preprocess / sort are 0 when reused. */
  timings: RenderTimings;
}

export interface RegionOptions {
  camera: CameraJSON;
  t: number;
  /** Row spans (y, x0, x1): pixels x0 <= x < x1 of row y; flat Int32Array [S*3] or [[y, x0, x1], ...]. Overlaps count once. */
  spans: Int32Array | number[][];
  /** As RenderOptions.deformNetwork. */
  deformNetwork?: boolean;
}

export interface AppearanceEdit {
  /** [N] opacity multipliers, finite >= 0 (0 hides); null clears; absent keeps the current one. */
  opacityScale?: Float32Array | null;
  /** [N,4] rgb + mix, all in [0,1]: colour = (1 - mix) colour + mix rgb after SH; null clears; absent keeps. */
  tint?: Float32Array | null;
}

export interface SceneOptions {
  /**
   * [N,K,3] SH as fp16 (e.g. the bundle's array), used instead of cloud.sh (which may then be
   * absent). The scene keeps SH as fp16 either way.
   */
  shHalf?: Uint16Array;
  /** Which backend the scene lives on; default defaultBackend(). 'cuda' throws when no device can be used. */
  backend?: BackendName;
}

/** The deformation network as the importer loaded it (SceneBundle.deformNet). */
export interface DeformNetworkInput {
  spec: DeformNetworkSpec;
  tensors: Map<string, Tensor>;
}

export interface DeformResult extends DeformSample {
  /** Native time (device compute + copies). */
  ms: number;
}

export interface SelectResult {
  /** Gaussians whose cosine similarity with the query is >= theta, ascending. */
  ids: Uint32Array;
  /** Native time. */
  ms: number;
}

export interface NativeScene {
  /** N, the number of Gaussians. */
  readonly count: number;
  /** The backend this scene renders on. */
  readonly backend: BackendName;
  /** Adds a keyframe, or replaces the one at exactly kf.t. dxyz [N,3], drot [N,4], dscale [N,3]. */
  addKeyframe(kf: DeformKeyframe): void;
  /** Returns whether a keyframe at exactly t existed. */
  removeKeyframe(t: number): boolean;
  clearKeyframes(): void;
  /** Ascending. */
  keyframeTimes(): number[];
  /** Renders off the event loop; several renders may be in flight at once. */
  render(opts: RenderOptions): Promise<RenderOutput>;
  /**
   * Semantic features, [N,D] fp16. The scene keeps only an L2-normalized fp16 copy (compositing
   * and similarity use unit features; rows with a zero or non-finite norm become zero), so the
   * caller may drop its array. Replaces earlier features.
   */
  setFeatures(half: Uint16Array, dim: number): void;
  /** setFeatures for [N,D] fp16 stored in a file at byteOffset (read once, never through JS). */
  setFeaturesFromFile(path: string, byteOffset: number, dim: number): void;
  /** D of the features set, 0 when none. */
  readonly featureDim: number;
  /** [N] cosine similarity of every Gaussian's feature with query [D] (normalized here; non-zero). */
  similarity(query: Float32Array): Promise<Float32Array>;
  /** Gaussians whose cosine similarity with query [D] is >= theta (thresholded on the backend). */
  select(query: Float32Array, theta: number): Promise<SelectResult>;
  /**
   * The deformation network (the importer's spec and tensors), or null to clear. The CUDA
   * backend runs it (fp16 tensor cores) for deform() and `deformNetwork` requests; the CPU
   * backend keeps onnxruntime (server/deform/runner.ts) and rejects those calls.
   */
  setDeformNetwork(net: DeformNetworkInput | null): void;
  /** The network's deformation of every Gaussian at t (CUDA backend). */
  deform(t: number): Promise<DeformResult>;
  /** Feature, depth and top Gaussian under a pixel (needs setFeatures()). */
  pick(opts: PickOptions): Promise<PickResult>;
  /** [N] sum over the region's pixels of w_i = T_i alpha_i. The region must hold a pixel. */
  regionWeights(opts: RegionOptions): Promise<Float32Array>;
  /** [N] labels, 0 = none, 1..255 (copied); null clears. */
  setLabels(labels: Uint8Array | null): void;
  /** Opacity multipliers and tints applied in preprocess (renders, picks and regions). */
  setAppearance(edit: AppearanceEdit): void;
  /** Frees the scene (requests in flight finish first); later calls throw. */
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Loading

interface AddonCamera {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  worldToCamera: number[];
}

interface AddonNetwork {
  config: Int32Array;
  shapes: Int32Array;
  weights: Float32Array[];
}

interface AddonSceneHandle {
  readonly count: number;
  readonly featureDim: number;
  readonly backend: BackendName;
  setDeformNetwork(net: AddonNetwork | null): void;
  deform(t: number): Promise<DeformResult>;
  select(query: Float32Array, theta: number): Promise<SelectResult>;
  setKeyframe(t: number, dxyz: Float32Array, drot: Float32Array, dscale: Float32Array): void;
  removeKeyframe(t: number): boolean;
  clearKeyframes(): void;
  keyframeTimes(): number[];
  render(opts: { camera: AddonCamera; t: number; background: number[]; labels: boolean; labelThreshold: number; depthAlpha: boolean; deformNetwork: boolean }): Promise<RenderOutput>;
  setFeaturesFromFile(path: string, byteOffset: number, dim: number): void;
  setFeatures(half: Uint16Array, dim: number): void;
  /** setFeatures for [N,D] fp16 stored in a file at byteOffset (read once, never through JS). */
  setFeaturesFromFile(path: string, byteOffset: number, dim: number): void;
  similarity(query: Float32Array): Promise<Float32Array>;
  pick(opts: { camera: AddonCamera; t: number; x: number; y: number; patch: number; deformNetwork: boolean }): Promise<PickResult>;
  regionWeights(opts: { camera: AddonCamera; t: number; spans: Int32Array; deformNetwork: boolean }): Promise<{ weights: Float32Array }>;
  setLabels(labels: Uint8Array | null): void;
  setAppearance(setOpacity: boolean, opacityScale: Float32Array | null, setTint: boolean, tint: Float32Array | null): void;
  dispose(): void;
}

interface Addon {
  Scene: new (
    count: number,
    shDegree: number,
    positions: Float32Array, // [N,3]
    rotations: Float32Array, // [N,4]
    logScales: Float32Array, // [N,3]
    opacityLogits: Float32Array, // [N]
    sh: Float32Array | null, // [N,K,3]
    shHalf: Uint16Array | null, // [N,K,3] fp16, used when given
    backend: BackendName,
  ) => AddonSceneHandle;
  capabilities(): Capabilities;
  deformReference(net: AddonNetwork, xyz: Float32Array, t: number): DeformSample;
  floatToHalf(src: Float32Array, dst?: Uint16Array): Uint16Array;
  halfToFloat(src: Uint16Array, dst?: Float32Array): Float32Array;
}

const CANDIDATES = ['./build/Release/splatsync.node', './build/Debug/splatsync.node'];
let loaded: Addon | undefined;
let loadError: Error | undefined;

/** Whether the addon is built and loads here (never throws). */
export function nativeAvailable(): boolean {
  try {
    addon();
    return true;
  } catch {
    return false;
  }
}

function addon(): Addon {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of CANDIDATES) {
    try {
      loaded = require(path) as Addon;
      return loaded;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  loadError = new Error(
    `The native addon native/build/Release/splatsync.node could not be loaded (${failures.join('; ')}). ` +
      'Run `npm run build:native` to build it (needs a C++17 compiler and node-gyp).',
  );
  throw loadError;
}

// ---------------------------------------------------------------------------------------------
// Validation

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of length ${(v as unknown as ArrayLike<unknown>).length ?? v.byteLength}`;
  if (Array.isArray(v)) return `array of length ${v.length}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return typeof v;
}

function fail(expected: string, what: string, received: string): never {
  throw new TypeError(`Expected ${expected} for ${what} but received ${received}`);
}

function checkFloat32(v: unknown, length: number, shape: string, what: string): Float32Array {
  if (!(v instanceof Float32Array)) fail(`Float32Array of length ${length} (${shape})`, what, describe(v));
  if (v.length !== length) fail(`Float32Array of length ${length} (${shape})`, what, `length ${v.length}`);
  return v;
}

function checkTyped<T extends ArrayBufferView & { length: number }>(
  v: unknown,
  ctor: { new (n: number): T; name: string },
  length: number | undefined,
  shape: string,
  what: string,
): T {
  const expected = length === undefined ? ctor.name : `${ctor.name} of length ${length} (${shape})`;
  if (!(v instanceof ctor)) fail(expected, what, describe(v));
  if (length !== undefined && v.length !== length) fail(expected, what, `length ${v.length}`);
  return v;
}

function checkFinite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('a finite number', what, describe(v));
  return v;
}

function checkInt(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(`an integer in [${lo}, ${hi}]`, what, describe(v));
  return v;
}

function checkObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('an object', what, describe(v));
  return v as Record<string, unknown>;
}

function checkNumbers(v: unknown, length: number, what: string, check: (x: unknown, what: string) => number): number[] {
  const arrayLike = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  if (!arrayLike) fail(`an array of ${length} numbers`, what, describe(v));
  const a = v as ArrayLike<unknown>;
  if (a.length !== length) fail(`an array of ${length} numbers`, what, `length ${a.length}`);
  return Array.from({ length }, (_, i) => check(a[i], `${what}[${i}]`));
}

function checkCamera(v: unknown) {
  const c = checkObject(v, 'camera');
  const width = checkInt(c.width, 1, MAX_IMAGE_SIDE, 'camera.width');
  const height = checkInt(c.height, 1, MAX_IMAGE_SIDE, 'camera.height');
  const fx = checkFinite(c.fx, 'camera.fx');
  const fy = checkFinite(c.fy, 'camera.fy');
  if (fx <= 0) fail('a positive number', 'camera.fx', describe(fx));
  if (fy <= 0) fail('a positive number', 'camera.fy', describe(fy));
  const cx = checkFinite(c.cx, 'camera.cx');
  const cy = checkFinite(c.cy, 'camera.cy');
  const worldToCamera = checkNumbers(c.worldToCamera, 16, 'camera.worldToCamera', checkFinite);
  return { width, height, fx, fy, cx, cy, worldToCamera };
}

function checkBackground(v: unknown): number[] {
  return checkNumbers(v, 3, 'background', (x, what) => {
    const n = checkFinite(x, what);
    if (n < 0 || n > 1) fail('a number in [0, 1]', what, describe(n));
    return n;
  });
}

function checkCloud(v: unknown, opts: SceneOptions | undefined) {
  const c = checkObject(v, 'cloud');
  const o = opts === undefined ? {} : checkObject(opts, 'scene options');
  const n = checkInt(c.count, 0, 2 ** 32 - 2, 'cloud.count');
  const degree = c.shDegree;
  if (degree !== 0 && degree !== 1 && degree !== 2 && degree !== 3) fail('0, 1, 2 or 3', 'cloud.shDegree', describe(degree));
  const K = (degree + 1) * (degree + 1);
  return {
    n,
    degree,
    positions: checkFloat32(c.positions, n * 3, 'N*3', 'positions'),
    rotations: checkFloat32(c.rotations, n * 4, 'N*4', 'rotations'),
    logScales: checkFloat32(c.logScales, n * 3, 'N*3', 'logScales'),
    opacityLogits: checkFloat32(c.opacityLogits, n, 'N', 'opacityLogits'),
    sh: o.shHalf === undefined ? checkFloat32(c.sh, n * K * 3, `N*${K}*3`, 'sh') : null,
    shHalf: o.shHalf === undefined ? null : checkTyped(o.shHalf, Uint16Array, n * K * 3, `N*${K}*3`, 'shHalf'),
  };
}

/** Spans as a flat Int32Array [S*3], each inside the image; throws when they hold no pixel. */
function checkSpans(v: unknown, width: number, height: number): Int32Array {
  let flat: Int32Array;
  if (v instanceof Int32Array) {
    if (v.length % 3 !== 0) fail('an Int32Array of (y, x0, x1) triples', 'spans', `length ${v.length}`);
    flat = v;
  } else if (Array.isArray(v)) {
    flat = new Int32Array(v.length * 3);
    v.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== 3) fail('a [y, x0, x1] triple', `spans[${i}]`, describe(s));
      for (let k = 0; k < 3; k++) {
        const x: unknown = s[k];
        if (typeof x !== 'number' || !Number.isInteger(x)) fail('an integer', `spans[${i}][${k}]`, describe(x));
        flat[i * 3 + k] = x;
      }
    });
  } else {
    fail('an Int32Array of (y, x0, x1) triples or an array of [y, x0, x1]', 'spans', describe(v));
  }
  let pixels = 0;
  for (let i = 0; i < flat.length; i += 3) {
    const y = flat[i]!;
    const x0 = flat[i + 1]!;
    const x1 = flat[i + 2]!;
    if (y < 0 || y >= height) fail(`a row in [0, ${height - 1}]`, `spans[${i / 3}] y`, describe(y));
    if (x0 < 0 || x1 > width || x0 > x1) fail(`0 <= x0 <= x1 <= ${width}`, `spans[${i / 3}]`, `x0 ${x0}, x1 ${x1}`);
    pixels += x1 - x0;
  }
  if (pixels === 0) fail('a region of at least one pixel', 'spans', `${flat.length / 3} spans covering no pixel`);
  return flat;
}

// ---------------------------------------------------------------------------------------------
// API

export function capabilities(): Capabilities {
  return addon().capabilities();
}

/**
 * The backend new scenes use: SPLATSYNC_BACKEND (cpu | cuda) when set, else CUDA when this
 * build has it and a device is present, else CPU. SPLATSYNC_BACKEND=cuda without a usable device
 * throws, saying why (capabilities().cuda.error).
 */
export function defaultBackend(): BackendName {
  const wanted = process.env.SPLATSYNC_BACKEND;
  if (wanted !== undefined && wanted !== '' && wanted !== 'cpu' && wanted !== 'cuda') {
    throw new Error(`SPLATSYNC_BACKEND must be cpu or cuda, got ${JSON.stringify(wanted)}`);
  }
  if (wanted === 'cpu') return 'cpu'; // without probing the GPU (the probe creates a CUDA context)
  const cuda = capabilities().cuda;
  const usable = cuda.compiled && cuda.devices > 0;
  if (wanted === 'cuda' && !usable) {
    throw new Error(`SPLATSYNC_BACKEND=cuda but the CUDA backend cannot be used: ${cuda.error ?? 'no CUDA device'}`);
  }
  return usable ? 'cuda' : 'cpu';
}

/** The importer's network as the addon takes it (see network_arg in src/addon.cc). */
function packNetwork(net: DeformNetworkInput): AddonNetwork {
  const o = checkObject(net, 'network');
  const spec = checkObject(o.spec, 'network.spec') as unknown as DeformNetworkSpec;
  if (!(o.tensors instanceof Map)) fail('a Map of tensors', 'network.tensors', describe(o.tensors));
  const tensors = o.tensors as Map<string, Tensor>;
  const linears: { key: string }[] = [...spec.trunk];
  if (spec.is6dof) linears.push(spec.heads.branchW!, spec.heads.branchV!);
  else linears.push(spec.heads.warp!);
  linears.push(spec.heads.rotation, spec.heads.scaling);
  if (spec.isBlender) linears.push(spec.timenet!.hidden, spec.timenet!.out);
  const shapes = new Int32Array(linears.length * 2);
  const weights: Float32Array[] = [];
  linears.forEach((l, i) => {
    const w = tensors.get(`${l.key}.weight`);
    const b = tensors.get(`${l.key}.bias`);
    if (!w || !b || w.shape.length !== 2) throw new Error(`network: ${l.key}.weight / .bias missing or not a matrix`);
    shapes[2 * i] = w.shape[0]!;
    shapes[2 * i + 1] = w.shape[1]!;
    weights.push(w.data, b.data);
  });
  const config = Int32Array.from([spec.depth, spec.width, spec.xyzMultires, spec.tMultires, spec.isBlender ? 1 : 0, spec.is6dof ? 1 : 0, spec.skips.length, ...spec.skips]);
  return { config, shapes, weights };
}

/**
 * The CUDA deformation kernel's arithmetic emulated on the host (fp16 weights and activations,
 * fp32 accumulation; src/deform_net.cc): xyz [N,3] -> the sample at t. For tests: it checks the
 * weight packing against PyTorch without a GPU, and is what the kernel must match on one.
 */
export function deformReference(net: DeformNetworkInput, xyz: Float32Array, t: number): DeformSample {
  const x = checkTyped(xyz, Float32Array, undefined, '', 'xyz');
  if (x.length % 3 !== 0) fail('a Float32Array of length N*3', 'xyz', describe(x));
  return addon().deformReference(packNetwork(net), x, checkFinite(t, 't'));
}

class Scene implements NativeScene {
  readonly count: number;
  readonly backend: BackendName;
  #handle: AddonSceneHandle | null;

  constructor(handle: AddonSceneHandle, count: number) {
    this.#handle = handle;
    this.count = count;
    this.backend = handle.backend;
  }

  get featureDim(): number {
    return this.#handle?.featureDim ?? 0;
  }

  #live(): AddonSceneHandle {
    if (!this.#handle) throw new Error('This scene has been disposed; create a new one with createScene()');
    return this.#handle;
  }

  addKeyframe(kf: DeformKeyframe): void {
    const h = this.#live();
    const k = checkObject(kf, 'keyframe');
    const t = checkFinite(k.t, 'keyframe.t');
    const n = this.count;
    h.setKeyframe(
      t,
      checkFloat32(k.dxyz, n * 3, 'N*3', 'keyframe.dxyz'),
      checkFloat32(k.drot, n * 4, 'N*4', 'keyframe.drot'),
      checkFloat32(k.dscale, n * 3, 'N*3', 'keyframe.dscale'),
    );
  }

  removeKeyframe(t: number): boolean {
    return this.#live().removeKeyframe(checkFinite(t, 't'));
  }

  clearKeyframes(): void {
    this.#live().clearKeyframes();
  }

  keyframeTimes(): number[] {
    return this.#live().keyframeTimes();
  }

  render(opts: RenderOptions): Promise<RenderOutput> {
    return guard('native render failed', () => {
      const h = this.#live();
      const o = checkObject(opts, 'render options');
      const labels = o.labels === undefined ? false : o.labels;
      if (typeof labels !== 'boolean') fail('a boolean', 'labels', describe(labels));
      const labelThreshold = o.labelThreshold === undefined ? 0.5 : checkFinite(o.labelThreshold, 'labelThreshold');
      if (!(labelThreshold > 0 && labelThreshold <= 1)) fail('a number in (0, 1]', 'labelThreshold', describe(labelThreshold));
      if (labels && !this.#hasLabels) throw new Error('This scene has no labels; call setLabels() before rendering with labels: true');
      const depthAlpha = o.depthAlpha === undefined ? true : o.depthAlpha;
      if (typeof depthAlpha !== 'boolean') fail('a boolean', 'depthAlpha', describe(depthAlpha));
      const request = {
        camera: checkCamera(o.camera),
        t: checkFinite(o.t, 't'),
        background: checkBackground(o.background),
        labels,
        labelThreshold,
        depthAlpha,
        deformNetwork: checkNetworkFlag(o.deformNetwork),
      };
      return h.render(request);
    });
  }

  setFeatures(half: Uint16Array, dim: number): void {
    const h = this.#live();
    const d = checkInt(dim, 1, MAX_FEATURE_DIM, 'dim');
    h.setFeatures(checkTyped(half, Uint16Array, this.count * d, `N*${d}`, 'features'), d);
  }

  setFeaturesFromFile(path: string, byteOffset: number, dim: number): void {
    const h = this.#live();
    const d = checkInt(dim, 1, MAX_FEATURE_DIM, 'dim');
    if (typeof path !== 'string' || path.length === 0) throw new TypeError(`Expected a file path for path but received ${typeof path}`);
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0) throw new RangeError(`Expected a non-negative integer for byteOffset but received ${byteOffset}`);
    h.setFeaturesFromFile(path, byteOffset, d);
  }

  similarity(query: Float32Array): Promise<Float32Array> {
    return guard('native similarity failed', () => {
      const h = this.#live();
      const D = h.featureDim;
      if (D === 0) throw new Error('This scene has no features; call setFeatures() first');
      const q = checkTyped(query, Float32Array, D, 'D', 'query');
      let ss = 0;
      for (let i = 0; i < q.length; i++) {
        if (!Number.isFinite(q[i]!)) fail('finite numbers', `query[${i}]`, describe(q[i]));
        ss += q[i]! * q[i]!;
      }
      if (ss === 0) fail('a non-zero vector', 'query', 'all zeros');
      return h.similarity(q);
    });
  }

  select(query: Float32Array, theta: number): Promise<SelectResult> {
    return guard('native select failed', () => {
      const h = this.#live();
      const D = h.featureDim;
      if (D === 0) throw new Error('This scene has no features; call setFeatures() first');
      const q = checkTyped(query, Float32Array, D, 'D', 'query');
      let ss = 0;
      for (let i = 0; i < q.length; i++) {
        if (!Number.isFinite(q[i]!)) fail('finite numbers', `query[${i}]`, describe(q[i]));
        ss += q[i]! * q[i]!;
      }
      if (ss === 0) fail('a non-zero vector', 'query', 'all zeros');
      return h.select(q, checkFinite(theta, 'theta'));
    });
  }

  setDeformNetwork(net: DeformNetworkInput | null): void {
    const h = this.#live();
    h.setDeformNetwork(net === null ? null : packNetwork(net));
  }

  deform(t: number): Promise<DeformResult> {
    return guard('native deform failed', () => this.#live().deform(checkFinite(t, 't')));
  }

  pick(opts: PickOptions): Promise<PickResult> {
    return guard('native pick failed', () => {
      const h = this.#live();
      const o = checkObject(opts, 'pick options');
      const camera = checkCamera(o.camera);
      const t = checkFinite(o.t, 't');
      const x = checkInt(o.x, 0, camera.width - 1, 'x');
      const y = checkInt(o.y, 0, camera.height - 1, 'y');
      const patch = o.patch === undefined ? 5 : checkInt(o.patch, 1, 2 * MAX_IMAGE_SIDE + 1, 'patch');
      if (patch % 2 === 0) fail('an odd integer', 'patch', describe(patch));
      if (h.featureDim === 0) throw new Error('This scene has no features; call setFeatures() first');
      return h.pick({ camera, t, x, y, patch, deformNetwork: checkNetworkFlag(o.deformNetwork) });
    });
  }

  regionWeights(opts: RegionOptions): Promise<Float32Array> {
    return guard('native regionWeights failed', () => {
      const h = this.#live();
      const o = checkObject(opts, 'region options');
      const camera = checkCamera(o.camera);
      const t = checkFinite(o.t, 't');
      const spans = checkSpans(o.spans, camera.width, camera.height);
      return h.regionWeights({ camera, t, spans, deformNetwork: checkNetworkFlag(o.deformNetwork) }).then((r) => r.weights);
    });
  }

  #hasLabels = false;

  setLabels(labels: Uint8Array | null): void {
    const h = this.#live();
    if (labels === null) {
      h.setLabels(null);
      this.#hasLabels = false;
      return;
    }
    h.setLabels(checkTyped(labels, Uint8Array, this.count, 'N', 'labels'));
    this.#hasLabels = true;
  }

  setAppearance(edit: AppearanceEdit): void {
    const h = this.#live();
    const e = checkObject(edit, 'appearance');
    const n = this.count;
    let opacity: Float32Array | null = null;
    if (e.opacityScale !== undefined && e.opacityScale !== null) {
      opacity = checkFloat32(e.opacityScale, n, 'N', 'opacityScale');
      for (let i = 0; i < n; i++) {
        const v = opacity[i]!;
        if (!(v >= 0 && v < Infinity)) fail('finite numbers >= 0', `opacityScale[${i}]`, describe(v));
      }
    }
    let tint: Float32Array | null = null;
    if (e.tint !== undefined && e.tint !== null) {
      tint = checkFloat32(e.tint, n * 4, 'N*4', 'tint');
      for (let i = 0; i < n * 4; i++) {
        const v = tint[i]!;
        if (!(v >= 0 && v <= 1)) fail('numbers in [0, 1]', `tint[${i}]`, describe(v));
      }
    }
    h.setAppearance(e.opacityScale !== undefined, opacity, e.tint !== undefined, tint);
  }

  dispose(): void {
    this.#handle?.dispose();
    this.#handle = null;
  }
}

function checkNetworkFlag(v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail('a boolean', 'deformNetwork', describe(v));
  return v;
}

/**
 * Runs f (validation, then the native call) so that every failure is a rejected promise whose
 * stack is the caller's (native errors arrive on a later tick without one).
 */
function guard<T>(label: string, f: () => Promise<T>): Promise<T> {
  try {
    const callSite = new Error(label); // keeps the caller's stack across the async hop
    return f().catch((err: unknown) => {
      callSite.message = err instanceof Error ? err.message : String(err);
      (callSite as Error & { cause?: unknown }).cause = err;
      throw callSite;
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A cloud whose SH may be absent when SceneOptions.shHalf carries them. */
export type SceneCloud = Omit<GaussianCloud, 'sh'> & { sh?: Float32Array };

/**
 * Uploads a cloud into a native scene on opts.backend (default defaultBackend()); arrays
 * copied; scales, opacities and rotations activated once; SH stored as fp16. positions [N,3], rotations [N,4], logScales [N,3],
 * opacityLogits [N], sh [N,K,3] with K = (shDegree+1)^2 (or opts.shHalf [N,K,3] fp16).
 */
export function createScene(cloud: SceneCloud, opts?: SceneOptions): NativeScene {
  const c = checkCloud(cloud, opts);
  let backend: BackendName;
  if (opts?.backend === undefined) backend = defaultBackend();
  else if (opts.backend === 'cpu' || opts.backend === 'cuda') backend = opts.backend;
  else fail("'cpu' or 'cuda'", 'backend', describe(opts.backend));
  if (backend === 'cuda') {
    const cuda = capabilities().cuda;
    if (!cuda.compiled || cuda.devices === 0) throw new Error(`The CUDA backend cannot be used: ${cuda.error ?? 'no CUDA device'}`);
  }
  const handle = new (addon().Scene)(c.n, c.degree, c.positions, c.rotations, c.logScales, c.opacityLogits, c.sh, c.shHalf, backend);
  return new Scene(handle, c.n);
}

/**
 * fp32 -> fp16 bits, round to nearest even, bit-identical with server/scene/half.ts
 * (overflow to inf, subnormals, NaN -> sign | 0x7e00). F16C, multi-threaded above ~128K values.
 * dst, when given, must have src's length; otherwise it is allocated.
 */
export function floatToHalf(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const s = checkTyped(src, Float32Array, undefined, '', 'src');
  const d = dst === undefined ? undefined : checkTyped(dst, Uint16Array, s.length, 'src.length', 'dst');
  return addon().floatToHalf(s, d);
}

/** fp16 bits -> fp32, exact (NaN -> the one quiet NaN), bit-identical with server/scene/half.ts. */
export function halfToFloat(src: Uint16Array, dst?: Float32Array): Float32Array {
  const s = checkTyped(src, Uint16Array, undefined, '', 'src');
  const d = dst === undefined ? undefined : checkTyped(dst, Float32Array, s.length, 'src.length', 'dst');
  return addon().halfToFloat(s, d);
}
