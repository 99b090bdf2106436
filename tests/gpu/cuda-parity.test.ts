// The CUDA backend against the CPU backend (and, on small scenes, the TypeScript reference) on
// random scenes and the demo scene: frames (max abs <= 2/255 per channel), the label channel
// (identical except where the reference's decision is within 1e-3 of flipping), picks, region
// weights and similarity (<= 1e-3), selection (identical except within 1e-3 of theta),
// appearance edits, edge cases. Issue 9, `npm run test:gpu`. Every test skips, saying why,
// where there is no usable CUDA device (capabilities().cuda).
//
// Written in a session WITHOUT a GPU: these tests have never been run yet (bench/gpu.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities, createScene, defaultBackend, type NativeScene, type SceneCloud } from '../../native/index';
import { pixelWeights, preprocessAll, renderReference } from '../reference/render';
import { interpolateDeform } from '../../server/scene/deform-interp';
import { makeCamera } from '../../server/scene/camera';
import { floatToHalfJS } from '../../server/scene/half';
import { generateDemoScene } from '../../server/scene/demo';
import type { CameraJSON, DeformKeyframe, GaussianCloud, ShDegree } from '../../server/scene/types';
import { gaussian, mulberry32 } from '../../server/util/random';
import { syntheticCloud, benchCamera } from '../../server/bench/render';
import { randomCloud, randomKeyframe } from '../helpers/random-scene';
import { compareFrames, fmt, GPU, maxAbsDiff, skipUnlessRealCuda, skipWithoutCuda } from './helpers';

const skip = skipWithoutCuda();

function pair(cloud: SceneCloud, keyframes: DeformKeyframe[] = []): { cpu: NativeScene; cuda: NativeScene } {
  const cpu = createScene(cloud, { backend: 'cpu' });
  const cuda = createScene(cloud, { backend: GPU });
  for (const kf of keyframes) {
    cpu.addKeyframe(kf);
    cuda.addKeyframe(kf);
  }
  return { cpu, cuda };
}

function offCentre(cam: CameraJSON, dx: number, dy: number): CameraJSON {
  return { ...cam, cx: cam.cx + dx, cy: cam.cy + dy };
}

function randomFeatures(n: number, dim: number, seed: number): Uint16Array {
  const rnd = mulberry32(seed);
  const protos = Array.from({ length: 6 }, () => Float32Array.from({ length: dim }, () => gaussian(rnd)));
  const f = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const p = protos[Math.floor(rnd() * protos.length)]!;
    const s = 0.2 + 3 * rnd();
    for (let d = 0; d < dim; d++) f[i * dim + d] = s * (p[d]! + 0.5 * gaussian(rnd));
  }
  return floatToHalfJS(f);
}

test('capabilities: the CUDA backend is compiled in, a device is present and is the default', { skip: skipUnlessRealCuda() }, (t) => {
  const c = capabilities().cuda;
  t.diagnostic(`device ${c.device} (cc ${c.computeCapability}, ${((c.memoryBytes ?? 0) / 2 ** 30).toFixed(1)} GiB), runtime ${c.runtimeVersion}, driver ${c.driverVersion}, archs ${c.archs}`);
  assert.equal(c.compiled, true);
  assert.ok(c.devices >= 1);
  const saved = process.env.SPLATSYNC_BACKEND;
  delete process.env.SPLATSYNC_BACKEND;
  try {
    assert.equal(defaultBackend(), 'cuda');
    process.env.SPLATSYNC_BACKEND = 'cpu';
    assert.equal(defaultBackend(), 'cpu');
    assert.equal(createScene(randomCloud(10, 0, 1)).backend, 'cpu');
  } finally {
    if (saved === undefined) delete process.env.SPLATSYNC_BACKEND;
    else process.env.SPLATSYNC_BACKEND = saved;
  }
  assert.equal(createScene(randomCloud(10, 0, 1), { backend: 'cuda' }).backend, 'cuda');
});

const cases: Array<{ name: string; n: number; degree: ShDegree; w: number; h: number; deform: boolean; seed: number; reference: boolean }> = [
  { name: 'SH0, static', n: 2500, degree: 0, w: 96, h: 72, deform: false, seed: 1, reference: true },
  { name: 'SH1, deformed', n: 3000, degree: 1, w: 80, h: 112, deform: true, seed: 2, reference: true },
  { name: 'SH2, deformed', n: 3000, degree: 2, w: 120, h: 70, deform: true, seed: 3, reference: true },
  { name: 'SH3, deformed', n: 4000, degree: 3, w: 100, h: 90, deform: true, seed: 4, reference: true },
  { name: 'SH3, static, 17x13 (partial tiles)', n: 1500, degree: 3, w: 17, h: 13, deform: false, seed: 6, reference: true },
  { name: 'SH3, deformed, 50K at 640x480', n: 50_000, degree: 3, w: 640, h: 480, deform: true, seed: 7, reference: false },
];

for (const c of cases) {
  test(`frame parity CUDA vs CPU${c.reference ? ' vs reference' : ''}: ${c.name}`, { skip }, async (t) => {
    const cloud = randomCloud(c.n, c.degree, c.seed);
    const camera = offCentre(makeCamera(c.w, c.h, 0.9, [0.6, -0.4, 4.2], [0, 0.1, 0]), c.w * 0.11, -c.h * 0.07);
    const background: [number, number, number] = [0.1, 0.35, 0.8];
    const keyframes = c.deform ? [randomKeyframe(c.n, 0.2, c.seed + 100), randomKeyframe(c.n, 0.8, c.seed + 200)] : [];
    const { cpu, cuda } = pair(cloud, keyframes);
    try {
      for (const time of c.deform ? [0, 0.2, 0.47, 1] : [0]) {
        const a = await cuda.render({ camera, t: time, background });
        const b = await cpu.render({ camera, t: time, background });
        const d = compareFrames(a, b);
        t.diagnostic(`t=${time}: max ${d.maxRgb}/255, mean ${fmt(d.meanRgb)}/255, alpha ${fmt(d.maxAlpha)}, depth rel ${fmt(d.maxDepthRel)}; visible ${a.stats.visible} vs ${b.stats.visible}, entries ${a.stats.tileEntries}, cuda ${fmt(a.timings.totalMs)} ms`);
        assert.ok(d.maxRgb <= 2, `max rgb diff ${d.maxRgb}/255`);
        assert.ok(d.meanRgb <= 0.25, `mean rgb diff ${d.meanRgb}/255`);
        assert.ok(d.maxAlpha <= 2 / 255, `max alpha diff ${d.maxAlpha}`);
        assert.ok(d.maxDepthRel <= 1e-2, `max relative depth diff ${d.maxDepthRel}`);
        // Same culling code; only float rounding at a box edge could flip a Gaussian.
        assert.ok(Math.abs(a.stats.visible - b.stats.visible) <= 2, `visible ${a.stats.visible} vs ${b.stats.visible}`);
        if (c.reference) {
          const ref = renderReference(cloud, camera, { deform: c.deform ? interpolateDeform(keyframes, time) : null, background });
          const r = compareFrames(a, ref);
          assert.ok(r.maxRgb <= 2 && r.meanRgb <= 0.25, `vs reference: max ${r.maxRgb}, mean ${r.meanRgb}`);
        }
      }
    } finally {
      cpu.dispose();
      cuda.dispose();
    }
  });
}

test('frame parity on the benchmark scene (100K SH3, 800x800) and the 8-bit-only readback', { skip }, async (t) => {
  const cloud = syntheticCloud(100_000, 3);
  const camera = benchCamera(800, 800);
  const { cpu, cuda } = pair(cloud);
  try {
    const a = await cuda.render({ camera, t: 0, background: [0, 0, 0] });
    const b = await cpu.render({ camera, t: 0, background: [0, 0, 0] });
    const d = compareFrames(a, b);
    t.diagnostic(`max ${d.maxRgb}/255 mean ${fmt(d.meanRgb)}/255; cuda: ${JSON.stringify(a.timings)}; evaluated ${a.stats.evaluated}`);
    assert.ok(d.maxRgb <= 2 && d.meanRgb <= 0.25, `max ${d.maxRgb}, mean ${d.meanRgb}`);
    const rgbOnly = await cuda.render({ camera, t: 0, background: [0, 0, 0], depthAlpha: false });
    assert.deepEqual(rgbOnly.rgb, a.rgb);
    assert.equal(rgbOnly.depth.length, 0);
    assert.equal(rgbOnly.alpha.length, 0);
    // Deterministic: the same frame twice.
    const again = await cuda.render({ camera, t: 0, background: [0, 0, 0] });
    assert.deepEqual(again.rgb, a.rgb);
    assert.deepEqual(again.depth, a.depth);
  } finally {
    cpu.dispose();
    cuda.dispose();
  }
});

test('edge cases: empty scene, everything culled, a 4096-wide image', { skip }, async () => {
  const empty = createScene(randomCloud(0, 3, 1), { backend: GPU });
  const f = await empty.render({ camera: makeCamera(33, 17, 1, [0, 0, 3], [0, 0, 0]), t: 0, background: [0.5, 0.25, 1] });
  assert.equal(f.stats.visible, 0);
  for (let i = 0; i < 33 * 17; i++) assert.deepEqual([f.rgb[i * 3], f.rgb[i * 3 + 1], f.rgb[i * 3 + 2]], [128, 64, 255]);
  empty.dispose();
  const cloud = randomCloud(2000, 2, 21);
  const { cpu, cuda } = pair(cloud);
  const away = await cuda.render({ camera: makeCamera(50, 40, 0.9, [0, 0, 5], [0, 0, 10]), t: 0, background: [0, 1, 0] });
  assert.equal(away.stats.visible, 0);
  assert.equal(away.stats.tileEntries, 0);
  assert.ok(away.rgb.every((v, i) => v === (i % 3 === 1 ? 255 : 0)));
  const wide = makeCamera(4096, 48, 0.5, [0, 0, 4], [0, 0, 0]);
  const a = await cuda.render({ camera: wide, t: 0, background: [0, 0, 0] });
  const b = await cpu.render({ camera: wide, t: 0, background: [0, 0, 0] });
  assert.ok(compareFrames(a, b).maxRgb <= 2);
  cpu.dispose();
  cuda.dispose();
});

async function labelParity(t: { diagnostic(s: string): void }, cpu: NativeScene, cuda: NativeScene, cloud: GaussianCloud, labels: Uint8Array, cam: CameraJSON, threshold: number, extra: { deform?: ReturnType<typeof interpolateDeform>; time?: number } = {}) {
  const time = extra.time ?? 0;
  const a = await cuda.render({ camera: cam, t: time, background: [0, 0, 0], labels: true, labelThreshold: threshold });
  const b = await cpu.render({ camera: cam, t: time, background: [0, 0, 0], labels: true, labelThreshold: threshold });
  const ref = renderReference(cloud, cam, { background: [0, 0, 0], labels, labelThreshold: threshold, deform: extra.deform ?? null });
  let ambiguous = 0;
  let differ = 0;
  let labelled = 0;
  for (let p = 0; p < ref.labels!.length; p++) {
    if (ref.labels![p] !== 0) labelled++;
    const near = ref.labelMargin![p]! <= 1e-3;
    if (near) ambiguous++;
    if (a.labels![p] !== b.labels![p]) {
      assert.ok(near, `pixel ${p}: cuda ${a.labels![p]} cpu ${b.labels![p]} reference ${ref.labels![p]} (margin ${ref.labelMargin![p]})`);
      differ++;
    }
    if (a.labels![p] !== ref.labels![p]) assert.ok(near, `pixel ${p}: cuda ${a.labels![p]} reference ${ref.labels![p]} (margin ${ref.labelMargin![p]})`);
  }
  t.diagnostic(`threshold ${threshold}: ${labelled} labelled, ${ambiguous} ambiguous, ${differ} differ (cuda vs cpu) of ${ref.labels!.length}`);
  assert.ok(compareFrames(a, b).maxRgb <= 2, 'the frame of a label render');
}

test('label channel: identical to the CPU except at ties (4 labels, and 60 labels: > 16 per tile)', { skip }, async (t) => {
  const cloud = randomCloud(3000, 1, 41);
  const cam = makeCamera(90, 70, 0.9, [0.3, 0.2, 4.4], [0, 0, 0]);
  const rnd = mulberry32(42);
  const few = Uint8Array.from({ length: cloud.count }, () => (rnd() < 0.3 ? 0 : 1 + Math.floor(rnd() * 4)));
  const many = Uint8Array.from({ length: cloud.count }, () => (rnd() < 0.1 ? 0 : 1 + Math.floor(rnd() * 60)));
  const { cpu, cuda } = pair(cloud);
  try {
    for (const labels of [few, many]) {
      cpu.setLabels(labels);
      cuda.setLabels(labels);
      for (const threshold of [0.5, 0.2, 0.05]) await labelParity(t, cpu, cuda, cloud, labels, cam, threshold);
    }
  } finally {
    cpu.dispose();
    cuda.dispose();
  }
});

test('appearance edits (opacity scale, tint) match the CPU', { skip }, async () => {
  const n = 3000;
  const cloud = randomCloud(n, 2, 51);
  const cam = makeCamera(96, 72, 0.9, [0.3, 0.2, 4.4], [0, 0, 0]);
  const rnd = mulberry32(52);
  const opacityScale = Float32Array.from({ length: n }, () => (rnd() < 0.3 ? 0 : 0.2 + rnd()));
  const tint = Float32Array.from({ length: n * 4 }, () => rnd());
  const { cpu, cuda } = pair(cloud);
  for (const s of [cpu, cuda]) s.setAppearance({ opacityScale, tint });
  const a = await cuda.render({ camera: cam, t: 0, background: [1, 1, 1] });
  const b = await cpu.render({ camera: cam, t: 0, background: [1, 1, 1] });
  assert.ok(compareFrames(a, b).maxRgb <= 2);
  assert.ok(Math.abs(a.stats.visible - b.stats.visible) <= 2, `visible ${a.stats.visible} vs ${b.stats.visible}`);
  for (const s of [cpu, cuda]) s.setAppearance({ opacityScale: null });
  const c = await cuda.render({ camera: cam, t: 0, background: [1, 1, 1] });
  const d = await cpu.render({ camera: cam, t: 0, background: [1, 1, 1] });
  assert.ok(compareFrames(c, d).maxRgb <= 2);
  cpu.dispose();
  cuda.dispose();
});

test('pick: feature, depth, alpha, top Gaussian match the CPU; deterministic; reuse after a render', { skip }, async (t) => {
  const n = 2500;
  const dim = 24;
  const cloud = randomCloud(n, 2, 61);
  const cam = makeCamera(90, 70, 0.9, [0.3, 0.2, 4.4], [0, 0, 0]);
  const features = randomFeatures(n, dim, 62);
  const keyframes = [randomKeyframe(n, 0.2, 63), randomKeyframe(n, 0.8, 64)];
  const { cpu, cuda } = pair(cloud, keyframes);
  cpu.setFeatures(features, dim);
  cuda.setFeatures(features, dim);
  const sorted = preprocessAll(cloud, cam, interpolateDeform(keyframes, 0.5));
  let worst = 0;
  try {
    for (const [x, y, patch] of [[45, 35, 5], [0, 0, 5], [89, 69, 3], [10, 60, 1], [60, 20, 7], [33, 12, 5], [47, 31, 15]] as const) {
      const a = await cuda.pick({ camera: cam, t: 0.5, x, y, patch });
      const b = await cpu.pick({ camera: cam, t: 0.5, x, y, patch });
      assert.equal(a.pixels, b.pixels);
      const e = maxAbsDiff(a.feature, b.feature);
      worst = Math.max(worst, e);
      assert.ok(e <= 1e-3, `(${x},${y}) feature diff ${e}`);
      assert.ok(Math.abs(a.alpha - b.alpha) <= 1e-3, `alpha ${a.alpha} vs ${b.alpha}`);
      if (b.alpha > 0.05) assert.ok(Math.abs(a.depth - b.depth) <= 1e-3 * b.depth, `depth ${a.depth} vs ${b.depth}`);
      if (a.topGaussian !== b.topGaussian) {
        const ws = [...pixelWeights(cloud, cam, { deform: interpolateDeform(keyframes, 0.5) }, x, y, sorted).weights].sort((p, q) => q.w - p.w);
        const close = ws.filter((w) => w.w >= ws[0]!.w - 1e-3).map((w) => w.index);
        assert.ok(close.includes(a.topGaussian) && close.includes(b.topGaussian), `top ${a.topGaussian} vs ${b.topGaussian}, near-ties ${close}`);
      }
      const again = await cuda.pick({ camera: cam, t: 0.5, x, y, patch });
      assert.deepEqual(again.feature, a.feature, 'a pick is deterministic');
    }
    await cuda.render({ camera: cam, t: 0.3, background: [0, 0, 0] });
    const r = await cuda.pick({ camera: cam, t: 0.3, x: 30, y: 20 });
    assert.equal(r.reused, true);
    const s = await cuda.pick({ camera: cam, t: 0.31, x: 30, y: 20 });
    assert.equal(s.reused, false);
    t.diagnostic(`worst pick feature diff ${fmt(worst)}; reused pick ${fmt(r.timings.totalMs)} ms`);
  } finally {
    cpu.dispose();
    cuda.dispose();
  }
});

test('region weights match the CPU (<= 1e-3 absolute and relative)', { skip }, async () => {
  const n = 3000;
  const cloud = randomCloud(n, 1, 71);
  const cam = makeCamera(100, 80, 0.9, [0.3, 0.2, 4.4], [0, 0, 0]);
  const { cpu, cuda } = pair(cloud);
  try {
    const regions: number[][][] = [
      Array.from({ length: 30 }, (_, i) => [20 + i, 15, 70]), // a box
      [[5, 0, 100], [6, 0, 100], [6, 10, 40], [79, 50, 100]], // overlapping rows, image edges
      [[40, 50, 51]], // one pixel
    ];
    for (const spans of regions) {
      const a = await cuda.regionWeights({ camera: cam, t: 0, spans });
      const b = await cpu.regionWeights({ camera: cam, t: 0, spans });
      for (let i = 0; i < n; i++) {
        const d = Math.abs(a[i]! - b[i]!);
        assert.ok(d <= 1e-3 || d <= 1e-3 * Math.abs(b[i]!), `Gaussian ${i}: ${a[i]} vs ${b[i]}`);
      }
    }
  } finally {
    cpu.dispose();
    cuda.dispose();
  }
});

test('similarity (<= 1e-3) and thresholded selection on the GPU match the CPU', { skip }, async (t) => {
  for (const [n, dim] of [[5000, 384], [3001, 37], [200_000, 512]] as const) {
    const cloud = randomCloud(n, 0, 81);
    const features = randomFeatures(n, dim, 82);
    const { cpu, cuda } = pair(cloud);
    cpu.setFeatures(features, dim);
    cuda.setFeatures(features, dim);
    const rnd = mulberry32(83);
    const q = Float32Array.from({ length: dim }, () => gaussian(rnd));
    const a = await cuda.similarity(q);
    const b = await cpu.similarity(q);
    const e = maxAbsDiff(a, b);
    assert.ok(e <= 1e-3, `n=${n} D=${dim}: max diff ${e}`);
    for (const theta of [0.2, 0.5, 0.9]) {
      const sa = await cuda.select(q, theta);
      const sb = await cpu.select(q, theta);
      for (let i = 1; i < sa.ids.length; i++) assert.ok(sa.ids[i]! > sa.ids[i - 1]!, 'ascending');
      const A = new Set(sa.ids);
      const B = new Set(sb.ids);
      for (const i of A) if (!B.has(i)) assert.ok(Math.abs(b[i]! - theta) <= 1e-3, `${i} selected on cuda only, score ${b[i]}`);
      for (const i of B) if (!A.has(i)) assert.ok(Math.abs(b[i]! - theta) <= 1e-3, `${i} selected on cpu only, score ${b[i]}`);
      t.diagnostic(`n=${n} D=${dim} theta=${theta}: ${sa.ids.length} selected (cpu ${sb.ids.length}), cuda ${fmt(sa.ms)} ms`);
    }
    t.diagnostic(`n=${n} D=${dim}: max similarity diff ${fmt(e)}`);
    cpu.dispose();
    cuda.dispose();
  }
});

test('the demo scene: frames at dataset views and times, labels from its parts, picks, similarity', { skip }, async (t) => {
  const demo = generateDemoScene();
  const n = demo.cloud.count;
  const { cpu, cuda } = pair(demo.cloud, demo.keyframes);
  const half = floatToHalfJS(demo.features.data);
  cpu.setFeatures(half, demo.features.dim);
  cuda.setFeatures(half, demo.features.dim);
  const labels = Uint8Array.from(demo.partIds, (p) => p + 1);
  cpu.setLabels(labels);
  cuda.setLabels(labels);
  try {
    let worst = 0;
    for (const view of demo.views.filter((_, i) => i % 16 === 0)) {
      const a = await cuda.render({ camera: view.camera, t: view.time, background: demo.background });
      const b = await cpu.render({ camera: view.camera, t: view.time, background: demo.background });
      const d = compareFrames(a, b);
      worst = Math.max(worst, d.maxRgb);
      assert.ok(d.maxRgb <= 2 && d.meanRgb <= 0.25, `view ${view.split} ${view.index}: max ${d.maxRgb}, mean ${d.meanRgb}`);
      const p = await cuda.pick({ camera: view.camera, t: view.time, x: view.camera.width >> 1, y: view.camera.height >> 1 });
      const q = await cpu.pick({ camera: view.camera, t: view.time, x: view.camera.width >> 1, y: view.camera.height >> 1 });
      assert.ok(maxAbsDiff(p.feature, q.feature) <= 1e-3);
    }
    // Labels at a reduced home view (the reference decides what is a tie).
    const home = demo.home.camera;
    const small: CameraJSON = { ...home, width: 240, height: Math.round((240 * home.height) / home.width), fx: (home.fx * 240) / home.width, fy: (home.fy * 240) / home.width, cx: (home.cx * 240) / home.width, cy: (home.cy * 240) / home.width };
    await labelParity(t, cpu, cuda, demo.cloud, labels, small, 0.5, { deform: interpolateDeform(demo.keyframes, 0.35), time: 0.35 });
    const query = demo.features.data.slice(0, demo.features.dim);
    assert.ok(maxAbsDiff(await cuda.similarity(query), await cpu.similarity(query)) <= 1e-3);
    t.diagnostic(`demo (${n} Gaussians): worst frame diff ${worst}/255`);
  } finally {
    cpu.dispose();
    cuda.dispose();
  }
});

test('concurrent requests and edits on one CUDA scene', { skip }, async () => {
  const n = 4000;
  const cloud = randomCloud(n, 3, 91);
  const cuda = createScene(cloud, { backend: GPU });
  const cpu = createScene(cloud, { backend: 'cpu' });
  const cam = makeCamera(128, 96, 0.9, [0.3, 0.2, 4.4], [0, 0, 0]);
  const kf = randomKeyframe(n, 0.5, 92);
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < 16; i++) {
    jobs.push(cuda.render({ camera: cam, t: i / 16, background: [0, 0, 0] }));
    if (i === 5) cuda.addKeyframe(kf);
  }
  await Promise.all(jobs);
  cpu.addKeyframe(kf);
  const a = await cuda.render({ camera: cam, t: 0.5, background: [0, 0, 0] });
  const b = await cpu.render({ camera: cam, t: 0.5, background: [0, 0, 0] });
  assert.ok(compareFrames(a, b).maxRgb <= 2);
  cuda.dispose();
  cpu.dispose();
});
