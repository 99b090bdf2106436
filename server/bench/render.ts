// Native CPU rasterizer benchmark: synthetic SH-degree-3 scenes of 100K and 1M Gaussians at
// 800x800 and 1920x1080. Each row's median is the JS-observed latency of `render()` (after two
// warm-up renders); its note gives the native per-stage medians and the work done.
//
// The scene: Gaussians spread uniformly through the 16:9 view frustum of a camera at the origin
// looking down +z (OpenCV), depths 3..15, random rotations, anisotropic log-normal scales
// (median std 0.0225 * sqrt(1e5 / N) world units), opacities sigmoid(U[-2, 4]), random SH.
// At 800x800 the 100K scene covers the image (mean alpha 0.98) with ~31 Gaussians per pixel
// inside their 1/255 ellipse; the blend evaluates E ~= 42 Gaussians per pixel (E is printed per
// row: stats.evaluated / (W*H)). 1M: E ~= 82 at 800x800 and ~67 at 1920x1080 (the 0.3 px^2
// low-pass keeps the smaller Gaussians from shrinking below ~2 px). Doubling the 100K scales
// gives E ~= 78 (~70 inside the ellipse per pixel: fog-like overdraw).
import v8 from 'node:v8';
import vm from 'node:vm';
import type { CameraJSON, GaussianCloud } from '../scene/types';
import { createScene, type RenderOutput } from '../../native/index';
import { median, result, type BenchResult } from './types';
import { gaussian, mulberry32 } from '../util/random';

const prng = mulberry32;

const normal = gaussian;

const FOV_Y = Math.PI / 3; // 60 degrees
const TAN_HALF_Y = Math.tan(FOV_Y / 2);
const TAN_HALF_X = TAN_HALF_Y * (16 / 9); // spread for the widest image benchmarked

/** Pinhole camera at the origin looking down +z, 60 degree vertical field of view. */
export function benchCamera(width: number, height: number): CameraJSON {
  const f = height / 2 / TAN_HALF_Y;
  return { width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
}

/**
 * n Gaussians, SH degree 3, spread through the 16:9 frustum of benchCamera between z = 3 and
 * z = 15. Median world-space standard deviation 0.045 * sqrt(1e5 / n).
 */
export function syntheticCloud(n: number, seed = 1): GaussianCloud {
  const rnd = prng(seed);
  const K = 16;
  const cloud: GaussianCloud = {
    count: n,
    shDegree: 3,
    positions: new Float32Array(n * 3),
    rotations: new Float32Array(n * 4),
    logScales: new Float32Array(n * 3),
    opacityLogits: new Float32Array(n),
    sh: new Float32Array(n * K * 3),
  };
  const baseLog = Math.log(0.0225 * Math.sqrt(1e5 / n));
  for (let i = 0; i < n; i++) {
    const z = 3 + 12 * rnd();
    cloud.positions[i * 3] = z * TAN_HALF_X * (2 * rnd() - 1);
    cloud.positions[i * 3 + 1] = z * TAN_HALF_Y * (2 * rnd() - 1);
    cloud.positions[i * 3 + 2] = z;
    for (let k = 0; k < 4; k++) cloud.rotations[i * 4 + k] = normal(rnd);
    const size = baseLog + 0.4 * normal(rnd);
    for (let k = 0; k < 3; k++) cloud.logScales[i * 3 + k] = size + 0.5 * normal(rnd);
    cloud.opacityLogits[i] = -2 + 6 * rnd();
    for (let k = 0; k < K * 3; k++) cloud.sh[i * K * 3 + k] = normal(rnd) * (k < 3 ? 0.8 : 0.15);
  }
  return cloud;
}

export interface BenchRenderOptions {
  /** Fewer runs (CI smoke); the figures are then rougher. */
  quick?: boolean;
  /** Scene sizes; default [1e5, 1e6]. */
  sizes?: number[];
  /** Image sizes; default 800x800 and 1920x1080. */
  resolutions?: Array<[number, number]>;
}

const TARGET_100K_800_MS = 30;

/**
 * A full garbage collection, when one can be had (--expose-gc, or the flag set at runtime):
 * run between timed renders so dropped frames are finalized and the addon recycles their
 * buffers, as happens in a running server; without it every frame first-touches fresh memory.
 */
export function collectGarbage(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

export async function benchRender(opts: BenchRenderOptions = {}): Promise<BenchResult[]> {
  const runs = opts.quick ? 3 : 9;
  const sizes = opts.sizes ?? [100_000, 1_000_000];
  const resolutions = opts.resolutions ?? [
    [800, 800],
    [1920, 1080],
  ];
  const out: BenchResult[] = [];
  const gc = collectGarbage();
  for (const n of sizes) {
    const scene = createScene(syntheticCloud(n));
    try {
      for (const [w, h] of resolutions) {
        const camera = benchCamera(w, h);
        const render = () => scene.render({ camera, t: 0, background: [0, 0, 0] });
        await render(); // warm-up: workspace allocation, page faults, thread start
        await render();
        const wall: number[] = [];
        // Keep only timings and stats: holding the frames would keep the addon from recycling
        // their buffers (it reuses a frame's memory once JS drops it), as a server does.
        const frames: Array<Pick<RenderOutput, 'timings' | 'stats'>> = [];
        for (let r = 0; r < runs; r++) {
          gc?.();
          const t0 = performance.now();
          const f = await render();
          wall.push(performance.now() - t0);
          frames.push({ timings: f.timings, stats: f.stats });
        }
        const stage = (key: keyof RenderOutput['timings']) => median(frames.map((f) => f.timings[key])).toFixed(1);
        const last = frames[frames.length - 1]!;
        const perPixel = last.stats.evaluated / (w * h);
        const note =
          `deform ${stage('deformMs')} + preprocess ${stage('preprocessMs')} + sort/bin ${stage('sortMs')} + blend ${stage('blendMs')} ms` +
          ` (native total ${stage('totalMs')}); visible ${last.stats.visible}, tile entries ${last.stats.tileEntries},` +
          ` E=${perPixel.toFixed(1)} Gaussians evaluated per pixel (${(last.stats.evaluated / 1e6).toFixed(1)}M evaluations,` +
          ` ${(last.stats.evaluated / (Number(stage('blendMs')) * 1e6)).toFixed(2)}e9/s in blend)` +
          (gc ? '; dropped frames collected between runs (buffers recycled)' : '; no gc(): fresh frame memory each run');
        const isTarget = n === 100_000 && w === 800 && h === 800;
        out.push(
          result(`native cpu render ${n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}K`} SH3 ${w}x${h}`, 'ms', wall, isTarget ? TARGET_100K_800_MS : undefined, 'max', note),
        );
      }
    } finally {
      scene.dispose();
    }
  }
  return out;
}
