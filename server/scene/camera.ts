// Camera math in the OpenCV convention of CameraJSON (x right, y down, z forward,
// worldToCamera row-major). Converters from other conventions live here too.
import type { CameraJSON } from './types';

export type Vec3 = [number, number, number];
export type Mat4 = number[]; // 16, row-major

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
export function normalize(a: Vec3): Vec3 {
  const l = Math.hypot(a[0], a[1], a[2]);
  if (l === 0) throw new Error('cannot normalize a zero vector');
  return [a[0] / l, a[1] / l, a[2] / l];
}

/** Intrinsics for a vertical field of view (radians), principal point at the centre. */
export function intrinsicsFromFovY(width: number, height: number, fovY: number) {
  const fy = height / 2 / Math.tan(fovY / 2);
  return { fx: fy, fy, cx: width / 2, cy: height / 2 };
}

/**
 * World-to-camera for a camera at `eye` looking at `target`; `up` is the world up direction
 * (the camera's y axis points along -up, since OpenCV's y points down).
 */
export function lookAt(eye: Vec3, target: Vec3, up: Vec3 = [0, 1, 0]): Mat4 {
  const z = normalize(sub(target, eye));
  const x = normalize(cross(z, up)); // right = forward x up flips to screen-right with y down
  const y = cross(z, x);
  const t = (r: Vec3) => -(r[0] * eye[0] + r[1] * eye[1] + r[2] * eye[2]);
  return [x[0], x[1], x[2], t(x), y[0], y[1], y[2], t(y), z[0], z[1], z[2], t(z), 0, 0, 0, 1];
}

export function makeCamera(width: number, height: number, fovY: number, eye: Vec3, target: Vec3, up?: Vec3): CameraJSON {
  return { width, height, ...intrinsicsFromFovY(width, height, fovY), worldToCamera: lookAt(eye, target, up) };
}

/** Inverse of a rigid 4x4 (rotation + translation), row-major. */
export function invertRigid(m: Mat4): Mat4 {
  const r = [m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!];
  const t = [m[3]!, m[7]!, m[11]!];
  const rt = [r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!];
  const nt = [0, 1, 2].map((i) => -(rt[i * 3]! * t[0]! + rt[i * 3 + 1]! * t[1]! + rt[i * 3 + 2]! * t[2]!));
  return [rt[0]!, rt[1]!, rt[2]!, nt[0]!, rt[3]!, rt[4]!, rt[5]!, nt[1]!, rt[6]!, rt[7]!, rt[8]!, nt[2]!, 0, 0, 0, 1];
}

/** Camera centre in world coordinates. */
export function cameraPosition(cam: CameraJSON): Vec3 {
  const c = invertRigid(cam.worldToCamera);
  return [c[3]!, c[7]!, c[11]!];
}

/**
 * Blender / OpenGL camera-to-world (x right, y up, z backward) to OpenCV world-to-camera:
 * flip the camera's y and z axes, then invert.
 */
export function openglCameraToWorldToOpenCV(c2w: Mat4): Mat4 {
  const flipped = c2w.slice();
  for (const row of [0, 1, 2]) {
    flipped[row * 4 + 1] = -c2w[row * 4 + 1]!;
    flipped[row * 4 + 2] = -c2w[row * 4 + 2]!;
  }
  return invertRigid(flipped);
}

/** Project a world point; returns continuous pixel coordinates and camera z. */
export function projectPoint(cam: CameraJSON, p: Vec3): { u: number; v: number; z: number } {
  const m = cam.worldToCamera;
  const x = m[0]! * p[0] + m[1]! * p[1] + m[2]! * p[2] + m[3]!;
  const y = m[4]! * p[0] + m[5]! * p[1] + m[6]! * p[2] + m[7]!;
  const z = m[8]! * p[0] + m[9]! * p[1] + m[10]! * p[2] + m[11]!;
  return { u: (cam.fx * x) / z + cam.cx, v: (cam.fy * y) / z + cam.cy, z };
}

/** The same camera at another resolution (intrinsics scaled). */
export function scaleCamera(cam: CameraJSON, width: number, height: number): CameraJSON {
  const sx = width / cam.width;
  const sy = height / cam.height;
  return { ...cam, width, height, fx: cam.fx * sx, fy: cam.fy * sy, cx: cam.cx * sx, cy: cam.cy * sy };
}

/** The world point at camera depth z under the centre of pixel (px, py) (inverse of projectPoint). */
export function unprojectPixel(cam: CameraJSON, px: number, py: number, z: number): Vec3 {
  const c = [((px + 0.5 - cam.cx) / cam.fx) * z, ((py + 0.5 - cam.cy) / cam.fy) * z, z];
  const m = invertRigid(cam.worldToCamera);
  return [0, 1, 2].map((r) => m[r * 4]! * c[0]! + m[r * 4 + 1]! * c[1]! + m[r * 4 + 2]! * c[2]! + m[r * 4 + 3]!) as Vec3;
}
