// Viewer camera math (app/lib/camera-convert.ts): a world point must land on the same pixel
// through three's projection (NDC -> pixel) and through the wire's CameraJSON (u = fx x/z + cx),
// so 3D overlays line up with the frames the server renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import {
  cameraJSONFromThree,
  fitIntrinsics,
  pixelFromNdc,
  poseFromCameraJSON,
  projectionFromIntrinsics,
  renderSize,
  type Intrinsics,
} from '../../app/lib/camera-convert';
import { IntrinsicsCamera } from '../../app/lib/intrinsics-camera';
import { lookAt, projectPoint, type Vec3 } from '../../server/scene/camera';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function close(a: number, b: number, tol: number, what: string) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

/** Pixel of a world point through three: project (matrixWorldInverse, projectionMatrix) then NDC -> pixel. */
function threePixel(camera: IntrinsicsCamera, p: Vec3) {
  const ndc = new Vector3(...p).project(camera);
  return { ...pixelFromNdc(ndc.x, ndc.y, camera.intrinsics.width, camera.intrinsics.height), ndcZ: ndc.z };
}

const K: Intrinsics = { width: 1280, height: 720, fx: 900, fy: 880, cx: 611.3, cy: 377.9 };

test('three projection and CameraJSON agree on the pixel of world points (off-centre principal point)', () => {
  const rand = rng(7);
  for (let trial = 0; trial < 50; trial++) {
    const camera = new IntrinsicsCamera(K, 0.05, 500);
    camera.position.set(rand() * 10 - 5, rand() * 10 - 5, rand() * 10 - 5);
    camera.up.set(0, 0, 1);
    const target = new Vector3(rand() - 0.5, rand() - 0.5, rand() - 0.5);
    camera.lookAt(target);
    camera.rotateZ(rand() - 0.5); // some roll
    camera.updateMatrixWorld();
    const json = cameraJSONFromThree(camera, camera.intrinsics);
    for (let i = 0; i < 20; i++) {
      // a point in front of the camera, anywhere near the image
      const cv = [(rand() - 0.5) * 3, (rand() - 0.5) * 2, 0.5 + rand() * 20];
      const local = new Vector3(cv[0]!, -cv[1]!, -cv[2]!); // OpenCV camera -> three camera frame
      const world = local.applyMatrix4(camera.matrixWorld);
      const p: Vec3 = [world.x, world.y, world.z];
      const a = threePixel(camera, p);
      const b = projectPoint(json, p);
      close(a.u, b.u, 1e-6, 'u');
      close(a.v, b.v, 1e-6, 'v');
      close(b.z, cv[2]!, 1e-9, 'camera z');
      assert.ok(a.ndcZ > -1 && a.ndcZ < 1, `ndc z in range: ${a.ndcZ}`);
    }
  }
});

test('principal point and image corners map to the expected pixels', () => {
  const camera = new IntrinsicsCamera(K, 0.1, 100);
  camera.updateMatrixWorld(); // at the origin, looking down -z (OpenCV +z is world -z)
  const json = cameraJSONFromThree(camera, camera.intrinsics);
  const c = projectPoint(json, [0, 0, -3]);
  close(c.u, K.cx, 1e-9, 'cx');
  close(c.v, K.cy, 1e-9, 'cy');
  // the ray through pixel (0, 0) (top-left corner): OpenCV (-cx/fx, -cy/fy, 1) = world (-cx/fx, +cy/fy, -1)
  const corner = threePixel(camera, [(-K.cx / K.fx) * 2, (K.cy / K.fy) * 2, -2]);
  close(corner.u, 0, 1e-9, 'corner u');
  close(corner.v, 0, 1e-9, 'corner v');
  // near and far planes map to NDC z = -1 and +1
  close(threePixel(camera, [0, 0, -0.1]).ndcZ, -1, 1e-9, 'near');
  close(threePixel(camera, [0, 0, -100]).ndcZ, 1, 1e-9, 'far');
});

test('CameraJSON -> three pose -> CameraJSON round-trips exactly', () => {
  const w2c = lookAt([2, -3, 1.5], [0.1, 0.2, 0.3], [0, 0, 1]);
  const pose = poseFromCameraJSON({ worldToCamera: w2c });
  const camera = new IntrinsicsCamera(K);
  camera.position.copy(pose.position);
  camera.quaternion.copy(pose.quaternion);
  camera.updateMatrixWorld();
  const back = cameraJSONFromThree(camera, K).worldToCamera;
  w2c.forEach((v, i) => close(back[i]!, v, 1e-12, `worldToCamera[${i}]`));
});

test('the projection matrix is the intrinsics one, also after three calls updateProjectionMatrix', () => {
  const camera = new IntrinsicsCamera(K, 0.1, 100);
  camera.fov = 10;
  camera.aspect = 3;
  camera.updateProjectionMatrix();
  const expected = projectionFromIntrinsics(K, 0.1, 100);
  camera.projectionMatrix.elements.forEach((v, i) => close(v, expected.elements[i]!, 1e-15, `P[${i}]`));
  close(camera.fov, (2 * Math.atan(720 / 2 / 880) * 180) / Math.PI, 1e-12, 'fov kept in sync');
});

test('fitIntrinsics shows the whole reference image centred in the viewport', () => {
  const ref: Intrinsics = { width: 800, height: 800, fx: 1111, fy: 1111, cx: 400, cy: 400 };
  const k = fitIntrinsics(ref, 1600, 900);
  assert.equal(k.scale, 900 / 800);
  close(k.offsetX, (1600 - 900) / 2, 1e-12, 'offset x');
  assert.equal(k.offsetY, 0);
  // a point seen at reference pixel (u, v) is seen at (s u + ox, s v + oy) in the viewport
  const w2c = lookAt([0, -4, 1], [0, 0, 0], [0, 0, 1]);
  const p: Vec3 = [0.3, 0.2, -0.4];
  const a = projectPoint({ ...ref, worldToCamera: w2c }, p);
  const b = projectPoint({ ...k, worldToCamera: w2c }, p);
  close(b.u, a.u * k.scale + k.offsetX, 1e-9, 'u');
  close(b.v, a.v * k.scale + k.offsetY, 1e-9, 'v');
});

test('renderSize caps the device pixel ratio at 2 and each side at 4096', () => {
  assert.deepEqual(renderSize(1000, 500, 1), { width: 1000, height: 500, dpr: 1 });
  assert.deepEqual(renderSize(1000, 500, 3), { width: 2000, height: 1000, dpr: 2 });
  const big = renderSize(3000, 1000, 2);
  assert.equal(big.width, 4096);
  assert.equal(big.height, Math.round(1000 * (4096 / 3000)));
});
