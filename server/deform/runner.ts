// Runs DeformNetwork (onnx-model.ts) with onnxruntime-node on the CPU: one session per
// network, inputs fed in batches so memory stays bounded for millions of Gaussians
// (activations of one batch: about batch x (W + inputs) x 4 bytes per layer).
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../import/pth';
import type { DeformSample } from '../scene/types';
import type { DeformNetworkSpec } from './network';
import { buildDeformOnnx } from './onnx-model';

export const DEFAULT_DEFORM_BATCH = 65536;

export interface DeformRunnerOptions {
  /** Intra-op threads; default: every core. */
  threads?: number;
}

export interface DeformRunOptions {
  /** Gaussians per session run (default 65536). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

export class DeformRunner {
  private constructor(
    readonly spec: DeformNetworkSpec,
    private session: ort.InferenceSession | null,
    readonly threads: number,
  ) {}

  static async create(spec: DeformNetworkSpec, sd: Map<string, Tensor>, opts: DeformRunnerOptions = {}): Promise<DeformRunner> {
    const model = buildDeformOnnx(spec, sd);
    const threads = Math.max(1, opts.threads ?? os.availableParallelism());
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
    return new DeformRunner(spec, session, threads);
  }

  /** Deformation of every Gaussian at time t. `xyz` is [N,3] canonical centres. */
  async run(xyz: Float32Array, t: number, opts: DeformRunOptions = {}): Promise<DeformSample> {
    const session = this.session;
    if (!session) throw new Error('DeformRunner: run() after dispose()');
    if (xyz.length % 3 !== 0) throw new Error(`DeformRunner: xyz has ${xyz.length} floats, not a multiple of 3`);
    if (!Number.isFinite(t)) throw new Error(`DeformRunner: t = ${t} is not a finite number`);
    const n = xyz.length / 3;
    const batch = Math.max(1, Math.floor(opts.batch ?? DEFAULT_DEFORM_BATCH));
    const out: DeformSample = { dxyz: new Float32Array(n * 3), drot: new Float32Array(n * 4), dscale: new Float32Array(n * 3) };
    const tAll = new Float32Array(Math.min(batch, n)).fill(t);
    for (let start = 0; start < n; start += batch) {
      const m = Math.min(batch, n - start);
      const feeds = {
        xyz: new ort.Tensor('float32', xyz.subarray(start * 3, (start + m) * 3), [m, 3]),
        t: new ort.Tensor('float32', tAll.subarray(0, m), [m, 1]),
      };
      const r = await session.run(feeds);
      out.dxyz.set(r.d_xyz!.data as Float32Array, start * 3);
      out.drot.set(r.d_rotation!.data as Float32Array, start * 4);
      out.dscale.set(r.d_scaling!.data as Float32Array, start * 3);
      for (const v of Object.values(r)) v.dispose();
      opts.onProgress?.(start + m, n);
    }
    return out;
  }

  dispose(): void {
    void this.session?.release();
    this.session = null;
  }
}
