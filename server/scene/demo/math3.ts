// Small 3D helpers for the demo generator: vectors as tuples, quaternions (w, x, y, z) as in
// docs/RENDERING.md, and rigid motions x -> R(q) x + b.
import { dcos, dsin } from './dmath';

export type V3 = [number, number, number];
export type Quat = [number, number, number, number];

export const add = (a: V3, b: V3): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: V3, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const length = (a: V3): number => Math.sqrt(dot(a, a));
export function normalize(a: V3): V3 {
  const l = length(a);
  return l > 0 ? scale(a, 1 / l) : [0, 0, 1];
}

/** Some unit vector perpendicular to n (n unit). */
export function perpendicular(n: V3): V3 {
  const ref: V3 = Math.abs(n[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  return normalize(cross(ref, n));
}

export function quatMul(a: Quat, b: Quat): Quat {
  return [
    a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
    a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
    a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
    a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
  ];
}

export function quatAxisAngle(axis: V3, angle: number): Quat {
  const s = dsin(angle / 2);
  return [dcos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s];
}

export const QUAT_ID: Quat = [1, 0, 0, 0];

/** Rotation matrix of a unit quaternion, row-major 9 numbers (the formula of RENDERING.md). */
export function quatToMat(q: Quat): number[] {
  const [w, x, y, z] = q;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

export function matVec(m: number[], v: V3): V3 {
  return [
    m[0]! * v[0] + m[1]! * v[1] + m[2]! * v[2],
    m[3]! * v[0] + m[4]! * v[1] + m[5]! * v[2],
    m[6]! * v[0] + m[7]! * v[1] + m[8]! * v[2],
  ];
}

/** Unit quaternion of the rotation whose matrix has columns a, b, c (right-handed orthonormal). */
export function quatFromColumns(a: V3, b: V3, c: V3): Quat {
  const m00 = a[0], m10 = a[1], m20 = a[2];
  const m01 = b[0], m11 = b[1], m21 = b[2];
  const m02 = c[0], m12 = c[1], m22 = c[2];
  const tr = m00 + m11 + m22;
  let q: Quat;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q = [0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    q = [(m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    q = [(m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s];
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s];
  }
  const n = Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
}

/** Rigid motion x -> R(q) x + b. */
export interface Rigid {
  q: Quat;
  b: V3;
}

export const RIGID_ID: Rigid = { q: QUAT_ID, b: [0, 0, 0] };

export function applyRigid(m: Rigid, x: V3): V3 {
  return add(matVec(quatToMat(m.q), x), m.b);
}

/** (a ∘ b)(x) = a(b(x)). */
export function compose(a: Rigid, b: Rigid): Rigid {
  return { q: quatMul(a.q, b.q), b: add(matVec(quatToMat(a.q), b.b), a.b) };
}

/** Rotation by `angle` about the line through `pivot` along unit `axis`. */
export function rotateAbout(pivot: V3, axis: V3, angle: number): Rigid {
  const q = quatAxisAngle(axis, angle);
  return { q, b: sub(pivot, matVec(quatToMat(q), pivot)) };
}

export function translate(t: V3): Rigid {
  return { q: QUAT_ID, b: t };
}
