// The deformation network on the GPU (fp16 tensor cores, fp32 accumulation; src/cuda/deform.cu)
// against the importer's PyTorch fixtures (tests/fixtures/deform, made by real PyTorch), against
// the host emulation of the kernel's arithmetic (deformReference, src/deform_net.cc), against
// onnxruntime on the real third-party deform.pth, and rendering with it. Issue 9,
// `npm run test:gpu`; skipped, saying why, without a CUDA device.
//
// Tolerances. The issue asks for <= 1e-3. The host emulation (runnable without a GPU; the
// "emulation" lines below) shows what fp16 weights and activations cost by themselves: on the
// real trained network (../shared/realdata) about 1e-4, well inside 1e-3; on the fixtures, whose
// synthetic weights are scaled up 2.4x to keep their outputs O(1) (make_deform_fixtures.py), 1.7e-3
// to 6.7e-3, i.e. the fp16 arithmetic alone is outside 1e-3 there. So: the real network is held to
// 1e-3; each fixture to max(1e-3, 1.5 x its emulation error + 2e-4) (no worse than fp16 itself); the
// kernel to the emulation within 2e-3 (same roundings, different fp32 summation order).
//
// Written in a session WITHOUT a GPU: never run yet (bench/gpu.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScene, deformReference, type DeformNetworkInput } from '../../native/index';
import { readStateDict } from '../../server/import/pth';
import { inferDeformNetwork } from '../../server/deform/network';
import { DeformRunner } from '../../server/deform/runner';
import { makeCamera } from '../../server/scene/camera';
import type { GaussianCloud } from '../../server/scene/types';
import { mulberry32 } from '../../server/util/random';
import { randomCloud } from '../helpers/random-scene';
import { compareFrames, fmt, maxAbsDiff, skipUnlessRealCuda } from './helpers';

const skip = skipUnlessRealCuda();
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = path.join(ROOT, 'tests/fixtures/deform');
const REAL_PTH = path.resolve(ROOT, '../shared/realdata/deformable3dgs-deform-pth/deform_iteration_10000.pth');
const VARIANTS = ['default', 'blender', 'sixdof', 'blender_sixdof', 'small', 'small_fp16', 'narrow42'];

interface Fixture {
  xyz: number[];
  outputs: { t: number; d_xyz: number[]; d_rotation: number[]; d_scaling: number[] }[];
}

function network(file: string, hints = {}): DeformNetworkInput {
  const tensors = readStateDict(readFileSync(file), path.basename(file));
  return { spec: inferDeformNetwork(tensors, hints), tensors };
}

/** A cloud whose centres are xyz (the network's inputs), the rest random. */
function cloudAt(xyz: Float32Array, seed: number): GaussianCloud {
  const n = xyz.length / 3;
  const c = randomCloud(n, 1, seed);
  c.positions.set(xyz);
  return c;
}

for (const name of VARIANTS) {
  test(`${name}: GPU deformation vs PyTorch and vs the host emulation`, { skip }, async (t) => {
    const fx = JSON.parse(readFileSync(path.join(FIX, `${name}.json`), 'utf8')) as Fixture;
    const net = network(path.join(FIX, `${name}.pth`));
    const xyz = Float32Array.from(fx.xyz);
    const scene = createScene(cloudAt(xyz, 1), { backend: 'cuda' });
    scene.setDeformNetwork(net);
    try {
      for (const o of fx.outputs) {
        const gpu = await scene.deform(o.t);
        const emu = deformReference(net, xyz, o.t);
        const vsTorch = Math.max(maxAbsDiff(gpu.dxyz, o.d_xyz), maxAbsDiff(gpu.drot, o.d_rotation), maxAbsDiff(gpu.dscale, o.d_scaling));
        const emuVsTorch = Math.max(maxAbsDiff(emu.dxyz, o.d_xyz), maxAbsDiff(emu.drot, o.d_rotation), maxAbsDiff(emu.dscale, o.d_scaling));
        const vsEmu = Math.max(maxAbsDiff(gpu.dxyz, emu.dxyz), maxAbsDiff(gpu.drot, emu.drot), maxAbsDiff(gpu.dscale, emu.dscale));
        const tol = Math.max(1e-3, 1.5 * emuVsTorch + 2e-4);
        t.diagnostic(`${name} t=${o.t}: GPU vs PyTorch ${fmt(vsTorch)} (emulation vs PyTorch ${fmt(emuVsTorch)}; tolerance ${fmt(tol)}), GPU vs emulation ${fmt(vsEmu)}, ${fmt(gpu.ms)} ms`);
        assert.ok(vsTorch <= tol, `${name} t=${o.t}: GPU vs PyTorch ${vsTorch} > ${tol}`);
        assert.ok(vsEmu <= 2e-3, `${name} t=${o.t}: GPU vs emulation ${vsEmu}`);
      }
    } finally {
      scene.dispose();
    }
  });
}

test('the real deform.pth: GPU vs onnxruntime (fp32) within 1e-3', { skip: skip || (!existsSync(REAL_PTH) && `${REAL_PTH} is not here`) }, async (t) => {
  const net = network(REAL_PTH, { tMultires: 10 });
  const rnd = mulberry32(5);
  const n = 20_000;
  const xyz = Float32Array.from({ length: n * 3 }, () => (rnd() * 2 - 1) * 1.3);
  const scene = createScene(cloudAt(xyz, 2), { backend: 'cuda' });
  scene.setDeformNetwork(net);
  const runner = await DeformRunner.create(net.spec, net.tensors, { threads: 2 });
  try {
    for (const time of [0, 0.3, 0.77, 1]) {
      const ref = await runner.run(xyz, time);
      const gpu = await scene.deform(time);
      const e = Math.max(maxAbsDiff(gpu.dxyz, ref.dxyz), maxAbsDiff(gpu.drot, ref.drot), maxAbsDiff(gpu.dscale, ref.dscale));
      t.diagnostic(`t=${time}: max abs ${fmt(e)}, ${fmt(gpu.ms)} ms for ${n}`);
      assert.ok(e <= 1e-3, `t=${time}: ${e}`);
    }
  } finally {
    runner.dispose();
    scene.dispose();
  }
});

test('rendering with the network on the device equals rendering its output as a keyframe', { skip }, async (t) => {
  const net = network(path.join(FIX, 'small.pth'));
  const n = 5000;
  const rnd = mulberry32(7);
  const xyz = Float32Array.from({ length: n * 3 }, () => (rnd() * 2 - 1) * 1.2);
  const cloud = cloudAt(xyz, 3);
  // The fixture network moves things by O(1): scale its outputs down through the scene instead
  // of the weights, by rendering from far enough away that the frame is not empty.
  const camera = makeCamera(160, 120, 0.9, [0.5, -0.3, 9], [0, 0, 0]);
  const gpu = createScene(cloud, { backend: 'cuda' });
  const cpu = createScene(cloud, { backend: 'cpu' });
  gpu.setDeformNetwork(net);
  gpu.setFeatures(new Uint16Array(n * 8).fill(0x3c00), 8);
  try {
    for (const time of [0, 0.4, 1]) {
      const sample = await gpu.deform(time);
      cpu.clearKeyframes();
      cpu.addKeyframe({ t: time, dxyz: sample.dxyz, drot: sample.drot, dscale: sample.dscale });
      const a = await gpu.render({ camera, t: time, background: [0, 0, 0], deformNetwork: true });
      const b = await cpu.render({ camera, t: time, background: [0, 0, 0] });
      const d = compareFrames(a, b);
      t.diagnostic(`t=${time}: max ${d.maxRgb}/255 mean ${fmt(d.meanRgb)}/255; deform ${fmt(a.timings.deformMs)} ms; visible ${a.stats.visible}`);
      assert.ok(d.maxRgb <= 2 && d.meanRgb <= 0.25, `t=${time}: max ${d.maxRgb}, mean ${d.meanRgb}`);
      // Picks follow the same preparation: reused after a render of the same view and mode only.
      assert.equal((await gpu.pick({ camera, t: time, x: 80, y: 60, deformNetwork: true })).reused, true);
      assert.equal((await gpu.pick({ camera, t: time, x: 80, y: 60 })).reused, false);
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

test('deform() and deformNetwork are refused on the CPU backend with a clear message', async () => {
  const net = network(path.join(FIX, 'small.pth'));
  const scene = createScene(randomCloud(10, 0, 1), { backend: 'cpu' });
  scene.setDeformNetwork(net);
  await assert.rejects(scene.deform(0.5), /CPU backend does not run the deformation network/);
  await assert.rejects(scene.render({ camera: makeCamera(8, 8, 1, [0, 0, 3], [0, 0, 0]), t: 0, background: [0, 0, 0], deformNetwork: true }), /need the CUDA backend/);
  scene.dispose();
});

test('deformReference (host emulation) matches PyTorch to fp16 precision on every fixture variant', async (t) => {
  for (const name of VARIANTS) {
    const fx = JSON.parse(readFileSync(path.join(FIX, `${name}.json`), 'utf8')) as Fixture;
    const net = network(path.join(FIX, `${name}.pth`));
    let worst = 0;
    for (const o of fx.outputs) {
      const s = deformReference(net, Float32Array.from(fx.xyz), o.t);
      worst = Math.max(worst, maxAbsDiff(s.dxyz, o.d_xyz), maxAbsDiff(s.drot, o.d_rotation), maxAbsDiff(s.dscale, o.d_scaling));
    }
    t.diagnostic(`${name}: emulation vs PyTorch ${fmt(worst)}`);
    // fp16 weights and activations: a few 1e-3 on these high-gain synthetic networks; a packing
    // mistake (wrong column order, a missed skip or t fold) gives errors of O(0.1..1).
    assert.ok(worst <= 1e-2, `${name}: ${worst}`);
  }
});

test('deformReference (host emulation) is within 1e-3 of onnxruntime on the real deform.pth', { skip: !existsSync(REAL_PTH) && `${REAL_PTH} is not here` }, async (t) => {
  const net = network(REAL_PTH, { tMultires: 10 });
  const rnd = mulberry32(5);
  const n = 2000;
  const xyz = Float32Array.from({ length: n * 3 }, () => (rnd() * 2 - 1) * 1.3);
  const runner = await DeformRunner.create(net.spec, net.tensors, { threads: 2 });
  try {
    for (const time of [0, 0.3, 0.77, 1]) {
      const ref = await runner.run(xyz, time);
      const emu = deformReference(net, xyz, time);
      const e = Math.max(maxAbsDiff(emu.dxyz, ref.dxyz), maxAbsDiff(emu.drot, ref.drot), maxAbsDiff(emu.dscale, ref.dscale));
      t.diagnostic(`t=${time}: emulation vs onnxruntime ${fmt(e)}`);
      assert.ok(e <= 1e-3, `t=${time}: ${e}`);
    }
  } finally {
    runner.dispose();
  }
});
