// Motion of each part over t in [0, 1], as rigid transforms of the canonical pose (articulated:
// the limbs and head hang off the torso at their joints), and its expression as the additive
// per-Gaussian deltas of docs/RENDERING.md: dxyz = M(x) - x, drot = q_M ⊗ normalize(q) - normalize(q),
// dscale for the ball's squash.
import type { DeformKeyframe, GaussianCloud } from '../types';
import { dcos, dexp, dsin } from './dmath';
import { GEOM, PART } from './layout';
import { compose, quatToMat, RIGID_ID, rotateAbout, translate, type Rigid, type V3 } from './math3';

const TAU = 2 * Math.PI;
const X: V3 = [1, 0, 0];
const Y: V3 = [0, 1, 0];
const Z: V3 = [0, 0, 1];

export interface PartMotion {
  rigid: Rigid;
  /** After the rigid motion, scale by diag(s) about `centre` (world axes): the ball's squash. */
  squash?: { centre: V3; s: V3 };
}

function torso(t: number): Rigid {
  const phase = TAU * 1.5 * t + Math.PI / 4;
  const bob = 0.015 * (1 - dcos(2 * phase));
  const lean = 0.08 * dsin(phase); // towards the standing leg
  const yaw = 0.2 * dsin(TAU * t + 0.4);
  const hips: V3 = [0, 0.88, 0];
  return compose(translate([0, bob, 0]), compose(rotateAbout([0, 0, 0], Y, yaw), rotateAbout(hips, Z, lean)));
}

/** The ball: three bounces (contact at t = 1/6, 1/2, 5/6) while rolling back and forth along x. */
function ball(t: number): PartMotion {
  const { c, r } = GEOM.ball;
  const hgt = Math.abs(dsin(Math.PI * (3 * t + 0.5)));
  const squash = Math.max(0, 1 - hgt / 0.15);
  const sy = 1 - 0.3 * squash * squash;
  const sx = 1 / Math.sqrt(sy);
  const dx = 0.3 * dsin(TAU * t);
  const centre: V3 = [c[0] + dx, r * sy + 0.55 * hgt, c[2]];
  const roll = rotateAbout(c, Z, -dx / r);
  const rigid = compose(translate([centre[0] - c[0], centre[1] - c[1], 0]), roll);
  return { rigid, squash: sy === 1 ? undefined : { centre, s: [sx, sy, sx] } };
}

/** The spinning top: spin about its axis, tilted 0.2 rad, precessing, its tip wandering a little. */
function top(t: number): Rigid {
  const P = GEOM.top.tip;
  const spin = TAU * 2.5 * t;
  const prec = TAU * 0.8 * t;
  const wander: V3 = [0.04 * dsin(TAU * 0.8 * t), 0, 0.04 * (dcos(TAU * 0.8 * t) - 1)];
  return compose(translate(wander), compose(rotateAbout(P, Y, prec), compose(rotateAbout(P, X, 0.2), rotateAbout(P, Y, spin))));
}

export function partMotion(part: number, t: number): PartMotion {
  const phase = TAU * 1.5 * t + Math.PI / 4;
  const swing = dsin(phase);
  switch (part) {
    case PART.torso:
      return { rigid: torso(t) };
    case PART.head:
      return {
        rigid: compose(torso(t), compose(rotateAbout(GEOM.neck, Y, 0.45 * dsin(TAU * t + 0.3)), rotateAbout(GEOM.neck, X, 0.12 * dsin(TAU * 2 * t + 1)))),
      };
    case PART.leftArm:
      return { rigid: compose(torso(t), compose(rotateAbout(GEOM.shoulder.left, Z, 0.08 + 0.06 * swing), rotateAbout(GEOM.shoulder.left, X, 0.6 * swing))) };
    case PART.rightArm:
      return { rigid: compose(torso(t), compose(rotateAbout(GEOM.shoulder.right, Z, -0.08 + 0.06 * swing), rotateAbout(GEOM.shoulder.right, X, -0.6 * swing))) };
    case PART.leftLeg:
      return { rigid: compose(torso(t), rotateAbout(GEOM.hip.left, X, -0.42 * swing)) };
    case PART.rightLeg:
      return { rigid: compose(torso(t), rotateAbout(GEOM.hip.right, X, 0.42 * swing)) };
    case PART.ball:
      return ball(t);
    case PART.top:
      return { rigid: top(t) };
    default:
      return { rigid: RIGID_ID };
  }
}

/** Keyframes at the given times for a cloud whose Gaussian i belongs to part partIds[i]. */
export function buildKeyframes(cloud: GaussianCloud, partIds: Uint8Array, partCount: number, times: number[]): DeformKeyframe[] {
  const N = cloud.count;
  const pos = cloud.positions;
  const rot = cloud.rotations;
  const qn = new Float64Array(N * 4);
  for (let i = 0; i < N; i++) {
    const w = rot[i * 4]!, x = rot[i * 4 + 1]!, y = rot[i * 4 + 2]!, z = rot[i * 4 + 3]!;
    const inv = 1 / Math.max(Math.sqrt(w * w + x * x + y * y + z * z), 1e-12);
    qn[i * 4] = w * inv;
    qn[i * 4 + 1] = x * inv;
    qn[i * 4 + 2] = y * inv;
    qn[i * 4 + 3] = z * inv;
  }
  const exps = new Float64Array(N * 3);
  for (let i = 0; i < N * 3; i++) exps[i] = dexp(cloud.logScales[i]!);
  return times.map((t) => {
    // Per part: rotation matrix (9), translation (3), quaternion (4), squash centre (3) and factors (3).
    const P = new Float64Array(partCount * 22);
    const moving = new Uint8Array(partCount);
    const squashed = new Uint8Array(partCount);
    for (let p = 0; p < partCount; p++) {
      const m = partMotion(p, t);
      if (m.rigid === RIGID_ID && !m.squash) continue;
      moving[p] = 1;
      P.set(quatToMat(m.rigid.q), p * 22);
      P.set(m.rigid.b, p * 22 + 9);
      P.set(m.rigid.q, p * 22 + 12);
      if (m.squash) {
        squashed[p] = 1;
        P.set(m.squash.centre, p * 22 + 16);
        P.set(m.squash.s, p * 22 + 19);
      }
    }
    const dxyz = new Float32Array(N * 3);
    const drot = new Float32Array(N * 4);
    const dscale = new Float32Array(N * 3);
    for (let i = 0; i < N; i++) {
      const p = partIds[i]!;
      if (!moving[p]) continue;
      const o = p * 22;
      const x = pos[i * 3]!, y = pos[i * 3 + 1]!, z = pos[i * 3 + 2]!;
      let nx = P[o]! * x + P[o + 1]! * y + P[o + 2]! * z + P[o + 9]!;
      let ny = P[o + 3]! * x + P[o + 4]! * y + P[o + 5]! * z + P[o + 10]!;
      let nz = P[o + 6]! * x + P[o + 7]! * y + P[o + 8]! * z + P[o + 11]!;
      const mw = P[o + 12]!, mx = P[o + 13]!, my = P[o + 14]!, mz = P[o + 15]!;
      const w = qn[i * 4]!, qx = qn[i * 4 + 1]!, qy = qn[i * 4 + 2]!, qz = qn[i * 4 + 3]!;
      const rw = mw * w - mx * qx - my * qy - mz * qz;
      const rx = mw * qx + mx * w + my * qz - mz * qy;
      const ry = mw * qy - mx * qz + my * w + mz * qx;
      const rz = mw * qz + mx * qy - my * qx + mz * w;
      if (squashed[p]) {
        const cx = P[o + 16]!, cy = P[o + 17]!, cz = P[o + 18]!;
        const sx = P[o + 19]!, sy = P[o + 20]!, sz = P[o + 21]!;
        nx = cx + sx * (nx - cx);
        ny = cy + sy * (ny - cy);
        nz = cz + sz * (nz - cz);
        // Each local axis k of the rotated Gaussian (column k of R(r)) stretches by |S col_k|.
        const cols = quatToMat([rw, rx, ry, rz]);
        for (let k = 0; k < 3; k++) {
          const a = sx * cols[k]!, b = sy * cols[3 + k]!, cc = sz * cols[6 + k]!;
          dscale[i * 3 + k] = exps[i * 3 + k]! * (Math.sqrt(a * a + b * b + cc * cc) - 1);
        }
      }
      dxyz[i * 3] = nx - x;
      dxyz[i * 3 + 1] = ny - y;
      dxyz[i * 3 + 2] = nz - z;
      drot[i * 4] = rw - w;
      drot[i * 4 + 1] = rx - qx;
      drot[i * 4 + 2] = ry - qy;
      drot[i * 4 + 3] = rz - qz;
    }
    return { t, dxyz, drot, dscale };
  });
}
