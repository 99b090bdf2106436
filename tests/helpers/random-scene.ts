// Random Gaussian clouds and keyframes for the native-vs-reference parity tests.
import type { DeformKeyframe, GaussianCloud, ShDegree } from '../../server/scene/types';
import { shCoeffCount } from '../../server/scene/types';
import { gaussian, mulberry32 } from '../../server/util/random';

/** n Gaussians in a box around the origin, random non-unit quaternions, all opacities. */
export function randomCloud(n: number, degree: ShDegree, seed: number): GaussianCloud {
  const rnd = mulberry32(seed);
  const K = shCoeffCount(degree);
  const c: GaussianCloud = {
    count: n,
    shDegree: degree,
    positions: new Float32Array(n * 3),
    rotations: new Float32Array(n * 4),
    logScales: new Float32Array(n * 3),
    opacityLogits: new Float32Array(n),
    sh: new Float32Array(n * K * 3),
  };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) c.positions[i * 3 + k] = (rnd() * 2 - 1) * 1.6;
    const len = 0.3 + 2 * rnd(); // not unit length
    for (let k = 0; k < 4; k++) c.rotations[i * 4 + k] = gaussian(rnd) * len;
    for (let k = 0; k < 3; k++) c.logScales[i * 3 + k] = Math.log(0.008 + 0.12 * rnd() ** 2);
    c.opacityLogits[i] = -7 + 13 * rnd(); // includes opacities below 1/255
    for (let k = 0; k < K * 3; k++) c.sh[i * K * 3 + k] = gaussian(rnd) * (k < 3 ? 0.9 : 0.25);
  }
  return c;
}

export function randomKeyframe(n: number, t: number, seed: number): DeformKeyframe {
  const rnd = mulberry32(seed);
  const f = (len: number, s: number) => Float32Array.from({ length: len }, () => gaussian(rnd) * s);
  return { t, dxyz: f(n * 3, 0.06), drot: f(n * 4, 0.08), dscale: f(n * 3, 0.01) };
}
