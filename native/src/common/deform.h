// Keyframe interpolation and the additive deformation (RENDERING.md "Inputs" and step 1).
#pragma once

#include "hd.h"

namespace splat {

/** Which keyframes make the sample at t, and the weight of `hi`. lo < 0: no deformation. */
struct KeyframeBracket {
  int lo, hi;
  float u;  // sample = (1-u) kf[lo] + u kf[hi]; lo == hi means kf[lo] as is
};

/**
 * times: [n] keyframe times sorted ascending. First for t <= t_0, last for t >= t_last, a
 * keyframe at exactly t as is, otherwise the linear blend of the two neighbours.
 */
SPLAT_HD inline KeyframeBracket keyframe_bracket(const double* times, int n, double t) {
  KeyframeBracket k{-1, -1, 0.0f};
  if (n <= 0) return k;
  if (t <= times[0]) {
    k.lo = k.hi = 0;
    return k;
  }
  if (t >= times[n - 1]) {
    k.lo = k.hi = n - 1;
    return k;
  }
  int hi = 1;
  while (times[hi] < t) ++hi;
  if (times[hi] == t) {
    k.lo = k.hi = hi;
    return k;
  }
  k.lo = hi - 1;
  k.hi = hi;
  k.u = (float)((t - times[hi - 1]) / (times[hi] - times[hi - 1]));
  return k;
}

SPLAT_HD inline float lerp_deform(float a, float b, float u) { return (1.0f - u) * a + u * b; }

/**
 * Deform one Gaussian (Deformable-3DGS order): mean = x + dx, scale = exp(s) + ds,
 * q = normalize(r) + dr (not normalized again). Inputs are already activated:
 * x [3], scale_act [3] = exp(s), q_norm [4] = normalize(r); d* are this Gaussian's rows of
 * the two bracketing keyframes (b unused when lo == hi).
 */
SPLAT_HD inline void apply_deform(const float* x, const float* scale_act, const float* q_norm,
                                  const float* dxyz_a, const float* drot_a, const float* dscale_a,
                                  const float* dxyz_b, const float* drot_b, const float* dscale_b, bool blend,
                                  float u, float* mean_out, float* scale_out, float* q_out) {
  for (int k = 0; k < 3; ++k) {
    const float dx = blend ? lerp_deform(dxyz_a[k], dxyz_b[k], u) : dxyz_a[k];
    const float ds = blend ? lerp_deform(dscale_a[k], dscale_b[k], u) : dscale_a[k];
    mean_out[k] = x[k] + dx;
    scale_out[k] = scale_act[k] + ds;
  }
  for (int k = 0; k < 4; ++k) {
    const float dr = blend ? lerp_deform(drot_a[k], drot_b[k], u) : drot_a[k];
    q_out[k] = q_norm[k] + dr;
  }
}

}  // namespace splat
