// The reference's semantic additions (labels, composited features, region weights, appearance)
// against cases computed by hand from DESIGN.md §1 and docs/RENDERING.md.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CameraJSON, GaussianCloud } from '../../server/scene/types';
import {
  compositeFeature,
  decideLabel,
  isCulled,
  pixelWeights,
  preprocessGaussian,
  regionWeightsReference,
  renderReference,
  sigmoid,
  unitFeatures,
} from '../reference/render';

const C0 = 0.28209479177387814;

/** Isotropic SH0 Gaussians: pos, log std, opacity logit, DC colour (what the DC term alone gives). */
function cloudOf(gs: Array<{ pos: [number, number, number]; logScale?: number; opacityLogit: number; colour?: [number, number, number] }>): GaussianCloud {
  const n = gs.length;
  const c: GaussianCloud = {
    count: n,
    shDegree: 0,
    positions: new Float32Array(n * 3),
    rotations: new Float32Array(n * 4),
    logScales: new Float32Array(n * 3),
    opacityLogits: new Float32Array(n),
    sh: new Float32Array(n * 3),
  };
  gs.forEach((g, i) => {
    c.positions.set(g.pos, i * 3);
    c.rotations.set([1, 0, 0, 0], i * 4);
    c.logScales.set([0, 1, 2].map(() => g.logScale ?? Math.log(0.1)), i * 3);
    c.opacityLogits[i] = g.opacityLogit;
    c.sh.set((g.colour ?? [0.5, 0.5, 0.5]).map((v) => (v - 0.5) / C0), i * 3);
  });
  return c;
}

/** Identity pose, 33x33, pixel 16's centre on the optical axis; sigma 0.1 at z = 4 is 1 px. */
const camera: CameraJSON = { width: 33, height: 33, fx: 40, fy: 40, cx: 16.5, cy: 16.5, worldToCamera: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const at = (i: number, j: number) => j * camera.width + i;

describe('label channel', () => {
  test('one opaque Gaussian: its label where W >= threshold, 0 elsewhere and for label 0', () => {
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 3 }]);
    const o = sigmoid(Math.fround(3));
    for (const [label, threshold] of [[7, 0.5], [7, 0.2], [0, 0.5]] as const) {
      const img = renderReference(cloud, camera, { background: [0, 0, 0], labels: new Uint8Array([label]), labelThreshold: threshold });
      for (let j = 0; j < 33; j++) {
        for (let i = 0; i < 33; i++) {
          const a = img.alpha[at(i, j)]!; // one Gaussian: W = alpha
          assert.equal(img.labels![at(i, j)], label !== 0 && a >= threshold ? label : 0, `(${i},${j})`);
        }
      }
      close(img.alpha[at(16, 16)]!, o, 1e-6);
    }
  });

  test('two labels: the larger weight wins; front one takes alpha, back one alpha (1 - alpha)', () => {
    // Front 0.6 opaque, back fully covering: at the centre W_front = 0.6, W_back = 0.99 * 0.4.
    const logit = (p: number) => Math.log(p / (1 - p));
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: logit(0.6) }, { pos: [0, 0, 6], logScale: Math.log(2), opacityLogit: 8 }]);
    const img = renderReference(cloud, camera, { background: [0, 0, 0], labels: new Uint8Array([3, 9]), labelThreshold: 0.3 });
    assert.equal(img.labels![at(16, 16)], 3);
    const w = pixelWeights(cloud, camera, {}, 16, 16).weights;
    close(w[0]!.w, 0.6, 1e-6);
    close(w[1]!.w, 0.4 * Math.min(0.99, sigmoid(Math.fround(8)) * Math.exp(-0.5 * (0 / 1))), 1e-3);
    close(img.labelMargin![at(16, 16)]!, Math.min(0.6 - 0.3, Math.abs(w[1]!.w - 0.3), 0.6 - w[1]!.w), 1e-6);
    // Far from the front Gaussian only the back one is left, above the threshold.
    assert.equal(img.labels![at(0, 16)], 9);
  });

  test('decideLabel: threshold, largest wins, ties to the lower id, margin', () => {
    assert.deepEqual(decideLabel(new Map(), 0.5), { label: 0, margin: Infinity });
    assert.equal(decideLabel(new Map([[4, 0.49]]), 0.5).label, 0);
    assert.equal(decideLabel(new Map([[4, 0.3], [2, 0.45]]), 0.25).label, 2);
    assert.equal(decideLabel(new Map([[5, 0.4], [2, 0.4]]), 0.25).label, 2);
    close(decideLabel(new Map([[5, 0.41], [2, 0.4]]), 0.25).margin, 0.01, 1e-12);
    close(decideLabel(new Map([[5, 0.7], [2, 0.1]]), 0.5).margin, 0.2, 1e-12);
  });
});

describe('features and regions', () => {
  test('compositeFeature: one Gaussian gives alpha times its unit feature; zero features stay zero', () => {
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 2 }, { pos: [0.5, 0, 4], opacityLogit: 2 }]);
    const features = { dim: 3, data: new Float32Array([3, 0, 4, 0, 0, 0]) };
    Array.from(unitFeatures(features)).forEach((v, i) => close(v, [0.6, 0, 0.8, 0, 0, 0][i]!, 1e-15));
    const f = compositeFeature(cloud, features, camera, {}, 16, 16);
    const a = sigmoid(Math.fround(2)); // the second Gaussian is 5 sigma away: below 1/255 at this pixel
    close(f[0]!, 0.6 * a, 1e-6);
    close(f[1]!, 0, 0);
    close(f[2]!, 0.8 * a, 1e-6);
  });

  test('regionWeightsReference: the weights of a region sum to its pixels alpha; pixels count once', () => {
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 1 }, { pos: [0.1, 0.05, 5], logScale: Math.log(0.3), opacityLogit: 0 }]);
    const img = renderReference(cloud, camera, { background: [0, 0, 0] });
    const spans: Array<[number, number, number]> = [[14, 10, 20], [15, 12, 22], [15, 15, 25], [16, 0, 33]];
    const w = regionWeightsReference(cloud, camera, {}, spans);
    let alpha = 0;
    const seen = new Set<number>();
    for (const [y, x0, x1] of spans) for (let x = x0; x < x1; x++) seen.add(at(x, y));
    for (const p of seen) alpha += img.alpha[p]!;
    close(w[0]! + w[1]!, alpha, 1e-5);
    assert.ok(w[0]! > 0 && w[1]! > 0);
    assert.deepEqual(regionWeightsReference(cloud, camera, {}, Int32Array.from(spans.flat())), w);
  });
});

describe('appearance', () => {
  test('opacity scale multiplies the opacity (0 culls); tint mixes the colour after SH', () => {
    const cloud = cloudOf([{ pos: [0, 0, 4], opacityLogit: 1, colour: [0.2, 0.4, 0.6] }]);
    const g = preprocessGaussian(cloud, 0, camera, null, { opacityScale: new Float32Array([0.5]), tint: new Float32Array([1, 0, 0, 0.25]) });
    assert.ok(!isCulled(g));
    close(g.opacity, 0.5 * sigmoid(Math.fround(1)), 1e-7);
    close(g.colour[0], 0.75 * 0.2 + 0.25, 1e-6);
    close(g.colour[1], 0.75 * 0.4, 1e-6);
    close(g.colour[2], 0.75 * 0.6, 1e-6);
    const hidden = preprocessGaussian(cloud, 0, camera, null, { opacityScale: new Float32Array([0]) });
    assert.ok(isCulled(hidden) && hidden.culled === 'transparent');
    const img = renderReference(cloud, camera, { background: [0, 0, 0], opacityScale: new Float32Array([0]) });
    assert.ok(img.alpha.every((a) => a === 0));
  });
});
