// Per-pixel compositing terms (docs/RENDERING.md "Per pixel"): a Gaussian's exponent at a
// pixel in log2 units, a polynomial exp2 that vectorizes, the clamped, thresholded alpha and
// one front-to-back step. Everything is written branch-free (selects only) so a loop over
// pixels vectorizes; the CPU blend (cpu/blend.cc) has an explicit 8-wide copy of the same
// arithmetic, the scalar forms here serve pick / region walks and the CUDA backend.
#pragma once

#include "hd.h"

namespace splat {

constexpr float kAlphaMin = 1.0f / 255.0f;  // skip below
constexpr float kAlphaMax = 0.99f;          // clamp above
constexpr float kTransmittanceMin = 1e-4f;  // stop a pixel when T' would fall below
constexpr float kLog2E = 1.4426950408889634f;
constexpr float kLog2AlphaMin = -7.994353436858858f;  // log2(1/255)

/**
 * t = log2(opacity exp(power)) = log2(e) power + log2(opacity), RENDERING.md's
 * power = -0.5 (conic.x dx^2 + conic.z dy^2) - conic.y dx dy, from coefficients pre-scaled by
 * log2(e): A = -log2(e) conic.x / 2, B = -log2(e) conic.y, C = -log2(e) conic.z / 2.
 * Evaluated as (C dy + B dx) dy + (A dx^2 + log2 o): along a span column dx is fixed, so the
 * blend hoists B dx and A dx^2 + log2 o out of the row loop and a pixel costs two FMAs.
 */
SPLAT_HD inline float splat_log2_alpha(float A, float B, float C, float log2_opacity, float dx, float dy) {
  const float q0 = A * dx * dx + log2_opacity;
  const float q1 = B * dx;
  return (C * dy + q1) * dy + q0;
}

// exp2 by range reduction: t + kExp2Shift rounds t to an integer k in the low mantissa bits,
// offset by the exponent bias, so (bits << 23) is 2^k; 2^f, |f| <= 1/2, by a degree-4
// polynomial (minimax for relative error: 2.6e-6) evaluated Estrin-style (depth 3).
constexpr float kExp2Shift = 12582912.0f + 127.0f;  // 1.5 * 2^23 + bias
constexpr float kExp2P0 = 0.9999992847442627f, kExp2P1 = 0.6931218504905701f, kExp2P2 = 0.240247443318367f,
                kExp2P3 = 0.05591758340597153f, kExp2P4 = 0.009569991379976273f;

/**
 * 2^t with 2.6e-6 relative error for t in [-126, 0], branch-free. No clamping: outside about
 * [-126, 1] the result is garbage, so callers mask those lanes (alpha_from_log2 does). The CPU
 * blend (cpu/blend.cc) evaluates the same expression 8 lanes at a time.
 */
SPLAT_HD inline float fast_exp2_unclamped(float t) {
  const float shifted = t + kExp2Shift;
  const float f = t - (shifted - kExp2Shift);
  const float f2 = f * f;
  const float p = (f * kExp2P1 + kExp2P0) + f2 * ((f * kExp2P3 + kExp2P2) + f2 * kExp2P4);
  return p * int_bits_to_float((int32_t)(float_to_uint_bits(shifted) << 23));
}

/**
 * alpha = min(0.99, 2^t), 0 where the pixel skips the Gaussian (alpha < 1/255, tested as
 * t < log2(1/255), which also masks every t where the unclamped exp2 is out of range).
 * RENDERING.md's `power > 0: skip` is not tested: the conic is positive definite, so power > 0
 * only by float rounding at the centre, where the float64 reference has power = 0 and no skip.
 */
SPLAT_HD inline float alpha_from_log2(float t) {
  const float e = fast_exp2_unclamped(t);
  const float a = t >= kLog2AlphaMin ? e : 0.0f;
  return min_f(a, kAlphaMax);
}

/**
 * One front-to-back step at one pixel. T: transmittance, stored negated (-T) once the pixel
 * has stopped. Returns the weight w = T alpha the Gaussian adds (0 when skipped, stopping or
 * stopped) and updates T: T' = T - alpha T, or -|T| when T' < 1e-4 (the Gaussian that would
 * cross the threshold is not added). A zero alpha never stops a live pixel (T >= 1e-4).
 */
SPLAT_HD inline float composite_step(float* T, float alpha) {
  const float t = *T;
  const float at = alpha * t;
  const float tn = t - at;
  const bool stop = tn < kTransmittanceMin;
  *T = stop ? -fabsf(t) : tn;
  return stop ? 0.0f : at;
}

/**
 * One colour channel of a finished pixel: RENDERING.md's round(clamp(c, 0, 1) 255), computed as
 * floor(x 255 + 0.5) (truncation; x >= 0). c = C + T background. The CPU resolve
 * (cpu/blend.cc resolve_frame) evaluates the same expression 8 lanes at a time.
 */
SPLAT_HD inline uint8_t channel_to_u8(float c) {
  const float x = min_f(c > 0.0f ? c : 0.0f, 1.0f) * 255.0f + 0.5f;
  return (uint8_t)(int32_t)x;
}

/** Expected depth of what a pixel hit: D / alpha where alpha = 1 - T > 1e-6, else 0. */
SPLAT_HD inline float resolve_depth(float depth_sum, float alpha) { return alpha > 1e-6f ? depth_sum / alpha : 0.0f; }

}  // namespace splat
