// Client side (pure, no DOM): conversions between three.js cameras and the wire's CameraJSON.
//
// CameraJSON (server/scene/types.ts): OpenCV pinhole, x right, y down, z forward,
// worldToCamera 4x4 row-major; continuous pixel coordinates, pixel (i, j) has its centre at
// (i + 0.5, j + 0.5), so the image spans u in [0, width], v in [0, height].
// three.js (OpenGL): the camera looks down -z with y up; Matrix4.elements is column-major;
// NDC x, y in [-1, 1] cover the viewport, y up.
//
// The two camera frames differ by F = diag(1, -1, -1, 1) (flip y and z):
//   worldToCamera = F · inverse(camera.matrixWorld)      camera.matrixWorld = inverse(worldToCamera) · F
// The projection matrix built from intrinsics maps a point to the same pixel as
// u = fx·x/z + cx, v = fy·y/z + cy, with pixel = ((ndc.x + 1)/2 · width, (1 − ndc.y)/2 · height).
import { Matrix4, Quaternion, Vector3 } from 'three';
import type { Camera as CameraJSON } from '../../server/protocol';

export type { CameraJSON };

/** Pinhole intrinsics in pixels of a `width` x `height` image (OpenCV convention). */
export interface Intrinsics {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

const FLIP_YZ = new Matrix4().makeScale(1, -1, -1);

/**
 * OpenGL projection matrix that reproduces the pinhole model exactly (off-centre principal
 * point included), clip z in [-w, w] between `near` and `far`.
 */
export function projectionFromIntrinsics(k: Intrinsics, near: number, far: number, out = new Matrix4()): Matrix4 {
  if (!(near > 0) || !(far > near)) throw new Error(`Expected 0 < near < far for the projection but received near=${near}, far=${far}`);
  const { width: w, height: h, fx, fy, cx, cy } = k;
  // Row-major arguments (Matrix4.set). Derivation: x_cv = x_gl, y_cv = -y_gl, z_cv = -z_gl,
  // clip w = -z_gl; x_ndc = 2u/w − 1, y_ndc = 1 − 2v/h.
  return out.set(
    (2 * fx) / w, 0, 1 - (2 * cx) / w, 0,
    0, (2 * fy) / h, (2 * cy) / h - 1, 0,
    0, 0, -(far + near) / (far - near), (-2 * far * near) / (far - near),
    0, 0, -1, 0,
  );
}

/** Vertical field of view in degrees (for code that reads PerspectiveCamera.fov, e.g. OrbitControls' pan speed). */
export function fovYDegrees(k: Pick<Intrinsics, 'height' | 'fy'>): number {
  return (2 * Math.atan(k.height / (2 * k.fy)) * 180) / Math.PI;
}

/** Row-major 16 numbers of a three Matrix4 (whose `elements` are column-major). */
export function toRowMajor(m: Matrix4): number[] {
  const e = m.elements;
  const out = new Array<number>(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = e[c * 4 + r]!;
  return out;
}

/** three Matrix4 from row-major 16 numbers. */
export function fromRowMajor(rm: readonly number[], out = new Matrix4()): Matrix4 {
  if (rm.length !== 16) throw new Error(`Expected 16 numbers for a 4x4 matrix but received ${rm.length}`);
  return out.set(...(rm as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number]));
}

/** worldToCamera (OpenCV, row-major) of a three camera: F · inverse(matrixWorld). */
export function worldToCameraFromThree(matrixWorld: Matrix4): number[] {
  const m = matrixWorld.clone().invert().premultiply(FLIP_YZ);
  return toRowMajor(m);
}

/** The wire camera for a three camera (its matrixWorld must be up to date) with these intrinsics. */
export function cameraJSONFromThree(camera: { matrixWorld: Matrix4 }, k: Intrinsics): CameraJSON {
  return { width: k.width, height: k.height, fx: k.fx, fy: k.fy, cx: k.cx, cy: k.cy, worldToCamera: worldToCameraFromThree(camera.matrixWorld) };
}

/** three's camera.matrixWorld for an OpenCV worldToCamera: inverse(worldToCamera) · F. */
export function threeMatrixWorldFromCameraJSON(worldToCamera: readonly number[], out = new Matrix4()): Matrix4 {
  return fromRowMajor(worldToCamera, out).invert().multiply(FLIP_YZ);
}

/** Pose (position + orientation) of a three camera looking like `cam`. */
export function poseFromCameraJSON(cam: Pick<CameraJSON, 'worldToCamera'>): { position: Vector3; quaternion: Quaternion } {
  const position = new Vector3();
  const quaternion = new Quaternion();
  threeMatrixWorldFromCameraJSON(cam.worldToCamera).decompose(position, quaternion, new Vector3());
  return { position, quaternion };
}

/** Camera forward direction (OpenCV +z) in world coordinates. */
export function forwardFromCameraJSON(cam: Pick<CameraJSON, 'worldToCamera'>): Vector3 {
  const m = cam.worldToCamera;
  return new Vector3(m[8]!, m[9]!, m[10]!).normalize();
}

/**
 * Intrinsics for a `width` x `height` viewport showing the whole of `k`'s image, centred
 * and scaled uniformly (contain), with the same centre of projection: the reference image's
 * pixel (u, v) lands on viewport pixel (s·u + ox, s·v + oy). Extra context fills the margins.
 */
export function fitIntrinsics(k: Intrinsics, width: number, height: number): Intrinsics & { scale: number; offsetX: number; offsetY: number } {
  const s = Math.min(width / k.width, height / k.height);
  const ox = (width - k.width * s) / 2;
  const oy = (height - k.height * s) / 2;
  return { width, height, fx: k.fx * s, fy: k.fy * s, cx: k.cx * s + ox, cy: k.cy * s + oy, scale: s, offsetX: ox, offsetY: oy };
}

/** Continuous pixel coordinates of an NDC point in a `width` x `height` viewport. */
export function pixelFromNdc(ndcX: number, ndcY: number, width: number, height: number): { u: number; v: number } {
  return { u: ((ndcX + 1) / 2) * width, v: ((1 - ndcY) / 2) * height };
}

/**
 * Render size in device pixels for a canvas of `cssWidth` x `cssHeight` CSS pixels: devicePixelRatio
 * capped at `maxDpr`, each side at most `maxSide` (aspect kept), at least 1.
 */
export function renderSize(cssWidth: number, cssHeight: number, devicePixelRatio: number, maxDpr = 2, maxSide = 4096): { width: number; height: number; dpr: number } {
  let dpr = Math.min(Math.max(devicePixelRatio || 1, 0.25), maxDpr);
  const longest = Math.max(cssWidth, cssHeight) * dpr;
  if (longest > maxSide) dpr *= maxSide / longest;
  return { width: Math.max(1, Math.min(maxSide, Math.round(cssWidth * dpr))), height: Math.max(1, Math.min(maxSide, Math.round(cssHeight * dpr))), dpr };
}
