// `npm run bench:gpu`: issue 9's GPU figures, with the CPU backend measured in the same run.
//   1M Gaussians (SH3) with 384-D features at 1920x1080:
//   render <= 4 ms, deformation (8x256 MLP) <= 3 ms, similarity (+ threshold) <= 1 ms,
//   end-to-end frame (deform + render + readback + JPEG) >= 100 FPS.
// The scene is server/bench/render.ts' synthetic one (uniform in the view frustum, depths 3..15);
// the network is the 8x256 DeformNetwork of tests/fixtures/deform/default.pth (xyz multires 10,
// t multires 10: ~1 MFLOP per Gaussian) with its three output heads scaled by 0.05 so the
// Gaussians move by trained-network amounts (~0.1) instead of the fixture's O(1).
//
// Usage: node --import tsx server/bench/gpu.ts [--json FILE] [--quick] [--cpu-deform-n N]
// Without a CUDA device it prints why and exits with status 2 (nothing measured).
// SPLATSYNC_GPU_TEST_DRY_RUN=1 runs the script with the CPU backend standing in for CUDA at small
// sizes (checks the script itself; its figures mean nothing for the GPU).
//
// Written in a session WITHOUT a GPU: never run on one yet (bench/gpu.md).
import os from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { capabilities, createScene, type DeformNetworkInput } from '../../native/index';
import { readStateDict, type Tensor } from '../import/pth';
import { inferDeformNetwork } from '../deform/network';
import { DeformRunner } from '../deform/runner';
import { encodeJpeg } from '../render/encode';
import { benchCamera, syntheticCloud } from './render';
import { median, result, type BenchResult } from './types';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dryRun = ['1', 'true', 'yes'].includes((process.env.SPLATSYNC_GPU_TEST_DRY_RUN ?? '').toLowerCase());
const quick = flag('--quick') || dryRun;
const log = (m: string) => process.stderr.write(`${m}\n`);

const N = dryRun ? 100_000 : 1_000_000;
const W = dryRun ? 640 : 1920;
const H = dryRun ? 360 : 1080;
const D = dryRun ? 64 : 384;
const RUNS = quick ? 5 : 30;
const CPU_RUNS = quick ? 2 : 5;
const GPU = dryRun ? 'cpu' : 'cuda';

/** The default fixture network (8x256) with its heads scaled by 0.05. */
function benchNetwork(): DeformNetworkInput {
  const file = path.join(ROOT, 'tests/fixtures/deform/default.pth');
  const sd = readStateDict(readFileSync(file), 'default.pth');
  const tensors = new Map<string, Tensor>();
  for (const [k, v] of sd) {
    const head = /^(gaussian_warp|gaussian_rotation|gaussian_scaling|branch_w|branch_v)\./.test(k);
    tensors.set(k, head ? { ...v, data: v.data.map((x) => x * 0.05) } : v);
  }
  return { spec: inferDeformNetwork(tensors), tensors };
}

/** [n,dim] fp16 features: random halves in [-2, 2] (the values do not change the work). */
function randomHalfFeatures(n: number, dim: number): Uint16Array {
  const out = new Uint16Array(n * dim);
  let s = 0x9e3779b9 | 0;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    // sign | exponent 13..15 (0.0625..2) | random mantissa
    out[i] = (s & 0x8000) | ((13 + ((s >>> 16) % 3)) << 10) | ((s >>> 4) & 0x3ff);
  }
  return out;
}

async function timed<T>(fn: () => Promise<T>, runs: number, warmup = 2): Promise<{ wall: number[]; last: T }> {
  let last: T | undefined;
  for (let i = 0; i < warmup; i++) last = await fn();
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await fn();
    wall.push(performance.now() - t0);
  }
  return { wall, last: last as T };
}

const f1 = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

async function main(): Promise<number> {
  const caps = capabilities();
  if (!dryRun && !(caps.cuda.compiled && caps.cuda.devices > 0)) {
    log(`X`);
    log('Run it on a machine with an NVIDIA GPU, driver >= the CUDA runtime the addon was built with, and `npm run build:native` done with nvcc present.');
    return 2;
  }
  const results: BenchResult[] = [];
  const add = (r: BenchResult) => {
    results.push(r);
    log(`  ${r.name}: ${f1(r.median)} ${r.unit}${r.target !== undefined ? ` (target ${r.targetKind === 'min' ? '>=' : '<='} ${r.target}: ${r.ok ? 'ok' : 'MISSED'})` : ''}`);
  };
  const camera = benchCamera(W, H);
  const label = `${N >= 1e6 ? `${N / 1e6}M` : `${N / 1e3}K`} SH3 ${W}x${H}`;

  log(`scene: ${label}, features ${N} x ${D} fp16${dryRun ? ' (DRY RUN: CPU stands in for CUDA)' : ''}`);
  const cloud = syntheticCloud(N, 1);
  const net = benchNetwork();
  const features = randomHalfFeatures(N, D);
  const gpu = createScene(cloud, { backend: GPU });
  const cpu = createScene(cloud, { backend: 'cpu' });
  gpu.setFeatures(features, D);
  cpu.setFeatures(features, D);
  if (!dryRun) gpu.setDeformNetwork(net);

  // ---- render ----
  log('render...');
  const bg: [number, number, number] = [0, 0, 0];
  {
    const r = await timed(() => gpu.render({ camera, t: 0, background: bg }), RUNS);
    const dev = await timed(() => gpu.render({ camera, t: 0, background: bg, depthAlpha: false }), RUNS);
    const frames = [] as { pre: number; sort: number; blend: number; rb: number }[];
    for (let i = 0; i < RUNS; i++) {
      const f = await gpu.render({ camera, t: 0, background: bg, depthAlpha: false });
      frames.push({ pre: f.timings.preprocessMs, sort: f.timings.sortMs, blend: f.timings.blendMs, rb: f.timings.readbackMs });
    }
    const stages = frames.map((f) => f.pre + f.sort + f.blend);
    const last = dev.last;
    add(result(`${GPU} render ${label} (device: preprocess + sort + blend)`, 'ms', stages, 4, 'max',
      `preprocess ${f1(median(frames.map((f) => f.pre)))} + sort ${f1(median(frames.map((f) => f.sort)))} + blend ${f1(median(frames.map((f) => f.blend)))} ms; readback RGB8 ${f1(median(frames.map((f) => f.rb)))} ms; visible ${last.stats.visible}, tile entries ${last.stats.tileEntries}, ${(last.stats.evaluated / (W * H)).toFixed(1)} evaluations per pixel`));
    add(result(`${GPU} render ${label}, JS-observed, RGB8 readback`, 'ms', dev.wall));
    add(result(`${GPU} render ${label}, JS-observed, RGB8 + depth + alpha readback`, 'ms', r.wall));
    const c = await timed(() => cpu.render({ camera, t: 0, background: bg }), CPU_RUNS, 1);
    add(result(`cpu render ${label} (same run)`, 'ms', c.wall, undefined, 'max', `${os.cpus().length} cores; native total ${f1(c.last.timings.totalMs)} ms`));
    add(result(`render speed-up ${GPU} over cpu`, 'x', [median(c.wall) / median(dev.wall)]));
    // Same frame on both backends?
    const a = await gpu.render({ camera, t: 0, background: bg });
    const b = await cpu.render({ camera, t: 0, background: bg });
    let maxd = 0;
    for (let i = 0; i < a.rgb.length; i++) maxd = Math.max(maxd, Math.abs(a.rgb[i]! - b.rgb[i]!));
    log(`  (${GPU} vs cpu frame: max abs diff ${maxd}/255)`);
  }

  // ---- deformation ----
  log('deformation...');
  let tick = 0;
  const nextT = () => (tick = (tick + 0.137) % 1);
  if (!dryRun) {
    const frames: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const f = await gpu.render({ camera, t: nextT(), background: bg, depthAlpha: false, deformNetwork: true });
      if (i >= 2) frames.push(f.timings.deformMs);
    }
    add(result(`cuda deform ${N} Gaussians, 8x256 MLP (device, inside a render)`, 'ms', frames, 3, 'max', 'fp16 tensor cores, fp32 accumulation; network + deformed covariances'));
    const d = await timed(() => gpu.deform(nextT()), RUNS);
    add(result(`cuda deform() ${N} Gaussians -> host arrays (wall)`, 'ms', d.wall, undefined, 'max', `native ${f1(d.last.ms)} ms incl. ${((N * 40) / 2 ** 20).toFixed(0)} MB readback`));
  }
  {
    const cpuN = Number(option('--cpu-deform-n') ?? (quick ? 20_000 : 100_000));
    const runner = await DeformRunner.create(net.spec, net.tensors);
    const xyz = cloud.positions.subarray(0, cpuN * 3);
    const r = await timed(() => runner.run(xyz, nextT()), quick ? 1 : 3, 1);
    runner.dispose();
    const scaled = (median(r.wall) * N) / cpuN;
    add(result(`cpu deform ${N} Gaussians (onnxruntime, measured on ${cpuN}, scaled)`, 'ms', [scaled], undefined, 'max', `${f1(median(r.wall))} ms for ${cpuN}, ${os.cpus().length} cores`));
  }

  // ---- similarity ----
  log('similarity...');
  {
    const q = Float32Array.from({ length: D }, (_, i) => Math.sin(i * 0.37) + 0.1);
    const sel = await timed(() => gpu.select(q, 0.2), RUNS);
    add(result(`${GPU} similarity + threshold ${N} x ${D} fp16 (select, wall)`, 'ms', sel.wall, 1, 'max', `native ${f1(sel.last.ms)} ms; ${sel.last.ids.length} selected`));
    const sim = await timed(() => gpu.similarity(q), RUNS);
    add(result(`${GPU} similarity ${N} x ${D} -> [N] scores (wall)`, 'ms', sim.wall, undefined, 'max', `${((N * 4) / 2 ** 20).toFixed(1)} MB readback`));
    const c = await timed(() => cpu.select(q, 0.2), CPU_RUNS, 1);
    add(result(`cpu similarity + threshold ${N} x ${D} (same run)`, 'ms', c.wall));
    add(result(`similarity speed-up ${GPU} over cpu`, 'x', [median(c.wall) / median(sel.wall)]));
  }

  // ---- end to end ----
  log('end-to-end frames...');
  {
    const frame = async () => {
      const f = await gpu.render({ camera, t: nextT(), background: bg, depthAlpha: false, deformNetwork: !dryRun });
      return encodeJpeg(f.rgb, f.width, f.height);
    };
    const seq = await timed(frame, RUNS);
    add(result(`${GPU} end-to-end frame ${label} (deform + render + readback + JPEG), sequential`, 'ms', seq.wall, undefined, 'max', `${(1000 / median(seq.wall)).toFixed(0)} FPS one frame at a time`));
    // Throughput as the server runs it: the JPEG of frame k is encoded while frame k+1 renders.
    const frames = RUNS * 2;
    const t0 = performance.now();
    let pending: Promise<Buffer> | null = null;
    for (let i = 0; i < frames; i++) {
      const f = await gpu.render({ camera, t: nextT(), background: bg, depthAlpha: false, deformNetwork: !dryRun });
      if (pending) await pending;
      pending = encodeJpeg(f.rgb, f.width, f.height);
    }
    if (pending) await pending;
    const fps = (frames * 1000) / (performance.now() - t0);
    add(result(`${GPU} end-to-end throughput ${label}, JPEG overlapped with the next frame`, 'FPS', [fps], 100, 'min', `${frames} frames; sharp q80, one libvips thread per image`));
    const c = await timed(async () => {
      const f = await cpu.render({ camera, t: 0, background: bg });
      return encodeJpeg(f.rgb, f.width, f.height);
    }, CPU_RUNS, 1);
    add(result(`cpu frame ${label} (render + JPEG, no deformation), same run`, 'FPS', [1000 / median(c.wall)]));
  }

  gpu.dispose();
  cpu.dispose();

  const c = capabilities().cuda;
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    (dryRun ? 'DRY RUN (CPU standing in for CUDA)' : `${c.device} (cc ${c.computeCapability}, ${((c.memoryBytes ?? 0) / 2 ** 30).toFixed(0)} GiB), CUDA runtime ${c.runtimeVersion}, driver ${c.driverVersion}`);
  const nameW = Math.max(...results.map((r) => r.name.length));
  const lines = [`machine: ${machine}`, '', `${'benchmark'.padEnd(nameW)}  ${'median'.padStart(10)}  unit  ${'target'.padStart(8)}  ok`];
  for (const r of results) {
    const target = r.target === undefined ? '' : `${r.targetKind === 'min' ? '>=' : '<='}${r.target}`;
    const ok = r.ok === undefined ? '  ' : r.ok ? 'yes' : 'NO';
    lines.push(`${r.name.padEnd(nameW)}  ${f1(r.median).padStart(10)}  ${r.unit.padEnd(4)}  ${target.padStart(8)}  ${ok}${r.note ? `  (${r.note})` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const json = option('--json');
  if (json) writeFileSync(json, `${JSON.stringify({ machine, results }, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`bench:gpu failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);

