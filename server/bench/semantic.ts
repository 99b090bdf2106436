// Semantic-selection benchmarks of the native addon (DESIGN.md §1, §9): cosine similarity over
// N x D fp16 features, re-thresholding scores in JS, pick at 800x800, the label channel's
// render overhead, and bulk fp16 conversion. Medians after a warm-up; notes give the detail.
//
// Similarity is memory-bound: it streams N*D*2 bytes once (1M x 384: 768 MB), so its floor is
// that size over the machine's streaming bandwidth (DESIGN.md §9: ~14-23 GB/s here, 33-55 ms).
import { createScene, floatToHalf, halfToFloat, type NativeScene } from '../../native/index';
import type { GaussianCloud } from '../scene/types';
import { benchCamera, collectGarbage, syntheticCloud } from './render';
import { median, result, type BenchResult, timeRuns } from './types';

const TARGET_SIMILARITY_MS = 100;
const TARGET_THRESHOLD_MS = 10;
const TARGET_PICK_MS = 20;
const TARGET_LABEL_OVERHEAD = 1.25;
const TARGET_FP16_MS = 1000; // "well under 1 s" for 384M values

const time = timeRuns;

/** xorshift32 over a Uint32Array: fast filler for large synthetic arrays. */
function fillRandomBits(u32: Uint32Array, seed: number, f: (x: number) => number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < u32.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    u32[i] = f(x >>> 0);
  }
}

/** N x D fp16 features with values in +-[0.5, 1) (two halves per 32-bit word). */
function syntheticFeaturesHalf(n: number, dim: number, seed = 3): Uint16Array {
  const h = new Uint16Array(n * dim);
  fillRandomBits(new Uint32Array(h.buffer, 0, h.length >> 1), seed, (x) => (x & 0x83ff83ff) | 0x38003800);
  return h;
}

/** A scene of n trivial Gaussians (SH degree 0): enough to hold features for similarity. */
function trivialCloud(n: number): GaussianCloud {
  return {
    count: n,
    shDegree: 0,
    positions: new Float32Array(n * 3),
    rotations: new Float32Array(n * 4).fill(1),
    logScales: new Float32Array(n * 3).fill(-3),
    opacityLogits: new Float32Array(n),
    sh: new Float32Array(n * 3),
  };
}

/** Labels for the synthetic render scene: 8 "objects" by position (left/right, up/down, near/far), 1/4 unlabelled. */
function syntheticLabels(cloud: GaussianCloud): Uint8Array {
  const labels = new Uint8Array(cloud.count);
  for (let i = 0; i < cloud.count; i++) {
    const x = cloud.positions[i * 3]!;
    const y = cloud.positions[i * 3 + 1]!;
    const z = cloud.positions[i * 3 + 2]!;
    labels[i] = i % 4 === 0 ? 0 : 1 + (x > 0 ? 1 : 0) + (y > 0 ? 2 : 0) + (z > 9 ? 4 : 0);
  }
  return labels;
}

export async function benchSemantic(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const runs = opts.quick ? 3 : 9;
  const out: BenchResult[] = [];

  // Similarity over 1M x 384 fp16, then re-thresholding the scores in JS.
  {
    const n = opts.quick ? 200_000 : 1_000_000;
    const dim = 384;
    const scene = createScene(trivialCloud(n));
    try {
      const half = syntheticFeaturesHalf(n, dim);
      const t0 = performance.now();
      scene.setFeatures(half, dim);
      const setMs = performance.now() - t0;
      const query = new Float32Array(dim).map((_, i) => Math.sin(i * 0.37));
      let scores: Float32Array = new Float32Array(0);
      const samples = await time(async () => {
        scores = await scene.similarity(query);
      }, runs);
      const bytes = n * dim * 2;
      const ms = median(samples);
      const gbs = bytes / (ms * 1e-3) / 1e9;
      const scale = n / 1e6;
      out.push(
        result(`similarity ${n / 1e6}M x ${dim} fp16`, 'ms', samples, opts.quick ? undefined : TARGET_SIMILARITY_MS, 'max',
          `${(bytes / 1e6).toFixed(0)} MB streamed at ${gbs.toFixed(1)} GB/s (machine ~14-23 GB/s: floor ${(33 * scale).toFixed(0)}-${(55 * scale).toFixed(0)} ms); ` +
            `setFeatures (normalize to unit fp16) ${setMs.toFixed(0)} ms`),
      );
      const theta = 0.1;
      const mask = new Uint8Array(scores.length);
      const thr = await time(() => {
        for (let i = 0; i < scores.length; i++) mask[i] = scores[i]! >= theta ? 1 : 0;
      }, runs * 3, 2);
      out.push(result(`re-threshold ${n / 1e6}M scores in JS (>= theta into Uint8Array)`, 'ms', thr, opts.quick ? undefined : TARGET_THRESHOLD_MS, 'max'));
    } finally {
      scene.dispose();
    }
  }

  // Pick and the label channel on the render benchmark's 100K SH3 scene at 800x800.
  {
    const cloud = syntheticCloud(100_000);
    const scene: NativeScene = createScene(cloud);
    try {
      const dim = 384;
      scene.setFeatures(syntheticFeaturesHalf(cloud.count, dim, 5), dim);
      scene.setLabels(syntheticLabels(cloud));
      const camera = benchCamera(800, 800);
      const background: [number, number, number] = [0, 0, 0];
      let t = 0;
      // Cold: a new t each time (no keyframes, so the same image) defeats the reuse of a render's preparation.
      const cold = await time(() => scene.pick({ camera, t: (t += 1), x: 400, y: 400, patch: 5 }), runs, 2);
      out.push(result('pick 800x800 (100K SH3, D=384, 5x5 patch; preprocess + sort included)', 'ms', cold, TARGET_PICK_MS, 'max'));
      await scene.render({ camera, t: 0.5, background });
      const warm = await time(() => scene.pick({ camera, t: 0.5, x: 300, y: 500, patch: 5 }), runs, 1);
      out.push(result('pick 800x800 after a render of the same view (preparation reused)', 'ms', warm, undefined, 'max'));

      const plain: number[] = [];
      const labelled: number[] = [];
      const blendPlain: number[] = [];
      const blendLabels: number[] = [];
      for (let i = 0; i < 2; i++) {
        await scene.render({ camera, t: 0, background });
        await scene.render({ camera, t: 0, background, labels: true });
      }
      const gc = collectGarbage(); // dropped frames collected between runs, as in a server
      for (let r = 0; r < runs; r++) {
        gc?.();
        let t0 = performance.now();
        let f = await scene.render({ camera, t: 0, background });
        plain.push(performance.now() - t0);
        blendPlain.push(f.timings.blendMs);
        gc?.();
        t0 = performance.now();
        f = await scene.render({ camera, t: 0, background, labels: true });
        labelled.push(performance.now() - t0);
        blendLabels.push(f.timings.blendMs);
      }
      const ratio = labelled.map((l, i) => l / plain[i]!);
      out.push(
        result('render with / without the label channel (100K SH3 800x800, 8 labels)', 'x', ratio, TARGET_LABEL_OVERHEAD, 'max',
          `median ${median(labelled).toFixed(1)} vs ${median(plain).toFixed(1)} ms (blend ${median(blendLabels).toFixed(1)} vs ${median(blendPlain).toFixed(1)} ms)`),
      );
    } finally {
      scene.dispose();
    }
  }

  // fp16 <-> fp32, 384M values (the 1M x 384 feature array), destinations preallocated.
  {
    const n = opts.quick ? 38_400_000 : 384_000_000;
    const f = new Float32Array(n);
    fillRandomBits(new Uint32Array(f.buffer), 7, (x) => (x & 0x807fffff) | 0x3f000000); // +-[0.5, 1)
    const h = new Uint16Array(n);
    const back = new Float32Array(n);
    const encode = await time(() => floatToHalf(f, h), opts.quick ? 2 : 3, 1);
    const decode = await time(() => halfToFloat(h, back), opts.quick ? 2 : 3, 1);
    const label = `${n / 1e6}M values`;
    const gb = (bytes: number, ms: number) => (bytes / (ms * 1e-3) / 1e9).toFixed(1);
    out.push(result(`floatToHalf ${label} (F16C, 2 threads)`, 'ms', encode, opts.quick ? undefined : TARGET_FP16_MS, 'max',
      `${gb(n * 6, median(encode))} GB/s read + written`));
    out.push(result(`halfToFloat ${label} (F16C, 2 threads)`, 'ms', decode, opts.quick ? undefined : TARGET_FP16_MS, 'max',
      `${gb(n * 6, median(decode))} GB/s read + written`));
    // Without a destination the addon allocates it (2 MiB-aligned, huge pages): first-touch
    // page faults included (this VM: ~0.17 ms per MB with huge pages, ~1 ms per MB without).
    const fresh = await time(() => halfToFloat(h), 1, 0);
    out.push(result(`halfToFloat ${label}, destination allocated by the call`, 'ms', fresh, undefined, 'max', 'page faults of the new array included'));
  }
  return out;
}
