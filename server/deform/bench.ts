// Benchmark: DeformNetwork on the CPU (onnxruntime-node), milliseconds per new t for 100K and
// 1M Gaussians with the full 8x256 MLP (xyz multires 10, t multires 10), and the FLOP rate
// that implies (flopsPerGaussian ≈ 1.0 MFLOP per Gaussian per t).
import os from 'node:os';
import type { Tensor } from '../import/pth';
import { median, result, type BenchResult } from '../bench/types';
import { flopsPerGaussian, inferDeformNetwork } from './network';
import { DEFAULT_DEFORM_BATCH, DeformRunner } from './runner';

/** A DeformNetwork-shaped state_dict with seeded uniform(-1/√in, 1/√in) weights (PyTorch's default range). */
export function syntheticDeformStateDict(opts: { D?: number; W?: number; xyzMultires?: number; tMultires?: number; seed?: number } = {}): Map<string, Tensor> {
  const D = opts.D ?? 8;
  const W = opts.W ?? 256;
  const inDim = 3 + 6 * (opts.xyzMultires ?? 10) + 1 + 2 * (opts.tMultires ?? 10);
  const skip = D >> 1;
  let s = (opts.seed ?? 12345) >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const sd = new Map<string, Tensor>();
  const lin = (key: string, out: number, inF: number) => {
    const k = 1 / Math.sqrt(inF);
    const w = new Float32Array(out * inF).map(() => (rnd() * 2 - 1) * k);
    const b = new Float32Array(out).map(() => (rnd() * 2 - 1) * k);
    sd.set(`${key}.weight`, { dtype: 'float32', shape: [out, inF], data: w, device: 'cpu' });
    sd.set(`${key}.bias`, { dtype: 'float32', shape: [out], data: b, device: 'cpu' });
  };
  lin('linear.0', W, inDim);
  for (let i = 1; i < D; i++) lin(`linear.${i}`, W, i - 1 === skip ? W + inDim : W);
  lin('gaussian_warp', 3, W);
  lin('gaussian_rotation', 4, W);
  lin('gaussian_scaling', 3, W);
  return sd;
}

export async function benchDeform(opts: { quick?: boolean; log?: (m: string) => void } = {}): Promise<BenchResult[]> {
  const log = opts.log ?? (() => {});
  const sd = syntheticDeformStateDict();
  const spec = inferDeformNetwork(sd);
  const flops = flopsPerGaussian(spec);
  const threads = os.availableParallelism();
  const runner = await DeformRunner.create(spec, sd, { threads });
  const results: BenchResult[] = [];
  try {
    for (const n of [100_000, 1_000_000]) {
      const runs = opts.quick ? (n >= 1_000_000 ? 1 : 2) : n >= 1_000_000 ? 3 : 5;
      const xyz = new Float32Array(n * 3);
      for (let i = 0; i < xyz.length; i++) xyz[i] = Math.sin(i * 12.9898) * 1.5;
      // Warm-up: one batch (first-run allocations, weight pre-packing).
      await runner.run(xyz.subarray(0, Math.min(n, DEFAULT_DEFORM_BATCH) * 3), 0.5);
      const samples: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t = (r + 1) / (runs + 1); // a new t each run: nothing to reuse
        const t0 = performance.now();
        await runner.run(xyz, t);
        samples.push(performance.now() - t0);
      }
      const ms = median(samples);
      const gflops = (flops * n) / (ms * 1e-3) / 1e9;
      const label = n >= 1_000_000 ? `${n / 1e6}M` : `${n / 1e3}K`;
      log(`deform ${label}: ${ms.toFixed(0)} ms per t, ${gflops.toFixed(1)} GFLOP/s`);
      results.push(
        result(`deform ${label} Gaussians, new t (CPU, 8x256 MLP)`, 'ms', samples, undefined, 'max',
          `onnxruntime-node cpu, ${threads} threads, batch ${DEFAULT_DEFORM_BATCH}; ${(flops / 1e6).toFixed(3)} MFLOP/Gaussian -> ${gflops.toFixed(1)} GFLOP/s; ${runs} runs`),
      );
      results.push(result(`deform ${label} Gaussians throughput (CPU)`, 'GFLOP/s', samples.map((m) => (flops * n) / (m * 1e-3) / 1e9), undefined, 'min', `${threads} threads`));
    }
  } finally {
    runner.dispose();
  }
  return results;
}
