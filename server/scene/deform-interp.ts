import type { DeformKeyframe, DeformSample } from './types';

/**
 * The deformation at time t from keyframes sorted by t (docs/RENDERING.md, "Inputs").
 * The native backends implement the same rule; this is the plain version used by the
 * reference renderer and by tests.
 */
export function interpolateDeform(keyframes: readonly DeformKeyframe[], t: number): DeformSample | null {
  if (keyframes.length === 0) return null;
  const first = keyframes[0]!;
  const last = keyframes[keyframes.length - 1]!;
  if (t <= first.t) return first;
  if (t >= last.t) return last;
  let hi = 1;
  while (keyframes[hi]!.t < t) hi++;
  const b = keyframes[hi]!;
  if (b.t === t) return b;
  const a = keyframes[hi - 1]!;
  const u = (t - a.t) / (b.t - a.t);
  const mix = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (1 - u) * x[i]! + u * y[i]!;
    return out;
  };
  return { dxyz: mix(a.dxyz, b.dxyz), drot: mix(a.drot, b.drot), dscale: mix(a.dscale, b.dscale) };
}
