import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cameraPosition,
  intrinsicsFromFovY,
  invertRigid,
  lookAt,
  makeCamera,
  openglCameraToWorldToOpenCV,
  projectPoint,
  scaleCamera,
  type Mat4,
  type Vec3,
} from '../../server/scene/camera';

const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const mul4 = (a: Mat4, b: Mat4): Mat4 =>
  Array.from({ length: 16 }, (_, k) => {
    const r = Math.floor(k / 4);
    const c = k % 4;
    return [0, 1, 2, 3].reduce((s, i) => s + a[r * 4 + i]! * b[i * 4 + c]!, 0);
  });
const IDENTITY: Mat4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const assertMatClose = (a: Mat4, b: Mat4, tol = 1e-12) => a.forEach((v, k) => close(v, b[k]!, tol, `[${k}]`));

describe('lookAt / makeCamera', () => {
  const eye: Vec3 = [3, 2, 5];
  const target: Vec3 = [0.5, -1, 0.25];
  const cam = makeCamera(64, 48, Math.PI / 3, eye, target);

  test('the target is on the optical axis, at the principal point, at its distance', () => {
    const p = projectPoint(cam, target);
    close(p.u, cam.cx);
    close(p.v, cam.cy);
    close(p.z, Math.hypot(target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]));
    assert.deepEqual([cam.cx, cam.cy], [32, 24]);
  });

  test('the rotation part is orthonormal and the camera sits at the eye', () => {
    const m = cam.worldToCamera;
    const rows = [0, 1, 2].map((r) => [m[r * 4]!, m[r * 4 + 1]!, m[r * 4 + 2]!]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) close(rows[i]!.reduce((s, v, k) => s + v * rows[j]![k]!, 0), i === j ? 1 : 0, 1e-12);
    cameraPosition(cam).forEach((v, k) => close(v, eye[k]!, 1e-12));
  });

  test('right of the target projects to u > cx, above it to v < cy (y up world)', () => {
    const front = makeCamera(64, 48, Math.PI / 3, [0, 0, 5], [0, 0, 0]);
    const right = projectPoint(front, [1, 0, 0]);
    const above = projectPoint(front, [0, 1, 0]);
    assert.ok(right.u > front.cx);
    close(right.v, front.cy);
    assert.ok(above.v < front.cy);
    close(above.u, front.cx);
    // Same from the oblique camera: world up goes up in the image.
    assert.ok(projectPoint(cam, [target[0], target[1] + 0.5, target[2]]).v < cam.cy);
  });

  test('intrinsicsFromFovY: the top edge of the field of view maps to v = 0', () => {
    const k = intrinsicsFromFovY(100, 50, Math.PI / 2);
    close(k.fy, 25);
    assert.equal(k.fx, k.fy);
    const c = { width: 100, height: 50, ...k, worldToCamera: IDENTITY };
    close(projectPoint(c, [0, -1, 1]).v, 0); // 45° up (OpenCV y is down)
  });
});

describe('invertRigid', () => {
  test('round trip', () => {
    const m = lookAt([1, -2, 3], [0.3, 0.2, -0.1], [0, 0, 1]);
    const inv = invertRigid(m);
    assertMatClose(mul4(m, inv), IDENTITY);
    assertMatClose(mul4(inv, m), IDENTITY);
    assertMatClose(invertRigid(inv), m);
  });
});

describe('openglCameraToWorldToOpenCV', () => {
  test('a Blender camera at (0,0,4) looking down -z sees the origin at the centre with positive z', () => {
    const c2w: Mat4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1];
    const cam = { width: 80, height: 60, fx: 50, fy: 50, cx: 40, cy: 30, worldToCamera: openglCameraToWorldToOpenCV(c2w) };
    const o = projectPoint(cam, [0, 0, 0]);
    close(o.u, 40);
    close(o.v, 30);
    close(o.z, 4);
    // OpenGL x right, y up: +x goes right, +y goes up (smaller v) in the image.
    assert.ok(projectPoint(cam, [1, 0, 0]).u > 40);
    assert.ok(projectPoint(cam, [0, 1, 0]).v < 30);
    cameraPosition(cam).forEach((v, k) => close(v, [0, 0, 4][k]!));
  });

  test('a D-NeRF-style orbit camera looks at the origin', () => {
    // Camera on the +x axis, OpenGL: looking down its -z, which must point at the origin.
    const c2w: Mat4 = [0, 0, 1, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    const cam = { width: 80, height: 60, fx: 50, fy: 50, cx: 40, cy: 30, worldToCamera: openglCameraToWorldToOpenCV(c2w) };
    const o = projectPoint(cam, [0, 0, 0]);
    close(o.u, 40);
    close(o.v, 30);
    close(o.z, 4);
    assert.ok(projectPoint(cam, [0, 0, 1]).v < 30, 'world +z is up for this camera (its y axis)');
  });
});

describe('scaleCamera', () => {
  test('scales intrinsics; pixel positions scale with the image', () => {
    const cam = makeCamera(800, 600, Math.PI / 4, [1, 1, 4], [0, 0, 0]);
    const half = scaleCamera(cam, 400, 300);
    assert.deepEqual([half.width, half.height, half.fx, half.fy, half.cx, half.cy], [400, 300, cam.fx / 2, cam.fy / 2, cam.cx / 2, cam.cy / 2]);
    assert.deepEqual(half.worldToCamera, cam.worldToCamera);
    const p: Vec3 = [0.3, -0.2, 0.1];
    const a = projectPoint(cam, p);
    const b = projectPoint(half, p);
    close(b.u, a.u / 2);
    close(b.v, a.v / 2);
    close(b.z, a.z);
    const stretched = scaleCamera(cam, 1600, 300);
    close(projectPoint(stretched, p).u, a.u * 2);
    close(projectPoint(stretched, p).v, a.v / 2);
  });
});
