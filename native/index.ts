// The only door to the native addon (native/build/Release/splatsync.node). Everything that
// crosses into C++ is validated here first, with errors of the form
// "Expected X for Y but received Z"; the binding (src/addon.cc) only re-checks sizes.
//
// Call chain: createScene() -> new addon.Scene (src/addon.cc, copies + activates the cloud in
// src/scene.cc) -> NativeScene.render() -> RenderWorker (libuv thread) -> Scene::render ->
// cpu::render_frame: deform -> preprocess -> sort_and_bin -> blend_tiles (src/cpu/*).
// The math every backend computes is docs/RENDERING.md; src/common/ holds the shared part.
import { createRequire } from 'node:module';
import type { CameraJSON, DeformKeyframe, GaussianCloud } from '../server/scene/types';

/** Largest image side a render accepts, in pixels. */
export const MAX_IMAGE_SIDE = 4096;

export interface Capabilities {
  cpu: true;
  cuda: { compiled: boolean; devices: number };
  /** SIMD level the CPU backend was compiled for, e.g. "avx2+fma", "avx512f". */
  simd: string;
  /** Threads the CPU backend uses per render. */
  threads: number;
}

export interface RenderOptions {
  camera: CameraJSON;
  /** Time; selects or interpolates the scene's keyframes (docs/RENDERING.md "Inputs"). */
  t: number;
  /** RGB in [0,1]. */
  background: [number, number, number];
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
  timings: RenderTimings;
  stats: RenderStats;
}

export interface NativeScene {
  /** N, the number of Gaussians. */
  readonly count: number;
  /** Adds a keyframe, or replaces the one at exactly kf.t. dxyz [N,3], drot [N,4], dscale [N,3]. */
  addKeyframe(kf: DeformKeyframe): void;
  /** Returns whether a keyframe at exactly t existed. */
  removeKeyframe(t: number): boolean;
  clearKeyframes(): void;
  /** Ascending. */
  keyframeTimes(): number[];
  /** Renders off the event loop; several renders may be in flight at once. */
  render(opts: RenderOptions): Promise<RenderOutput>;
  /** Frees the scene (renders in flight finish first); later calls throw. */
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Loading

interface AddonSceneHandle {
  readonly count: number;
  setKeyframe(t: number, dxyz: Float32Array, drot: Float32Array, dscale: Float32Array): void;
  removeKeyframe(t: number): boolean;
  clearKeyframes(): void;
  keyframeTimes(): number[];
  render(opts: {
    camera: { width: number; height: number; fx: number; fy: number; cx: number; cy: number; worldToCamera: number[] };
    t: number;
    background: number[];
  }): Promise<RenderOutput>;
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
    sh: Float32Array, // [N,K,3]
  ) => AddonSceneHandle;
  capabilities(): Capabilities;
}

const CANDIDATES = ['./build/Release/splatsync.node', './build/Debug/splatsync.node'];
let loaded: Addon | undefined;

function addon(): Addon {
  if (loaded) return loaded;
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
  throw new Error(
    `The native addon native/build/Release/splatsync.node could not be loaded (${failures.join('; ')}). ` +
      'Run `npm run build:native` to build it (needs a C++17 compiler and node-gyp).',
  );
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

function checkCloud(v: unknown) {
  const c = checkObject(v, 'cloud');
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
    sh: checkFloat32(c.sh, n * K * 3, `N*${K}*3`, 'sh'),
  };
}

// ---------------------------------------------------------------------------------------------
// API

export function capabilities(): Capabilities {
  return addon().capabilities();
}

class Scene implements NativeScene {
  readonly count: number;
  #handle: AddonSceneHandle | null;

  constructor(handle: AddonSceneHandle, count: number) {
    this.#handle = handle;
    this.count = count;
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
    try {
      const h = this.#live();
      const o = checkObject(opts, 'render options');
      const request = { camera: checkCamera(o.camera), t: checkFinite(o.t, 't'), background: checkBackground(o.background) };
      const callSite = new Error('native render failed'); // keeps the caller's stack across the async hop
      return h.render(request).catch((err: unknown) => {
        callSite.message = err instanceof Error ? err.message : String(err);
        (callSite as Error & { cause?: unknown }).cause = err;
        throw callSite;
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  dispose(): void {
    this.#handle?.dispose();
    this.#handle = null;
  }
}

/**
 * Uploads a cloud into a native scene (arrays copied; scales, opacities and rotations
 * activated once). positions [N,3], rotations [N,4], logScales [N,3], opacityLogits [N],
 * sh [N,K,3] with K = (shDegree+1)^2.
 */
export function createScene(cloud: GaussianCloud): NativeScene {
  const c = checkCloud(cloud);
  const handle = new (addon().Scene)(c.n, c.degree, c.positions, c.rotations, c.logScales, c.opacityLogits, c.sh);
  return new Scene(handle, c.n);
}
