// Issue 4 benchmarks: import throughput of a synthetic DGD-sized .ply (1M Gaussians, 384-D
// features, SH degree 3), bundle load time, resident memory of a loaded scene (measured in a
// child process so the figure is the scene's alone), and render time once deformation is cached.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePly } from '../scene/ply';
import { SceneStore } from '../scene/store';
import { importModel } from '../import/index';
import { loadBundle } from '../scene/bundle';
import { SceneRuntime } from '../render/runtime';
import type { GaussianCloud } from '../scene/types';
import { result, type BenchResult } from './types';

/** Random but scene-like: Gaussians in a 4-unit box, small scales, mostly opaque. */
export function syntheticCloud(n: number, featureDim: number, seed = 1): { cloud: GaussianCloud; features: { dim: number; data: Float32Array } } {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296);
  const k = 16;
  const cloud: GaussianCloud = {
    count: n,
    shDegree: 3,
    positions: new Float32Array(n * 3).map(() => rnd() * 4 - 2),
    rotations: new Float32Array(n * 4).map(() => rnd() * 2 - 1),
    logScales: new Float32Array(n * 3).map(() => Math.log(0.005 + rnd() * 0.02)),
    opacityLogits: new Float32Array(n).map(() => rnd() * 6 - 1),
    sh: new Float32Array(n * k * 3).map((_, i) => (i % (k * 3) < 3 ? rnd() * 2 - 1 : (rnd() - 0.5) * 0.1)),
  };
  const features = { dim: featureDim, data: new Float32Array(n * featureDim).map(() => rnd() * 2 - 1) };
  return { cloud, features };
}

export async function benchImport(opts: { quick?: boolean; log?: (m: string) => void } = {}): Promise<BenchResult[]> {
  const log = opts.log ?? (() => {});
  const n = opts.quick ? 200_000 : 1_000_000;
  const out: BenchResult[] = [];
  const root = mkdtempSync(path.join(os.tmpdir(), 'splatsync-bench-import-'));
  try {
    log(`writing a synthetic ${n}-Gaussian, 384-D .ply...`);
    const { cloud, features } = syntheticCloud(n, 384);
    const plyPath = path.join(root, 'model/point_cloud/iteration_1/point_cloud.ply');
    mkdirSync(path.dirname(plyPath), { recursive: true });
    writeFileSync(plyPath, writePly({ cloud, features }));
    const mb = statSync(plyPath).size / 1e6;
    const store = new SceneStore(path.join(root, 'data'));
    const imports: number[] = [];
    let sceneId = '';
    for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
      const t0 = performance.now();
      const res = await importModel(store, { modelDir: path.join(root, 'model'), name: `bench${i}` });
      imports.push(mb / ((performance.now() - t0) / 1000));
      sceneId = res.sceneId;
    }
    out.push(result(`import ${n / 1e6}M x 384-D .ply (${mb.toFixed(0)} MB)`, 'MB/s', imports, 300, 'min'));
    const loads: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await loadBundle(store.dirOf(sceneId), { featuresOnDisk: true });
      loads.push(performance.now() - t0);
    }
    out.push(result(`bundle load ${n / 1e6}M x 384-D`, 'ms', loads, n === 1_000_000 ? 500 : undefined, 'max', 'header + geometry + fp16 SH; features stay on disk for the native scene'));
    const ready: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const rt = await SceneRuntime.load(store, sceneId, 'cpu');
      ready.push(performance.now() - t0);
      rt.dispose();
    }
    out.push(result(`scene ready ${n / 1e6}M x 384-D (load + native upload + features normalized)`, 'ms', ready, undefined, 'max'));

    log('resident memory of the loaded scene (child process)...');
    const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), 'memory-probe.ts');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe, store.dataDir, sceneId], { encoding: 'utf8' });
    if (r.status === 0) {
      const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rssMB: number; baselineMB: number };
      out.push(result(`resident memory, ${n / 1e6}M x 384-D scene loaded`, 'MB', [m.rssMB - m.baselineMB], n === 1_000_000 ? 1200 : undefined, 'max', `process RSS ${m.rssMB.toFixed(0)} MB minus ${m.baselineMB.toFixed(0)} MB before loading`));
    } else {
      log(`memory probe failed: ${r.stderr}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}
