// The reference renderer against cases computed by hand from docs/RENDERING.md.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lookAt, makeCamera, type Vec3 } from '../../server/scene/camera';
import type { CameraJSON, DeformSample, GaussianCloud, ShDegree } from '../../server/scene/types';
import {
  isCulled,
  preprocessAll,
  preprocessGaussian,
  renderReference,
  shBasis,
  sigmoid,
  type PreprocessedGaussian,
} from '../reference/render';

const C0 = 0.28209479177387814;
const C1 = 0.4886025119029199;
const logit = (p: number) => Math.log(p / (1 - p));

interface G {
  pos: Vec3;
  /** log standard deviation, one value for isotropic */
  logScale?: number | Vec3;
  rot?: [number, number, number, number];
  opacityLogit: number;
  /** colour the DC term alone should give (before the 0.5 offset is undone) */
  dc?: Vec3;
  /** sh[k][c] for k >= 1 */
  rest?: Vec3[];
}

/** Builds a cloud from a list of Gaussians; `colour` c maps to f_dc = (c - 0.5) / C0. */
function cloudOf(gs: G[], shDegree: ShDegree = 0): GaussianCloud {
  const n = gs.length;
  const K = (shDegree + 1) ** 2;
  const cloud: GaussianCloud = {
    count: n,
    shDegree,
    positions: new Float32Array(n * 3),
    rotations: new Float32Array(n * 4),
    logScales: new Float32Array(n * 3),
    opacityLogits: new Float32Array(n),
    sh: new Float32Array(n * K * 3),
  };
  gs.forEach((g, i) => {
    cloud.positions.set(g.pos, i * 3);
    cloud.rotations.set(g.rot ?? [1, 0, 0, 0], i * 4);
    const s = g.logScale ?? Math.log(0.1);
    cloud.logScales.set(typeof s === 'number' ? [s, s, s] : s, i * 3);
    cloud.opacityLogits[i] = g.opacityLogit;
    const colour = g.dc ?? [0.5, 0.5, 0.5];
    cloud.sh.set(colour.map((c) => (c - 0.5) / C0), i * K * 3);
    (g.rest ?? []).forEach((coef, k) => cloud.sh.set(coef, (i * K + k + 1) * 3));
  });
  return cloud;
}

/** Identity pose: camera at the origin looking down +z, 33x33, pixel 16's centre on the axis. */
const axisCamera = (over: Partial<CameraJSON> = {}): CameraJSON => ({
  width: 33,
  height: 33,
  fx: 40,
  fy: 40,
  cx: 16.5,
  cy: 16.5,
  worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
  ...over,
});

const BLACK: Vec3 = [0, 0, 0];
const px = (img: { width: number }, i: number, j: number) => j * img.width + i;
const rgbAt = (img: { width: number; rgb: Uint8Array }, i: number, j: number) => Array.from(img.rgb.subarray(px(img, i, j) * 3, px(img, i, j) * 3 + 3));
const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected} (tol ${tol})`);
const visible = (g: ReturnType<typeof preprocessGaussian>): PreprocessedGaussian => {
  assert.ok(!isCulled(g), 'expected a visible Gaussian');
  return g;
};
/** What one Gaussian contributes at a pixel, per RENDERING.md, or 0 under the 1/255 cut. */
const expectedAlpha = (opacity: number, r2x: number, r2y: number, varX: number, varY: number) => {
  const a = Math.min(0.99, opacity * Math.exp(-0.5 * (r2x / varX + r2y / varY)));
  return a < 1 / 255 ? 0 : a;
};

describe('single isotropic Gaussian on the optical axis', () => {
  // σ = 0.1, f = 40, z = 4: f σ / z = 1, so σ'² = 1 + 0.3 = 1.3.
  const colour: Vec3 = [0.8, 0.5, 0.2];
  for (const o of [1, 10]) {
    test(`opacity logit ${o}: centre alpha min(0.99, sigmoid(o)), Gaussian falloff, colour, depth`, () => {
      const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: o, dc: colour }]);
      const img = renderReference(cloud, axisCamera(), { background: BLACK });
      const opacity = sigmoid(Math.fround(o));
      close(img.alpha[px(img, 16, 16)]!, Math.min(0.99, opacity), 1e-7, 'centre alpha');
      let covered = 0;
      for (let j = 0; j < 33; j++) {
        for (let i = 0; i < 33; i++) {
          const a = expectedAlpha(opacity, (i - 16) ** 2, (j - 16) ** 2, 1.3, 1.3);
          close(img.alpha[px(img, i, j)]!, a, 1e-7, `alpha(${i},${j})`);
          close(img.depth[px(img, i, j)]!, a > 0 ? 4 : 0, 1e-6, `depth(${i},${j})`);
          const c = preprocessGaussian(cloud, 0, axisCamera());
          const expectedRgb = visible(c).colour.map((v) => Math.round(Math.min(1, v * a) * 255));
          assert.deepEqual(rgbAt(img, i, j), expectedRgb, `rgb(${i},${j})`);
          if (a > 0) covered++;
        }
      }
      assert.ok(covered > 9);
      // The colour is C0·f_dc + 0.5.
      const g = visible(preprocessGaussian(cloud, 0, axisCamera()));
      colour.forEach((c, k) => close(g.colour[k]!, c, 1e-7, 'colour'));
      assert.deepEqual(g.mean2D, [16.5, 16.5]);
      // (The log-scale is stored as float32, so σ is 0.1 to ~1e-8.)
      close(g.cov2D[0], 1.3, 1e-6);
      close(g.cov2D[1], 0, 1e-12);
      close(g.cov2D[2], 1.3, 1e-6);
      close(g.conic[0], 1 / 1.3, 1e-6);
      close(g.conic[2], 1 / 1.3, 1e-6);
      close(g.depth, 4, 1e-12);
      // Extent of the 1/255 ellipse: sqrt(2 ln(255 o) · 1.3).
      close(g.extent[0], Math.sqrt(2 * Math.log(255 * opacity) * 1.3), 1e-6);
    });
  }
});

describe('compositing rules', () => {
  test('the early stop at T < 1e-4: the Gaussian that would cross it is not added', () => {
    const red: Vec3 = [1, 0, 0];
    const green: Vec3 = [0, 1, 0];
    const tiny = Math.log(1e-4);
    const front = [
      { pos: [0, 0, 1] as Vec3, opacityLogit: 20, dc: red, logScale: tiny },
      { pos: [0, 0, 2] as Vec3, opacityLogit: 20, dc: green, logScale: tiny },
    ];
    const third = { pos: [0, 0, 3] as Vec3, opacityLogit: 20, dc: [0, 0, 1] as Vec3, logScale: tiny };
    const bg: Vec3 = [0, 0, 1];
    const two = renderReference(cloudOf(front), axisCamera(), { background: bg });
    const three = renderReference(cloudOf([...front, third]), axisCamera(), { background: bg });
    // Two Gaussians of alpha 0.99: T = 0.01 then 1e-4 (not below 1e-4); the third would make it 1e-6.
    const T = (1 - 0.99) * (1 - 0.99);
    assert.ok(T >= 1e-4 && T * 0.01 < 1e-4);
    const c = px(three, 16, 16);
    close(three.alpha[c]!, 1 - T, 1e-7, 'alpha');
    close(three.depth[c]!, (1 * 0.99 + 2 * 0.99 * 0.01) / (1 - T), 1e-6, 'depth');
    assert.deepEqual(rgbAt(three, 16, 16), [Math.round(0.99 * 255), Math.round(0.0099 * 255), Math.round(T * 255)]);
    // Bit for bit the same as without the third Gaussian (which does show where T is larger).
    assert.equal(three.alpha[c], two.alpha[c]);
    assert.equal(three.depth[c], two.depth[c]);
    assert.deepEqual(rgbAt(three, 16, 16), rgbAt(two, 16, 16));
    assert.ok(three.alpha[px(three, 17, 16)]! > two.alpha[px(two, 17, 16)]!);
  });

  test('alpha below 1/255 is skipped, at the centre and at the rim', () => {
    for (const [p, expectCentre] of [
      [0.9 / 255, 0],
      [1.1 / 255, 1.1 / 255],
    ] as const) {
      const img = renderReference(cloudOf([{ pos: [0, 0, 4], opacityLogit: logit(p), dc: [1, 1, 1] }]), axisCamera(), { background: [0.2, 0.4, 0.6] });
      close(img.alpha[px(img, 16, 16)]!, expectCentre, 1e-7);
      // Its neighbours are below 1/255 either way: untouched background.
      assert.equal(img.alpha[px(img, 17, 16)], 0);
      assert.deepEqual(rgbAt(img, 17, 16), [51, 102, 153]);
    }
    // The rim: pixels where opacity·exp(power) is positive but below 1/255 get exactly nothing.
    const opacity = sigmoid(Math.fround(logit(0.05)));
    const img = renderReference(cloudOf([{ pos: [0, 0, 4], opacityLogit: logit(0.05) }]), axisCamera(), { background: BLACK });
    let rim = 0;
    for (let j = 0; j < 33; j++) {
      for (let i = 0; i < 33; i++) {
        const raw = opacity * Math.exp(-0.5 * ((i - 16) ** 2 + (j - 16) ** 2) / 1.3);
        if (raw > 1e-4 && raw < 1 / 255) {
          rim++;
          assert.equal(img.alpha[px(img, i, j)], 0, `rim pixel (${i},${j})`);
        } else if (raw >= 1 / 255) {
          close(img.alpha[px(img, i, j)]!, raw, 1e-7);
        }
      }
    }
    assert.ok(rim > 4, 'the test should have rim pixels');
    // Opacity below 1/255 touches nothing at all.
    const faint = preprocessGaussian(cloudOf([{ pos: [0, 0, 4], opacityLogit: logit(0.5 / 255) }]), 0, axisCamera());
    assert.ok(isCulled(faint) && faint.culled === 'transparent');
  });

  test('background blending: C + T·background, rounded', () => {
    const bg: Vec3 = [0.2, 0.4, 0.6];
    const empty = renderReference(cloudOf([]), axisCamera(), { background: bg });
    assert.ok(empty.alpha.every((a) => a === 0) && empty.depth.every((d) => d === 0));
    for (let p = 0; p < 33 * 33; p++) assert.deepEqual(Array.from(empty.rgb.subarray(p * 3, p * 3 + 3)), [51, 102, 153]);
    // Opacity 0.5 at the centre pixel: 0.5·colour + 0.5·background.
    const colour: Vec3 = [1, 0.5, 0];
    const img = renderReference(cloudOf([{ pos: [0, 0, 4], opacityLogit: 0, dc: colour }]), axisCamera(), { background: bg });
    close(img.alpha[px(img, 16, 16)]!, 0.5, 1e-7);
    assert.deepEqual(rgbAt(img, 16, 16), colour.map((c, k) => Math.round((0.5 * c + 0.5 * bg[k]!) * 255)));
    // Colour above 1 is clamped only after blending.
    const bright = renderReference(cloudOf([{ pos: [0, 0, 4], opacityLogit: 0, dc: [3, 1.5, 0.9] }]), axisCamera(), { background: BLACK });
    assert.deepEqual(rgbAt(bright, 16, 16), [255, Math.round(0.75 * 255), Math.round(0.45 * 255)]);
  });

  test('ordering by camera depth, ties by index', () => {
    const red: Vec3 = [1, 0, 0];
    const green: Vec3 = [0, 1, 0];
    const near = renderReference(cloudOf([{ pos: [0, 0, 5], opacityLogit: 20, dc: red }, { pos: [0, 0, 3], opacityLogit: 20, dc: green }]), axisCamera(), { background: BLACK });
    assert.deepEqual(rgbAt(near, 16, 16), [Math.round(0.0099 * 255), Math.round(0.99 * 255), 0]);
    close(near.depth[px(near, 16, 16)]!, (3 * 0.99 + 5 * 0.0099) / (0.99 + 0.0099), 1e-6);
    const tie = renderReference(cloudOf([{ pos: [0, 0, 3], opacityLogit: 20, dc: red }, { pos: [0, 0, 3], opacityLogit: 20, dc: green }]), axisCamera(), { background: BLACK });
    assert.deepEqual(rgbAt(tie, 16, 16), [Math.round(0.99 * 255), Math.round(0.0099 * 255), 0]);
    // The sorted list itself.
    const cloud = cloudOf([3, 1, 2, 1, 5].map((z) => ({ pos: [0, 0, z] as Vec3, opacityLogit: 0 })));
    assert.deepEqual(preprocessAll(cloud, axisCamera()).map((g) => g.index), [1, 3, 2, 0, 4]);
  });

  test('culling at z <= 0.2', () => {
    // Camera at z = 0.3 looking down +z: camera z = world z - 0.3, and 0.5 - 0.3 is exactly 0.2 in float64.
    const camera = axisCamera({ worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -0.3, 0, 0, 0, 1] });
    const cloud = cloudOf([{ pos: [0, 0, 0.5], opacityLogit: 0 }, { pos: [0, 0, 0.51], opacityLogit: 0 }, { pos: [0, 0, -1], opacityLogit: 0 }]);
    assert.equal(Math.fround(0.5) - 0.3, 0.2);
    const all = [0, 1, 2].map((i) => preprocessGaussian(cloud, i, camera));
    assert.deepEqual(all.map((g) => (isCulled(g) ? g.culled : 'visible')), ['near', 'visible', 'near']);
  });
});

describe('view-dependent colour', () => {
  test('SH degree 1: colour depends on the direction from the camera', () => {
    // sh[k=1] multiplies -C1·y, sh[k=2] C1·z, sh[k=3] -C1·x.
    const rest: Vec3[] = [[0.2, 0, 0], [0, 0.3, 0], [0, 0, 0.4]];
    const cloud = cloudOf([{ pos: [0, 0, 0], opacityLogit: 20, rest }], 1);
    const f = (v: number) => C1 * Math.fround(v);
    const cases: { eye: Vec3; up: Vec3; colour: Vec3 }[] = [
      { eye: [0, 0, -4], up: [0, 1, 0], colour: [0.5, 0.5 + f(0.3), 0.5] }, // dir = +z
      { eye: [0, 0, 4], up: [0, 1, 0], colour: [0.5, 0.5 - f(0.3), 0.5] }, // dir = -z
      { eye: [-4, 0, 0], up: [0, 1, 0], colour: [0.5, 0.5, 0.5 - f(0.4)] }, // dir = +x
      { eye: [0, -4, 0], up: [0, 0, 1], colour: [0.5 - f(0.2), 0.5, 0.5] }, // dir = +y
    ];
    for (const { eye, up, colour } of cases) {
      const camera = makeCamera(33, 33, Math.PI / 3, eye, [0, 0, 0], up);
      const g = visible(preprocessGaussian(cloud, 0, camera));
      colour.forEach((c, k) => close(g.colour[k]!, c, 1e-6, `colour from ${eye}`));
      const img = renderReference(cloud, camera, { background: BLACK });
      assert.deepEqual(rgbAt(img, 16, 16), colour.map((c) => Math.round(c * 0.99 * 255)));
    }
  });

  test('the degree-3 basis is orthonormal on the sphere (constants and signs)', () => {
    const n = 40000;
    const gram = Array.from({ length: 16 }, () => new Array<number>(16).fill(0));
    for (let s = 0; s < n; s++) {
      // Fibonacci sphere: equal-area points.
      const z = 1 - (2 * s + 1) / n;
      const r = Math.sqrt(1 - z * z);
      const phi = s * Math.PI * (3 - Math.sqrt(5));
      const b = shBasis(3, [r * Math.cos(phi), r * Math.sin(phi), z]);
      for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) gram[i]![j]! += (b[i]! * b[j]! * 4 * Math.PI) / n;
    }
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) close(gram[i]![j]!, i === j ? 1 : 0, 2e-3, `<Y${i},Y${j}>`);
    assert.deepEqual(shBasis(0, [0, 0, 1]), [C0]);
    assert.equal(shBasis(2, [0, 0, 1]).length, 9);
  });
});

describe('deformation', () => {
  const deformOf = (d: Partial<Record<keyof DeformSample, number[]>>): DeformSample => ({
    dxyz: Float32Array.from(d.dxyz ?? [0, 0, 0]),
    drot: Float32Array.from(d.drot ?? [0, 0, 0, 0]),
    dscale: Float32Array.from(d.dscale ?? [0, 0, 0]),
  });

  test('q = normalize(r) + dr is not normalized again: a non-unit q scales', () => {
    // r = (1,0,0,0), dr = (0,0,0,1): q = (1,0,0,1), R(q) = [[-1,-2,0],[2,-1,0],[0,0,1]], R Rᵀ = diag(5,5,1).
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 20 }]);
    const deform = deformOf({ drot: [0, 0, 0, 1] });
    const g = visible(preprocessGaussian(cloud, 0, axisCamera(), deform));
    close(g.cov2D[0], 5 + 0.3, 1e-6);
    close(g.cov2D[1], 0, 1e-6);
    close(g.cov2D[2], 5 + 0.3, 1e-6);
    const img = renderReference(cloud, axisCamera(), { background: BLACK, deform });
    for (let k = 0; k < 8; k++) close(img.alpha[px(img, 16 + k, 16)]!, expectedAlpha(sigmoid(20), k * k, 0, 5.3, 5.3), 1e-7, `k=${k}`);
    // Renormalized it would be a plain rotation (σ'² = 1.3): visibly different.
    assert.ok(img.alpha[px(img, 19, 16)]! > 2 * expectedAlpha(sigmoid(20), 9, 0, 1.3, 1.3));
  });

  test('the stored quaternion is normalized first (non-unit r), then deformed additively', () => {
    // Scales (0.2, 0.1, 0.1) turned 90° about z by r = 3·(1,0,0,1)/√2... stored as (3,0,0,3).
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 20, rot: [3, 0, 0, 3], logScale: [Math.log(0.2), Math.log(0.1), Math.log(0.1)] }]);
    const g = visible(preprocessGaussian(cloud, 0, axisCamera()));
    close(g.cov2D[0], 1 + 0.3, 1e-6); // x now has σ = 0.1: (40·0.1/4)² = 1
    close(g.cov2D[2], 4 + 0.3, 1e-6); // y has σ = 0.2: (40·0.2/4)² = 4
    // dxyz moves the centre, dscale adds to exp(s).
    const iso = cloudOf([{ pos: [0, 0, 4], opacityLogit: 20 }]);
    const moved = visible(preprocessGaussian(iso, 0, axisCamera(), deformOf({ dxyz: [0.1, -0.2, 0], dscale: [0.1, 0.1, 0.1] })));
    close(moved.mean2D[0], 16.5 + 1, 1e-6);
    close(moved.mean2D[1], 16.5 - 2, 1e-6);
    // Off the axis now, so the Jacobian's third column counts: σ²(f/z)²(1 + (x/z)²) + 0.3.
    close(moved.cov2D[0], (40 * 0.2 / 4) ** 2 * (1 + (0.1 / 4) ** 2) + 0.3, 1e-6);
  });

  test('a deformation can change the depth order', () => {
    const cloud = cloudOf([{ pos: [0, 0, 3], opacityLogit: 20, dc: [1, 0, 0] }, { pos: [0, 0, 5], opacityLogit: 20, dc: [0, 1, 0] }]);
    const deform: DeformSample = { dxyz: Float32Array.of(0, 0, 3, 0, 0, 0), drot: new Float32Array(8), dscale: new Float32Array(6) };
    const img = renderReference(cloud, axisCamera(), { background: BLACK, deform });
    assert.deepEqual(rgbAt(img, 16, 16), [Math.round(0.0099 * 255), Math.round(0.99 * 255), 0]);
  });
});

describe('camera model', () => {
  test('off-centre principal point: the axis lands on (cx, cy)', () => {
    const camera = axisCamera({ width: 40, height: 30, fx: 20, fy: 20, cx: 10.5, cy: 20.5 });
    const cloud = cloudOf([{ pos: [0, 0, 2], opacityLogit: 2 }]);
    const g = visible(preprocessGaussian(cloud, 0, camera));
    assert.deepEqual(g.mean2D, [10.5, 20.5]);
    const img = renderReference(cloud, camera, { background: BLACK });
    // (20·0.1/2)² + 0.3 = 1.3 again.
    for (let j = 0; j < 30; j++) for (let i = 0; i < 40; i++) close(img.alpha[px(img, i, j)]!, expectedAlpha(sigmoid(2), (i - 10) ** 2, (j - 20) ** 2, 1.3, 1.3), 1e-7);
    // An off-axis point: u = fx·x/z + cx.
    const off = visible(preprocessGaussian(cloudOf([{ pos: [1, -0.5, 2], opacityLogit: 2 }]), 0, camera));
    close(off.mean2D[0], 20 * 0.5 + 10.5, 1e-6);
    close(off.mean2D[1], 20 * -0.25 + 20.5, 1e-6);
  });

  test('the Jacobian clamp uses the principal point (asymmetric limits)', () => {
    // width 40, cx 10, fx 20: limXpos = 30/20 + 0.3 = 1.8, limXneg = 10/20 + 0.3 = 0.8.
    const camera = axisCamera({ width: 40, height: 40, fx: 20, fy: 20, cx: 10, cy: 20 });
    const at = (xOverZ: number) => visible(preprocessGaussian(cloudOf([{ pos: [4 * xOverZ, 0, 4], opacityLogit: 2 }]), 0, camera));
    // Σ'00 = σ²(fx/z)²(1 + clamp(x/z)²) + 0.3, with σ² (fx/z)² = 0.01·25 = 0.25.
    close(at(-2).cov2D[0], 0.25 * (1 + 0.8 ** 2) + 0.3, 1e-6, 'left, clamped at -0.8');
    close(at(2).cov2D[0], 0.25 * (1 + 1.8 ** 2) + 0.3, 1e-6, 'right, clamped at 1.8');
    close(at(0.5).cov2D[0], 0.25 * (1 + 0.25) + 0.3, 1e-6, 'inside, not clamped');
    close(at(-2).mean2D[0], 20 * -2 + 10, 1e-6, 'the centre itself is not clamped');
  });

  test('a rotated camera sees the same as the identity pose moved accordingly', () => {
    const cloud = cloudOf([{ pos: [1, 2, 3], opacityLogit: 1, logScale: [Math.log(0.1), Math.log(0.3), Math.log(0.05)], rot: [0.9, 0.1, -0.3, 0.2] }]);
    const eye: Vec3 = [1, 2, -1];
    const camera = { ...axisCamera(), worldToCamera: lookAt(eye, [1, 2, 3], [0, -1, 0]) }; // looks down +z, y down
    const same = cloudOf([{ pos: [0, 0, 4], opacityLogit: 1, logScale: [Math.log(0.1), Math.log(0.3), Math.log(0.05)], rot: [0.9, 0.1, -0.3, 0.2] }]);
    const a = visible(preprocessGaussian(cloud, 0, camera));
    const b = visible(preprocessGaussian(same, 0, axisCamera()));
    a.cov2D.forEach((v, k) => close(v, b.cov2D[k]!, 1e-6));
    a.mean2D.forEach((v, k) => close(v, b.mean2D[k]!, 1e-6));
  });
});
