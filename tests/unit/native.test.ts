// The native CPU rasterizer (native/index.ts) against the TypeScript reference renderer
// (tests/reference/render.ts) on random scenes, plus argument validation, edge cases and
// concurrent use. Tolerances are docs/RENDERING.md's: max 2/255 per channel, mean 0.25/255.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities, createScene, MAX_IMAGE_SIDE, type RenderOutput } from '../../native/index';
import { renderReference } from '../reference/render';
import { interpolateDeform } from '../../server/scene/deform-interp';
import { makeCamera } from '../../server/scene/camera';
import type { CameraJSON, GaussianCloud, ShDegree } from '../../server/scene/types';
import { randomCloud, randomKeyframe } from '../helpers/random-scene';


function compare(native: RenderOutput, ref: { rgb: Uint8Array; alpha: Float32Array; depth: Float32Array }) {
  let maxRgb = 0;
  let sumRgb = 0;
  for (let i = 0; i < ref.rgb.length; i++) {
    const d = Math.abs(native.rgb[i]! - ref.rgb[i]!);
    if (d > maxRgb) maxRgb = d;
    sumRgb += d;
  }
  let maxAlpha = 0;
  let maxDepthRel = 0;
  for (let i = 0; i < ref.alpha.length; i++) {
    maxAlpha = Math.max(maxAlpha, Math.abs(native.alpha[i]! - ref.alpha[i]!));
    if (ref.alpha[i]! > 0.05) {
      maxDepthRel = Math.max(maxDepthRel, Math.abs(native.depth[i]! - ref.depth[i]!) / ref.depth[i]!);
    }
  }
  return { maxRgb, meanRgb: sumRgb / ref.rgb.length, maxAlpha, maxDepthRel };
}

function offCentre(cam: CameraJSON, dx: number, dy: number): CameraJSON {
  return { ...cam, cx: cam.cx + dx, cy: cam.cy + dy };
}

test('capabilities reports the CPU backend', () => {
  const caps = capabilities();
  assert.equal(caps.cpu, true);
  assert.equal(typeof caps.cuda.compiled, 'boolean');
  assert.equal(typeof caps.cuda.devices, 'number');
  assert.ok(caps.threads >= 1);
  assert.match(caps.simd, /\w/);
});

const cases: Array<{ name: string; n: number; degree: ShDegree; w: number; h: number; deform: boolean; seed: number }> = [
  { name: 'SH0, static', n: 2500, degree: 0, w: 96, h: 72, deform: false, seed: 1 },
  { name: 'SH1, deformed', n: 3000, degree: 1, w: 80, h: 112, deform: true, seed: 2 },
  { name: 'SH2, deformed', n: 3000, degree: 2, w: 120, h: 70, deform: true, seed: 3 },
  { name: 'SH3, deformed', n: 4000, degree: 3, w: 100, h: 90, deform: true, seed: 4 },
  { name: 'SH3, static, larger image', n: 2000, degree: 3, w: 160, h: 120, deform: false, seed: 5 },
];

for (const c of cases) {
  test(`parity with the reference renderer: ${c.name} (${c.n} Gaussians, ${c.w}x${c.h})`, async () => {
    const cloud = randomCloud(c.n, c.degree, c.seed);
    const camera = offCentre(makeCamera(c.w, c.h, 0.9, [0.6, -0.4, 4.2], [0, 0.1, 0]), c.w * 0.11, -c.h * 0.07);
    const background: [number, number, number] = [0.1, 0.35, 0.8];
    const keyframes = c.deform ? [randomKeyframe(c.n, 0.2, c.seed + 100), randomKeyframe(c.n, 0.8, c.seed + 200)] : [];
    const t = 0.47;
    const scene = createScene(cloud);
    try {
      for (const kf of keyframes) scene.addKeyframe(kf);
      const native = await scene.render({ camera, t, background });
      assert.equal(native.width, c.w);
      assert.equal(native.height, c.h);
      assert.equal(native.rgb.length, c.w * c.h * 3);
      const ref = renderReference(cloud, camera, { deform: interpolateDeform(keyframes, t), background });
      const d = compare(native, ref);
      assert.ok(native.stats.visible > c.n / 10, `few visible Gaussians: ${native.stats.visible}`);
      assert.ok(d.maxRgb <= 2, `max rgb diff ${d.maxRgb}/255`);
      assert.ok(d.meanRgb <= 0.25, `mean rgb diff ${d.meanRgb}/255`);
      assert.ok(d.maxAlpha <= 2 / 255, `max alpha diff ${d.maxAlpha}`);
      assert.ok(d.maxDepthRel <= 1e-2, `max relative depth diff ${d.maxDepthRel}`);
    } finally {
      scene.dispose();
    }
  });
}

test('keyframes: exact times, clamping before the first and after the last', async () => {
  const n = 1500;
  const cloud = randomCloud(n, 1, 11);
  const kfs = [randomKeyframe(n, 0.1, 12), randomKeyframe(n, 0.5, 13), randomKeyframe(n, 0.9, 14)];
  const camera = makeCamera(64, 48, 0.9, [0, 0, 4.5], [0, 0, 0]);
  const background: [number, number, number] = [1, 1, 1];
  const scene = createScene(cloud);
  for (const kf of [kfs[2]!, kfs[0]!, kfs[1]!]) scene.addKeyframe(kf); // any order
  assert.deepEqual(scene.keyframeTimes(), [0.1, 0.5, 0.9]);
  for (const t of [-1, 0.1, 0.3, 0.5, 0.77, 0.9, 2]) {
    const native = await scene.render({ camera, t, background });
    const ref = renderReference(cloud, camera, { deform: interpolateDeform(kfs, t), background });
    const d = compare(native, ref);
    assert.ok(d.maxRgb <= 2 && d.meanRgb <= 0.25, `t=${t}: max ${d.maxRgb}, mean ${d.meanRgb}`);
  }
  // Replace, remove, clear.
  scene.addKeyframe(kfs[0]!.t === 0.1 ? { ...kfs[2]!, t: 0.1 } : kfs[0]!);
  assert.deepEqual(scene.keyframeTimes(), [0.1, 0.5, 0.9]);
  const replaced = await scene.render({ camera, t: 0.1, background });
  const atLast = await scene.render({ camera, t: 0.9, background });
  assert.deepEqual(replaced.rgb, atLast.rgb);
  assert.equal(scene.removeKeyframe(0.5), true);
  assert.equal(scene.removeKeyframe(0.5), false);
  assert.deepEqual(scene.keyframeTimes(), [0.1, 0.9]);
  scene.clearKeyframes();
  assert.deepEqual(scene.keyframeTimes(), []);
  const undeformed = await scene.render({ camera, t: 0.3, background });
  const ref = renderReference(cloud, camera, { deform: null, background });
  assert.ok(compare(undeformed, ref).maxRgb <= 2);
  scene.dispose();
});

test('an empty scene renders the background', async () => {
  const cloud = randomCloud(0, 3, 1);
  const scene = createScene(cloud);
  assert.equal(scene.count, 0);
  const f = await scene.render({ camera: makeCamera(33, 17, 1, [0, 0, 3], [0, 0, 0]), t: 0, background: [0.5, 0.25, 1] });
  assert.equal(f.stats.visible, 0);
  for (let i = 0; i < 33 * 17; i++) {
    assert.deepEqual([f.rgb[i * 3], f.rgb[i * 3 + 1], f.rgb[i * 3 + 2]], [128, 64, 255]);
    assert.equal(f.alpha[i], 0);
    assert.equal(f.depth[i], 0);
  }
  scene.dispose();
});

test('a camera looking away renders only the background', async () => {
  const cloud = randomCloud(2000, 2, 21);
  const scene = createScene(cloud);
  const f = await scene.render({ camera: makeCamera(50, 40, 0.9, [0, 0, 5], [0, 0, 10]), t: 0, background: [0, 1, 0] });
  assert.equal(f.stats.visible, 0);
  assert.equal(f.stats.tileEntries, 0);
  assert.ok(f.rgb.every((v, i) => v === (i % 3 === 1 ? 255 : 0)));
  assert.ok(f.alpha.every((a) => a === 0));
  scene.dispose();
});

test('concurrent renders and keyframe edits on one scene', async () => {
  const n = 2000;
  const cloud = randomCloud(n, 3, 31);
  const scene = createScene(cloud);
  const kfA = randomKeyframe(n, 0, 32);
  const kfB = randomKeyframe(n, 1, 33);
  scene.addKeyframe(kfA);
  scene.addKeyframe(kfB);
  const cams = [makeCamera(64, 64, 0.9, [0, 0, 4], [0, 0, 0]), makeCamera(48, 80, 1.1, [1, 0.5, 3.5], [0, 0, 0])];
  const jobs = Array.from({ length: 12 }, (_, i) => ({ camera: cams[i % 2]!, t: (i % 5) / 4, background: [0, 0, 0] as [number, number, number] }));
  const sequential: RenderOutput[] = [];
  for (const j of jobs) sequential.push(await scene.render(j));
  const pending = jobs.map((j) => scene.render(j));
  scene.addKeyframe({ ...kfB, t: 5 }); // edits while renders are in flight
  scene.removeKeyframe(5);
  const parallel = await Promise.all(pending);
  for (let i = 0; i < jobs.length; i++) assert.deepEqual(parallel[i]!.rgb, sequential[i]!.rgb, `render ${i} differs`);
  // Dispose with renders in flight: they still complete.
  const late = scene.render(jobs[0]!);
  scene.dispose();
  assert.deepEqual((await late).rgb, sequential[0]!.rgb);
  await assert.rejects(scene.render(jobs[0]!), /disposed/);
  assert.throws(() => scene.keyframeTimes(), /disposed/);
});

test('argument validation happens before C++ and says what was expected', async () => {
  const cloud = randomCloud(100, 1, 41);
  assert.throws(
    () => createScene({ ...cloud, positions: cloud.positions.subarray(0, 299) }),
    { message: 'Expected Float32Array of length 300 (N*3) for positions but received length 299' },
  );
  assert.throws(() => createScene({ ...cloud, sh: new Float32Array(100 * 3) }), /Expected Float32Array of length 1200 \(N\*4\*3\) for sh but received length 300/);
  assert.throws(() => createScene({ ...cloud, rotations: [] as unknown as Float32Array }), /for rotations but received array of length 0/);
  assert.throws(() => createScene({ ...cloud, shDegree: 4 as ShDegree }), /Expected 0, 1, 2 or 3 for cloud.shDegree but received number 4/);
  assert.throws(() => createScene({ ...cloud, count: -1 }), /cloud.count/);

  const scene = createScene(cloud);
  const camera = makeCamera(32, 32, 1, [0, 0, 4], [0, 0, 0]);
  const ok = { camera, t: 0, background: [0, 0, 0] as [number, number, number] };
  await assert.rejects(scene.render({ ...ok, camera: { ...camera, width: MAX_IMAGE_SIDE + 1 } }), /Expected an integer in \[1, 4096\] for camera.width but received number 4097/);
  await assert.rejects(scene.render({ ...ok, camera: { ...camera, height: 10.5 } }), /camera.height/);
  await assert.rejects(scene.render({ ...ok, camera: { ...camera, fx: Number.NaN } }), /Expected a finite number for camera.fx but received number NaN/);
  await assert.rejects(scene.render({ ...ok, camera: { ...camera, fy: -3 } }), /positive number for camera.fy/);
  await assert.rejects(scene.render({ ...ok, camera: { ...camera, worldToCamera: camera.worldToCamera.slice(0, 12) } }), /Expected an array of 16 numbers for camera.worldToCamera but received length 12/);
  await assert.rejects(
    scene.render({ ...ok, camera: { ...camera, worldToCamera: [...camera.worldToCamera.slice(0, 15), Infinity] } }),
    /camera.worldToCamera\[15\]/,
  );
  await assert.rejects(scene.render({ ...ok, t: Number.NaN }), /for t but received number NaN/);
  await assert.rejects(scene.render({ ...ok, background: [0, 0] as unknown as [number, number, number] }), /for background but received length 2/);
  await assert.rejects(scene.render({ ...ok, background: [0, 2, 0] }), /Expected a number in \[0, 1\] for background\[1\]/);
  await assert.rejects(scene.render(undefined as never), /render options but received undefined/);

  const kf = randomKeyframe(100, 0.5, 42);
  assert.throws(() => scene.addKeyframe({ ...kf, drot: new Float32Array(300) }), {
    message: 'Expected Float32Array of length 400 (N*4) for keyframe.drot but received length 300',
  });
  assert.throws(() => scene.addKeyframe({ ...kf, t: Infinity }), /keyframe.t/);
  assert.deepEqual(scene.keyframeTimes(), []);
  assert.throws(() => scene.removeKeyframe(Number.NaN), /for t/);
  scene.dispose();
  scene.dispose(); // idempotent
});

test('a render larger than the scene reuses no stale data', async () => {
  const cloud = randomCloud(3000, 0, 51);
  const scene = createScene(cloud);
  const small = await scene.render({ camera: makeCamera(40, 30, 0.9, [0, 0, 4], [0, 0, 0]), t: 0, background: [0, 0, 0] });
  const bigCam = makeCamera(200, 150, 0.9, [0, 0, 4], [0, 0, 0]);
  const big = await scene.render({ camera: bigCam, t: 0, background: [0, 0, 0] });
  assert.equal(small.rgb.length, 40 * 30 * 3);
  const ref = renderReference(cloud, bigCam, { background: [0, 0, 0] });
  const d = compare(big, ref);
  assert.ok(d.maxRgb <= 2 && d.meanRgb <= 0.25, `max ${d.maxRgb} mean ${d.meanRgb}`);
  scene.dispose();
});
