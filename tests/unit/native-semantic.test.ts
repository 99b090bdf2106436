// The native addon's semantic and fp16 features against the TypeScript reference
// (tests/reference/render.ts) and the JS fp16 oracle (server/scene/half.ts): bulk fp16
// conversion (bit-exact), SH stored as fp16, label channel, pick, region weights, similarity,
// appearance edits, validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScene, floatToHalf, halfToFloat, type NativeScene } from '../../native/index';
import {
  compositeFeature,
  pixelWeights,
  preprocessAll,
  regionWeightsReference,
  renderReference,
  unitFeatures,
} from '../reference/render';
import * as half from '../../server/scene/half';
import { makeCamera } from '../../server/scene/camera';
import { interpolateDeform } from '../../server/scene/deform-interp';
import type { CameraJSON, GaussianCloud, ShDegree } from '../../server/scene/types';
import { gaussian, mulberry32 } from '../../server/util/random';
import { randomCloud } from '../helpers/random-scene';

const prng = mulberry32;
const gauss = gaussian;

/** Features with structure (a few prototypes plus noise), as fp16 bits and as the fp32 they decode to. */
function randomFeatures(n: number, dim: number, seed: number): { half: Uint16Array; data: Float32Array } {
  const rnd = prng(seed);
  const protos = Array.from({ length: 6 }, () => Float32Array.from({ length: dim }, () => gauss(rnd)));
  const f = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const p = protos[Math.floor(rnd() * protos.length)]!;
    const scale = 0.2 + 3 * rnd(); // not unit length
    for (let d = 0; d < dim; d++) f[i * dim + d] = scale * (p[d]! + 0.5 * gauss(rnd));
  }
  for (let d = 0; d < dim; d++) f[7 * dim + d] = 0; // a zero row
  const h = half.floatToHalfJS(f);
  return { half: h, data: half.halfToFloatJS(h) };
}

const camera = (w: number, h: number): CameraJSON => ({ ...makeCamera(w, h, 0.9, [0.6, -0.4, 4.2], [0, 0.1, 0]), cx: w * 0.56, cy: h * 0.45 });

const bits32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

// ---------------------------------------------------------------------------------------------
// fp16

test('halfToFloat is bit-identical with the JS oracle for all 65536 halves', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const native = halfToFloat(all);
  const js = half.halfToFloatJS(all);
  assert.deepEqual(bits32(native), bits32(js));
});

test('floatToHalf is bit-identical with the JS oracle on edge cases and random bits', () => {
  const edge: number[] = [
    0, -0, 1, -1, 65504, -65504, 65519.996, 65520, -65520, 1e6, Infinity, -Infinity, NaN,
    2 ** -14, 2 ** -24, -(2 ** -24), 2 ** -25, 3 * 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -26, 2 ** -14 - 2 ** -25,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 2048 + 1, 2048 + 3, 1e-8, -1e-8, 1e-45, 3.4e38,
  ];
  // Ties and near-ties around every subnormal and around a range of normals.
  for (let m = 0; m < 1024; m++) {
    edge.push((m + 0.5) * 2 ** -24, (m + 0.5) * 2 ** -24 * (1 + 2 ** -20), -(m + 0.5) * 2 ** -24);
  }
  for (let e = -14; e <= 15; e++) for (const m of [0, 1, 511, 1022, 1023]) edge.push(2 ** e * (1 + (m + 0.5) / 1024));
  const specials = new Uint32Array([0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000, 0x7fffffff, 0xffffffff, 0x7fa00000, 0x00000001, 0x80000001, 0x007fffff]);
  const rnd = prng(7);
  const random = Uint32Array.from({ length: 1 << 20 }, () => Math.floor(rnd() * 2 ** 32));
  const src = new Float32Array(edge.length + specials.length + random.length);
  src.set(edge);
  bits32(src).set(specials, edge.length);
  bits32(src).set(random, edge.length + specials.length);
  assert.deepEqual(floatToHalf(src), half.floatToHalfJS(src));
});

test('fp16 bulk paths: unaligned views, tails, multi-threaded and streaming sizes, given dst', () => {
  const rnd = prng(9);
  const n = (1 << 18) + 13;
  const f = Float32Array.from({ length: n }, () => gauss(rnd) * 1000);
  const oracle = half.floatToHalfJS(f);
  for (const off of [0, 1, 3, 7]) {
    const view = f.subarray(off, n - 5);
    assert.deepEqual(floatToHalf(view), oracle.subarray(off, n - 5), `offset ${off}`);
    const hView = oracle.subarray(off, n - 5);
    const dst = new Float32Array(hView.length + 9).subarray(off + 1, off + 1 + hView.length);
    assert.equal(halfToFloat(hView, dst), dst);
    assert.deepEqual(bits32(dst), bits32(half.halfToFloatJS(hView)), `offset ${off}`);
  }
  // Above 32 MB of output the native code switches to streaming stores: compare with chunks.
  const big = new Float32Array(9_000_001);
  for (let i = 0; i < big.length; i++) big[i] = (i % 65537) * 1.37 - 40000 + (i % 3) * 1e-6;
  const h = floatToHalf(big);
  const f2 = halfToFloat(h);
  for (let b = 0; b < big.length; b += 1 << 20) {
    const e = Math.min(big.length, b + (1 << 20));
    assert.deepEqual(h.subarray(b, e), floatToHalf(big.subarray(b, e)));
    assert.deepEqual(bits32(f2.subarray(b, e)), bits32(halfToFloat(h.subarray(b, e))));
  }
  const sample = Float32Array.from({ length: 4096 }, (_, i) => big[(i * 2197) % big.length]!);
  assert.deepEqual(Uint16Array.from({ length: 4096 }, (_, i) => h[(i * 2197) % big.length]!), half.floatToHalfJS(sample));
});

test('server/scene/half.ts routes through the addon and matches its JS oracle', () => {
  const rnd = prng(11);
  const f = Float32Array.from({ length: 100_003 }, () => gauss(rnd) * 10);
  assert.deepEqual(half.floatToHalf(f), half.floatToHalfJS(f));
  const h = half.floatToHalfJS(f);
  assert.deepEqual(bits32(half.halfToFloat(h)), bits32(half.halfToFloatJS(h)));
  const dst = new Float32Array(h.length);
  assert.equal(half.halfToFloat(h, dst), dst);
  assert.deepEqual(half.floatToHalf(new Float32Array([1.5, -2])), new Uint16Array([0x3e00, 0xc000])); // small: JS path
});

test('fp16 conversion validation', () => {
  assert.throws(() => floatToHalf(new Float64Array(3) as unknown as Float32Array), /Expected Float32Array for src but received Float64Array of length 3/);
  assert.throws(() => floatToHalf(new Float32Array(4), new Uint16Array(3)), /Expected Uint16Array of length 4 \(src.length\) for dst but received length 3/);
  assert.throws(() => halfToFloat(new Uint16Array(4), new Float64Array(4) as unknown as Float32Array), /for dst but received Float64Array/);
  assert.equal(floatToHalf(new Float32Array(0)).length, 0);
});

// ---------------------------------------------------------------------------------------------
// SH as fp16

test('SH stored as fp16: shHalf renders exactly like sh, and both stay within parity', async () => {
  const cloud = randomCloud(3000, 3, 21);
  const cam = camera(96, 80);
  const a = createScene(cloud);
  const { sh: _sh, ...noSh } = cloud;
  const b = createScene(noSh, { shHalf: floatToHalf(cloud.sh) });
  const opts = { camera: cam, t: 0, background: [0.2, 0.3, 0.4] as [number, number, number] };
  const fa = await a.render(opts);
  const fb = await b.render(opts);
  assert.deepEqual(fa.rgb, fb.rgb);
  const ref = renderReference(cloud, cam, { background: opts.background });
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.rgb.length; i++) {
    const d = Math.abs(fa.rgb[i]! - ref.rgb[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  assert.ok(max <= 2 && sum / ref.rgb.length <= 0.25, `max ${max}, mean ${sum / ref.rgb.length}`);
  assert.throws(() => createScene(noSh, { shHalf: new Uint16Array(5) }), /Expected Uint16Array of length 144000 \(N\*16\*3\) for shHalf but received length 5/);
  assert.throws(() => createScene(noSh), /for sh but received undefined/);
  a.dispose();
  b.dispose();
});

// ---------------------------------------------------------------------------------------------
// Labels

async function labelParity(scene: NativeScene, cloud: GaussianCloud, labels: Uint8Array, cam: CameraJSON, threshold: number) {
  const native = await scene.render({ camera: cam, t: 0, background: [0, 0, 0], labels: true, labelThreshold: threshold });
  const ref = renderReference(cloud, cam, { background: [0, 0, 0], labels, labelThreshold: threshold });
  let ambiguous = 0;
  let differ = 0;
  let labelled = 0;
  for (let p = 0; p < ref.labels!.length; p++) {
    if (ref.labels![p] !== 0) labelled++;
    const near = ref.labelMargin![p]! <= 1e-3;
    if (near) ambiguous++;
    if (native.labels![p] !== ref.labels![p]) {
      assert.ok(near, `pixel ${p}: native ${native.labels![p]} reference ${ref.labels![p]} (margin ${ref.labelMargin![p]})`);
      differ++;
    }
  }
  return { ambiguous, differ, labelled, pixels: ref.labels!.length };
}

test('label channel: identical to the reference except at ambiguous pixels (few labels, several thresholds)', async (t) => {
  const cloud = randomCloud(3000, 1, 31);
  // Spatially coherent objects: label by octant, some Gaussians unlabelled.
  const labels = Uint8Array.from({ length: cloud.count }, (_, i) => {
    const x = cloud.positions[i * 3]!;
    const y = cloud.positions[i * 3 + 1]!;
    return i % 5 === 0 ? 0 : 1 + (x > 0 ? 1 : 0) + (y > 0 ? 2 : 0);
  });
  const scene = createScene(cloud);
  scene.setLabels(labels);
  const cam = camera(100, 84);
  for (const threshold of [0.5, 0.3, 0.15]) {
    const r = await labelParity(scene, cloud, labels, cam, threshold);
    assert.ok(r.labelled > r.pixels * 0.2, `few labelled pixels: ${r.labelled}`);
    assert.ok(r.ambiguous <= r.pixels * 0.01, `threshold ${threshold}: ${r.ambiguous} ambiguous pixels`);
    t.diagnostic(`labels (4 ids) threshold ${threshold}: ${r.labelled} labelled, ${r.ambiguous} ambiguous, ${r.differ} differ of ${r.pixels}`);
  }
  // The frame itself is unchanged by the label channel.
  const plain = await scene.render({ camera: cam, t: 0, background: [0, 0, 0] });
  const withLabels = await scene.render({ camera: cam, t: 0, background: [0, 0, 0], labels: true });
  assert.deepEqual(withLabels.rgb, plain.rgb);
  assert.deepEqual(withLabels.alpha, plain.alpha);
  assert.equal(plain.labels, undefined);
  scene.dispose();
});

test('label channel: exact with more than 16 labels in a tile (extra label passes)', async (t) => {
  const cloud = randomCloud(2500, 0, 41);
  const rnd = prng(42);
  const labels = Uint8Array.from({ length: cloud.count }, () => (rnd() < 0.1 ? 0 : 1 + Math.floor(rnd() * 60)));
  const scene = createScene(cloud);
  scene.setLabels(labels);
  for (const threshold of [0.5, 0.2, 0.05]) {
    const r = await labelParity(scene, cloud, labels, camera(64, 48), threshold);
    assert.ok(r.labelled > 0);
    // Many labels with small weights each: near a low threshold more pixels are ambiguous.
    assert.ok(r.ambiguous <= r.pixels * (threshold < 0.1 ? 0.1 : 0.02), `${r.ambiguous} ambiguous of ${r.pixels}`);
    t.diagnostic(`labels (60 ids) threshold ${threshold}: ${r.labelled} labelled, ${r.ambiguous} ambiguous, ${r.differ} differ of ${r.pixels}`);
  }
  scene.setLabels(null);
  await assert.rejects(scene.render({ camera: camera(16, 16), t: 0, background: [0, 0, 0], labels: true }), /no labels; call setLabels/);
  scene.dispose();
});

// ---------------------------------------------------------------------------------------------
// Pick, region weights, similarity

test('pick: patch feature, depth, alpha, world point and top Gaussian match the reference', async () => {
  const cloud = randomCloud(2500, 2, 51);
  const dim = 24;
  const feats = randomFeatures(cloud.count, dim, 52);
  const scene = createScene(cloud);
  scene.setFeatures(feats.half, dim);
  assert.equal(scene.featureDim, dim);
  const cam = camera(90, 70);
  const unit = unitFeatures({ dim, data: feats.data });
  const sorted = preprocessAll(cloud, cam);
  let maxDiff = 0;
  for (const [x, y, patch] of [[45, 35, 5], [0, 0, 5], [89, 69, 3], [10, 60, 1], [60, 20, 7], [33, 12, 5]] as const) {
    const p = await scene.pick({ camera: cam, t: 0, x, y, patch });
    const h = patch >> 1;
    const mean = new Float64Array(dim);
    let pixels = 0;
    for (let j = Math.max(0, y - h); j <= Math.min(cam.height - 1, y + h); j++) {
      for (let i = Math.max(0, x - h); i <= Math.min(cam.width - 1, x + h); i++) {
        const f = compositeFeature(cloud, { dim, data: feats.data }, cam, {}, i, j, unit, sorted);
        for (let d = 0; d < dim; d++) mean[d]! += f[d]!;
        pixels++;
      }
    }
    assert.equal(p.pixels, pixels);
    for (let d = 0; d < dim; d++) maxDiff = Math.max(maxDiff, Math.abs(p.feature[d]! - mean[d]! / pixels));
    const centre = pixelWeights(cloud, cam, {}, x, y, sorted);
    assert.ok(Math.abs(p.alpha - (1 - centre.T)) <= 2 / 255, `alpha ${p.alpha} vs ${1 - centre.T}`);
    if (1 - centre.T > 0.05) {
      const refDepth = centre.D / (1 - centre.T);
      assert.ok(Math.abs(p.depth - refDepth) <= 1e-2 * refDepth, `depth ${p.depth} vs ${refDepth}`);
      // The world point projects back onto the pixel centre at that depth.
      const w = p.worldPoint!;
      const m = cam.worldToCamera;
      const pc = [0, 1, 2].map((r) => m[r * 4]! * w[0] + m[r * 4 + 1]! * w[1] + m[r * 4 + 2]! * w[2] + m[r * 4 + 3]!);
      assert.ok(Math.abs(pc[2]! - p.depth) <= 1e-4 * p.depth);
      assert.ok(Math.abs((cam.fx * pc[0]!) / pc[2]! + cam.cx - (x + 0.5)) < 1e-3);
      assert.ok(Math.abs((cam.fy * pc[1]!) / pc[2]! + cam.cy - (y + 0.5)) < 1e-3);
      const ws = [...centre.weights].sort((a, b) => b.w - a.w);
      const close = ws.filter((e) => e.w >= ws[0]!.w - 1e-3).map((e) => e.index);
      assert.ok(close.includes(p.topGaussian), `top ${p.topGaussian}, reference ${close}`);
    }
    if (1 - centre.T < 1e-9) {
      assert.equal(p.worldPoint, null);
      assert.equal(p.topGaussian, -1);
    }
  }
  assert.ok(maxDiff <= 1e-3, `max feature diff ${maxDiff}`);
  scene.dispose();
});

test('pick reuses the preparation of a render of the same view, and not after an edit', async () => {
  const cloud = randomCloud(1500, 1, 61);
  const scene = createScene(cloud);
  scene.setFeatures(randomFeatures(cloud.count, 8, 62).half, 8);
  const cam = camera(64, 48);
  await scene.render({ camera: cam, t: 0.5, background: [0, 0, 0] });
  const a = await scene.pick({ camera: cam, t: 0.5, x: 30, y: 20 });
  assert.equal(a.reused, true);
  const b = await scene.pick({ camera: cam, t: 0.6, x: 30, y: 20 }); // other t: no reuse, same result (no keyframes)
  assert.equal(b.reused, false);
  assert.deepEqual(b.feature, a.feature);
  scene.setAppearance({ tint: null });
  const c = await scene.pick({ camera: cam, t: 0.6, x: 30, y: 20 });
  assert.equal(c.reused, false);
  assert.deepEqual(c.feature, a.feature);
  scene.dispose();
});

test('region weights match the reference (box, brush strokes with overlaps, Int32Array and arrays)', async () => {
  const cloud = randomCloud(2500, 1, 71);
  const scene = createScene(cloud);
  const cam = camera(80, 64);
  const box: number[][] = [];
  for (let y = 20; y < 40; y++) box.push([y, 30, 55]);
  const brush: number[][] = [];
  for (let k = 0; k < 30; k++) {
    const cx = 10 + k * 2;
    const cy = 10 + k;
    for (let y = cy - 2; y <= cy + 2; y++) brush.push([Math.min(63, y), Math.max(0, cx - 3), Math.min(80, cx + 3)]);
  }
  for (const spans of [box, brush, [[63, 0, 80]], [[5, 7, 8]]]) {
    const ref = regionWeightsReference(cloud, cam, {}, spans as Array<[number, number, number]>);
    const native = await scene.regionWeights({ camera: cam, t: 0, spans });
    const flat = await scene.regionWeights({ camera: cam, t: 0, spans: Int32Array.from(spans.flat()) });
    assert.deepEqual(flat, native);
    let total = 0;
    for (const r of ref) total += r;
    let maxRel = 0;
    let maxAbs = 0;
    for (let i = 0; i < cloud.count; i++) {
      const d = Math.abs(native[i]! - ref[i]!);
      maxAbs = Math.max(maxAbs, d);
      if (ref[i]! >= 1e-2) maxRel = Math.max(maxRel, d / ref[i]!);
    }
    assert.ok(total > 0);
    assert.ok(maxRel <= 1e-3, `max relative diff ${maxRel} (weights >= 0.01)`);
    assert.ok(maxAbs <= 1e-3, `max abs diff ${maxAbs}`);
  }
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: [[3, 5, 5]] }), /Expected a region of at least one pixel for spans/);
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: [] }), /region of at least one pixel/);
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: [[64, 0, 1]] }), /Expected a row in \[0, 63\] for spans\[0\] y but received number 64/);
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: [[0, 5, 81]] }), /Expected 0 <= x0 <= x1 <= 80 for spans\[0\]/);
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: new Int32Array(4) }), /triples/);
  await assert.rejects(scene.regionWeights({ camera: cam, t: 0, spans: [[1, 2]] }), /Expected a \[y, x0, x1\] triple for spans\[0\]/);
  scene.dispose();
});

test('similarity matches a plain JS cosine; features are stored unit-length', async () => {
  const n = 5000;
  const dim = 384;
  const cloud = randomCloud(n, 0, 81);
  const feats = randomFeatures(n, dim, 82);
  const scene = createScene(cloud);
  await assert.rejects(scene.similarity(new Float32Array(dim)), /no features; call setFeatures/);
  scene.setFeatures(feats.half, dim);
  const rnd = prng(83);
  for (const query of [Float32Array.from({ length: dim }, () => gauss(rnd)), feats.data.slice(3 * dim, 4 * dim)]) {
    const scores = await scene.similarity(query);
    assert.equal(scores.length, n);
    let qq = 0;
    for (let d = 0; d < dim; d++) qq += query[d]! ** 2;
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      let dot = 0;
      let ff = 0;
      for (let d = 0; d < dim; d++) {
        dot += feats.data[i * dim + d]! * query[d]!;
        ff += feats.data[i * dim + d]! ** 2;
      }
      const cos = ff > 0 ? dot / Math.sqrt(ff * qq) : 0;
      maxDiff = Math.max(maxDiff, Math.abs(scores[i]! - cos));
    }
    assert.ok(maxDiff <= 1e-3, `max diff ${maxDiff}`);
    assert.equal(scores[7], 0); // zero feature row
  }
  await assert.rejects(scene.similarity(new Float32Array(dim - 1)), /Expected Float32Array of length 384 \(D\) for query but received length 383/);
  await assert.rejects(scene.similarity(new Float32Array(dim)), /Expected a non-zero vector for query/);
  await assert.rejects(scene.similarity(new Float32Array(dim).fill(Number.NaN)), /Expected finite numbers for query\[0\]/);
  assert.throws(() => scene.setFeatures(feats.half.subarray(1), dim), /Expected Uint16Array of length 1920000 \(N\*384\) for features but received length 1919999/);
  assert.throws(() => scene.setFeatures(feats.half, 0), /Expected an integer in \[1, 8192\] for dim/);
  scene.dispose();
});

test('pick and region weights on a deformed scene (keyframes interpolated at t)', async () => {
  const n = 2000;
  const cloud = randomCloud(n, 1, 111);
  const rnd = prng(112);
  const kf = (t: number) => ({
    t,
    dxyz: Float32Array.from({ length: n * 3 }, () => gauss(rnd) * 0.06),
    drot: Float32Array.from({ length: n * 4 }, () => gauss(rnd) * 0.08),
    dscale: Float32Array.from({ length: n * 3 }, () => gauss(rnd) * 0.01),
  });
  const keyframes = [kf(0.2), kf(0.8)];
  const t = 0.35;
  const deform = interpolateDeform(keyframes, t);
  const scene = createScene(cloud);
  for (const k of keyframes) scene.addKeyframe(k);
  const dim = 8;
  const feats = randomFeatures(n, dim, 113);
  scene.setFeatures(feats.half, dim);
  const cam = camera(64, 48);
  const spans = [[20, 10, 40], [21, 12, 44], [30, 0, 64]];
  const ref = regionWeightsReference(cloud, cam, { deform }, spans as Array<[number, number, number]>);
  const native = await scene.regionWeights({ camera: cam, t, spans });
  for (let i = 0; i < n; i++) assert.ok(Math.abs(native[i]! - ref[i]!) <= 1e-3 * Math.max(ref[i]!, 1), `Gaussian ${i}: ${native[i]} vs ${ref[i]}`);
  const p = await scene.pick({ camera: cam, t, x: 30, y: 25, patch: 1 });
  const f = compositeFeature(cloud, { dim, data: feats.data }, cam, { deform }, 30, 25);
  for (let d = 0; d < dim; d++) assert.ok(Math.abs(p.feature[d]! - f[d]!) <= 1e-3, `component ${d}: ${p.feature[d]} vs ${f[d]}`);
  scene.dispose();
});

// ---------------------------------------------------------------------------------------------
// Appearance

test('appearance edits: opacity scale and tint match the reference; 0 hides; null clears', async () => {
  const cloud = randomCloud(3000, 2, 91);
  const rnd = prng(92);
  const opacityScale = Float32Array.from({ length: cloud.count }, () => (rnd() < 0.2 ? 0 : 0.3 + 1.2 * rnd()));
  const tint = Float32Array.from({ length: cloud.count * 4 }, (_, k) => (k % 4 === 3 ? (rnd() < 0.5 ? 0 : rnd()) : rnd()));
  const scene = createScene(cloud);
  const cam = camera(96, 72);
  const background: [number, number, number] = [0.3, 0.1, 0.6];
  const plain = await scene.render({ camera: cam, t: 0, background });
  scene.setAppearance({ opacityScale, tint });
  const edited = await scene.render({ camera: cam, t: 0, background });
  const ref = renderReference(cloud, cam, { background, opacityScale, tint });
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.rgb.length; i++) {
    const d = Math.abs(edited.rgb[i]! - ref.rgb[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  assert.ok(max <= 2 && sum / ref.rgb.length <= 0.25, `max ${max}, mean ${sum / ref.rgb.length}`);
  assert.ok(edited.stats.visible < plain.stats.visible, 'opacity 0 hides');
  scene.setAppearance({ tint: null }); // opacity kept
  const opacityOnly = await scene.render({ camera: cam, t: 0, background });
  const refOpacity = renderReference(cloud, cam, { background, opacityScale });
  assert.ok(opacityOnly.rgb.every((v, i) => Math.abs(v - refOpacity.rgb[i]!) <= 2));
  scene.setAppearance({ opacityScale: null });
  assert.deepEqual((await scene.render({ camera: cam, t: 0, background })).rgb, plain.rgb);
  assert.throws(() => scene.setAppearance({ opacityScale: new Float32Array(cloud.count).fill(-1) }), /Expected finite numbers >= 0 for opacityScale\[0\] but received number -1/);
  assert.throws(() => scene.setAppearance({ tint: new Float32Array(cloud.count * 4).fill(2) }), /Expected numbers in \[0, 1\] for tint\[0\]/);
  assert.throws(() => scene.setAppearance({ tint: new Float32Array(3) }), /Expected Float32Array of length 12000 \(N\*4\) for tint/);
  scene.dispose();
});

// ---------------------------------------------------------------------------------------------
// Validation

test('pick / labels validation says what was expected', async () => {
  const cloud = randomCloud(200, 0, 101);
  const scene = createScene(cloud);
  const cam = camera(32, 24);
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 3, y: 3 }), /no features; call setFeatures/);
  scene.setFeatures(randomFeatures(200, 4, 102).half, 4);
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 32, y: 3 }), /Expected an integer in \[0, 31\] for x but received number 32/);
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 3, y: -1 }), /Expected an integer in \[0, 23\] for y but received number -1/);
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 1.5, y: 3 }), /for x but received number 1.5/);
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 3, y: 3, patch: 4 }), /Expected an odd integer for patch but received number 4/);
  await assert.rejects(scene.pick({ camera: cam, t: Number.NaN, x: 3, y: 3 }), /for t but received number NaN/);
  assert.throws(() => scene.setLabels(new Uint8Array(199)), /Expected Uint8Array of length 200 \(N\) for labels but received length 199/);
  assert.throws(() => scene.setLabels([1, 2] as unknown as Uint8Array), /for labels but received array of length 2/);
  await assert.rejects(scene.render({ camera: cam, t: 0, background: [0, 0, 0], labels: true, labelThreshold: 0 }), /Expected a number in \(0, 1\] for labelThreshold but received number 0/);
  await assert.rejects(scene.render({ camera: cam, t: 0, background: [0, 0, 0], labels: 1 as unknown as boolean }), /Expected a boolean for labels/);
  scene.dispose();
  await assert.rejects(scene.pick({ camera: cam, t: 0, x: 3, y: 3 }), /disposed/);
  assert.throws(() => scene.setLabels(null), /disposed/);
});
