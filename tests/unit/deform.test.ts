// DeformNetwork: variant inference from state_dict shapes, and ONNX (onnxruntime-node) parity
// with PyTorch's own outputs for every variant (fixtures: tests/fixtures/deform/, made by
// make_deform_fixtures.py with real PyTorch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStateDict, type Tensor } from '../../server/import/pth';
import { DeformNetworkError, describeDeformNetwork, flopsPerGaussian, inferDeformNetwork } from '../../server/deform/network';
import { DeformRunner } from '../../server/deform/runner';
import { buildDeformOnnx } from '../../server/deform/onnx-model';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = path.join(ROOT, 'tests/fixtures/deform');
const REAL_PTH = path.resolve(ROOT, '../shared/realdata/deformable3dgs-deform-pth/deform_iteration_10000.pth');

interface Fixture {
  variant: string;
  config: { D: number; W: number; xyz_multires: number; t_multires: number; blender?: boolean; six_dof?: boolean; skip: number; half: boolean };
  xyz: number[];
  times: number[];
  outputs: { t: number; d_xyz: number[]; d_rotation: number[]; d_scaling: number[] }[];
}

const VARIANTS = ['default', 'blender', 'sixdof', 'blender_sixdof', 'small', 'small_fp16', 'narrow42'];

function load(name: string): { fx: Fixture; sd: Map<string, Tensor> } {
  const fx = JSON.parse(readFileSync(path.join(FIX, `${name}.json`), 'utf8')) as Fixture;
  const sd = readStateDict(readFileSync(path.join(FIX, `${name}.pth`)), `${name}.pth`);
  return { fx, sd };
}

function maxAbsDiff(a: Float32Array, b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

for (const name of VARIANTS) {
  test(`${name}: variant inferred from keys and shapes`, () => {
    const { fx, sd } = load(name);
    const spec = inferDeformNetwork(sd);
    const c = fx.config;
    assert.equal(spec.depth, c.D);
    assert.equal(spec.width, c.W);
    assert.deepEqual(spec.skips, [c.skip]);
    assert.equal(spec.xyzMultires, c.xyz_multires);
    assert.equal(spec.tMultires, c.t_multires);
    assert.equal(spec.isBlender, !!c.blender);
    assert.equal(spec.is6dof, !!c.six_dof);
    assert.deepEqual(spec.ignoredKeys, []);
    if (c.half) assert.equal(sd.get('linear.0.weight')!.dtype, 'float16');
  });

  test(`${name}: ONNX output matches PyTorch (max abs error <= 1e-4)`, async (t) => {
    const { fx, sd } = load(name);
    const spec = inferDeformNetwork(sd);
    const runner = await DeformRunner.create(spec, sd, { threads: 2 });
    try {
      const xyz = Float32Array.from(fx.xyz);
      let worst = 0;
      for (const o of fx.outputs) {
        // Small batches so several session runs and a partial last batch are covered.
        const progress: number[] = [];
        const s = await runner.run(xyz, o.t, { batch: 24, onProgress: (done) => progress.push(done) });
        assert.deepEqual(progress, [24, 48, 64]);
        const errs = { d_xyz: maxAbsDiff(s.dxyz, o.d_xyz), d_rotation: maxAbsDiff(s.drot, o.d_rotation), d_scaling: maxAbsDiff(s.dscale, o.d_scaling) };
        for (const [k, e] of Object.entries(errs)) assert.ok(e <= 1e-4, `${name} t=${o.t} ${k}: max abs error ${e}`);
        worst = Math.max(worst, ...Object.values(errs));
      }
      t.diagnostic(`${name}: worst max abs error vs PyTorch ${worst.toExponential(2)}`);
    } finally {
      runner.dispose();
    }
  });
}

test('fp16 storage: weights are the half values the file holds', () => {
  const half = load('small_fp16').sd.get('linear.1.weight')!;
  assert.equal(half.dtype, 'float16');
  assert.deepEqual(half.shape, [64, 64]);
  // Every value must be representable in binary16 (10-bit mantissa).
  for (const v of half.data.subarray(0, 256)) {
    const e = Math.floor(Math.log2(Math.abs(v) || 1));
    const q = 2 ** (e - 10);
    assert.equal(Math.round(v / q) * q, v);
  }
});

test('hints: a variant asked for that the keys contradict is refused', () => {
  const { sd } = load('small');
  assert.throws(() => inferDeformNetwork(sd, { isBlender: true }), /is_blender was asked for but the state_dict has no timenet/);
  assert.throws(() => inferDeformNetwork(sd, { is6dof: true }), /is_6dof was asked for but the state_dict has no branch_w/);
  assert.throws(() => inferDeformNetwork(load('sixdof').sd, { is6dof: false }), /branch_w/);
  assert.doesNotThrow(() => inferDeformNetwork(sd, { isBlender: false, is6dof: false, xyzMultires: 10 }));
});

function withShape(sd: Map<string, Tensor>, key: string, shape: number[]): Map<string, Tensor> {
  const out = new Map(sd);
  const n = shape.reduce((a, b) => a * b, 1);
  out.set(key, { dtype: 'float32', shape, data: new Float32Array(n), device: 'cpu' });
  return out;
}

test('inconsistent shapes: refused with the key and the shapes', () => {
  const { sd } = load('default');
  const cases: [Map<string, Tensor>, RegExp][] = [
    [withShape(sd, 'linear.5.weight', [256, 300]), /linear\.5\.weight is \[256, 300\] but a trunk layer takes 256 inputs, or after a skip 256 \+ 84 = 340/],
    [withShape(withShape(sd, 'linear.3.weight', [128, 256]), 'linear.3.bias', [128]), /linear\.3\.weight is \[128, 256\] but the trunk width .* is 256/],
    [withShape(sd, 'linear.3.bias', [255]), /linear\.3\.bias is \[255\] but linear\.3\.weight is \[256, 256\]/],
    [withShape(sd, 'gaussian_rotation.weight', [3, 256]), /gaussian_rotation\.weight is \[3, 256\], expected \[4, 256\]/],
    [withShape(sd, 'gaussian_scaling.weight', [3, 128]), /gaussian_scaling\.weight is \[3, 128\], expected \[3, 256\]/],
    [withShape(withShape(sd, 'linear.0.weight', [256, 83]), 'linear.5.weight', [256, 339]), /linear\.0\.weight is \[256, 83\]: 83 - 21 \(t encoding, multires 10\) = 62 is not an xyz encoding width 3 \+ 6·n/],
  ];
  for (const [bad, re] of cases) {
    assert.throws(() => inferDeformNetwork(bad), (e: unknown) => e instanceof DeformNetworkError && re.test(e.message), String(re));
  }
  const noWarp = new Map(sd);
  noWarp.delete('gaussian_warp.weight');
  noWarp.delete('gaussian_warp.bias');
  assert.throws(() => inferDeformNetwork(noWarp), /gaussian_warp\.weight is missing/);
  const gap = new Map(sd);
  gap.delete('linear.6.weight');
  assert.throws(() => inferDeformNetwork(gap), /linear\.6\.weight is missing from the state_dict/);
  gap.delete('linear.6.bias');
  assert.throws(() => inferDeformNetwork(gap), /linear\.6\.weight is missing but linear\.7 exists/);
  assert.throws(() => inferDeformNetwork(new Map()), /no linear\.N\.weight keys/);
});

test('non-default depth and skip position are read from the shapes', () => {
  // blender_sixdof is D=6 W=32 (skip 3); a D=4 trunk cut from `small` has no skip layer.
  const { sd } = load('small');
  const cut = new Map([...sd].filter(([k]) => !/^linear\.[4-7]\./.test(k)));
  const spec = inferDeformNetwork(cut);
  assert.equal(spec.depth, 4);
  assert.deepEqual(spec.skips, []);
  assert.ok(spec.notes.some((n) => n.includes('skip layers []')));
  assert.ok(buildDeformOnnx(spec, cut).length > 0);
});

test('FLOP count of the full 8x256 network is about 1 MFLOP per Gaussian', () => {
  const spec = inferDeformNetwork(load('default').sd);
  const f = flopsPerGaussian(spec);
  assert.equal(f, 2 * (84 * 256 + 6 * 256 * 256 + 340 * 256 + 10 * 256));
  assert.ok(f > 0.9e6 && f < 1.1e6);
});

test('real Deformable-3DGS deform.pth (saved on cuda:0, linear.0 [256, 42]) runs', { skip: !existsSync(REAL_PTH) && `absent: ${REAL_PTH}` }, async () => {
  const sd = readStateDict(readFileSync(REAL_PTH), 'deform_iteration_10000.pth');
  const spec = inferDeformNetwork(sd);
  // 42 = (3 + 6·3) + (1 + 2·10): xyz multires 3, and t multires 10, the value DeformNetwork
  // always uses without timenet. The column norms of linear.5's skip inputs show the same
  // split (3-wide groups for xyz, sin/cos pairs for t).
  assert.equal(describeDeformNetwork(spec), 'DeformNetwork D=8 W=256 skips [4], xyz multires 3, t multires 10');
  assert.ok(spec.notes.some((n) => /xyz multires 3 \(default 10\)/.test(n)));
  const runner = await DeformRunner.create(spec, sd, { threads: 2 });
  try {
    const n = 1000;
    const xyz = new Float32Array(n * 3).map((_, i) => Math.sin(i * 12.9898) * 0.8);
    const s0 = await runner.run(xyz, 0.1);
    const s1 = await runner.run(xyz, 0.9);
    for (const a of [s0.dxyz, s0.drot, s0.dscale, s1.dxyz]) assert.ok(a.every(Number.isFinite));
    let diff = 0;
    for (let i = 0; i < s0.dxyz.length; i++) diff = Math.max(diff, Math.abs(s0.dxyz[i]! - s1.dxyz[i]!));
    assert.ok(diff > 1e-4, 'the deformation depends on t');
  } finally {
    runner.dispose();
  }
  // A skip layer of the wrong width is refused, naming the key and the widths.
  const bad = new Map(sd);
  bad.set('linear.5.weight', { dtype: 'float32', shape: [256, 300], data: new Float32Array(256 * 300), device: 'cpu' });
  assert.throws(() => inferDeformNetwork(bad), /linear\.5\.weight is \[256, 300\] but a trunk layer takes 256 inputs, or after a skip 256 \+ 42 = 298/);
  // Forcing the D-NeRF reading is refused, naming what is there.
  assert.throws(() => inferDeformNetwork(sd, { isBlender: true }), /no timenet/);
  // Another t multires cannot explain 42 with multires 6: refused, naming the shapes.
  assert.throws(() => inferDeformNetwork(sd, { tMultires: 6 }), /linear\.0\.weight is \[256, 42\]: 42 - 13 \(t encoding, multires 6\) = 29 is not an xyz encoding width/);
});

test('runner: input validation, dispose', async () => {
  const { sd } = load('small');
  const runner = await DeformRunner.create(inferDeformNetwork(sd), sd, { threads: 1 });
  await assert.rejects(runner.run(new Float32Array(4), 0), /not a multiple of 3/);
  await assert.rejects(runner.run(new Float32Array(3), NaN), /not a finite number/);
  const empty = await runner.run(new Float32Array(0), 0.5);
  assert.equal(empty.dxyz.length, 0);
  runner.dispose();
  await assert.rejects(runner.run(new Float32Array(3), 0), /after dispose/);
});
