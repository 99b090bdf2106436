// Per-pixel compositing terms (docs/RENDERING.md "Per pixel"): a Gaussian's exponent at a
// pixel, a polynomial exp2 that vectorizes, and the clamped, thresholded alpha. Everything is
// written branch-free (selects only) so a loop over pixels vectorizes.
#pragma once

#include "hd.h"

namespace splat {

constexpr float kAlphaMin = 1.0f / 255.0f;  // skip below
constexpr float kAlphaMax = 0.99f;          // clamp above
constexpr float kTransmittanceMin = 1e-4f;  // stop a pixel when T' would fall below
constexpr float kLog2E = 1.4426950408889634f;
constexpr float kLog2AlphaMin = -7.994353436858858f;  // log2(1/255)

/**
 * RENDERING.md's power = -0.5 (conic.x dx^2 + conic.z dy^2) - conic.y dx dy, from pre-scaled
 * coefficients A = -conic.x/2, B = -conic.y, C = -conic.z/2: (A dx + B dy) dx + C dy^2.
 * Along a row B dy and C dy^2 are constants, so a pixel costs two FMAs.
 */
SPLAT_HD inline float gaussian_power_scaled(float A, float B, float C, float dx, float dy) {
  return (A * dx + B * dy) * dx + C * dy * dy;
}

/**
 * 2^t with ~2.5e-7 relative error for t in [-126, 0], branch-free: t = k + f, |f| <= 1/2,
 * 2^f by a degree-5 minimax polynomial, 2^k written into the exponent bits. No clamping:
 * outside [-126, 2^22) the result is garbage, so callers mask those lanes.
 */
SPLAT_HD inline float fast_exp2_unclamped(float t) {
  const float shifted = t + 12582912.0f;  // 1.5 * 2^23: the low mantissa bits hold round(t)
  const float k = shifted - 12582912.0f;
  const float f = t - k;
  float p = 1.327647129073739e-3f;
  p = p * f + 9.675541892647743e-3f;
  p = p * f + 5.550713092088699e-2f;
  p = p * f + 2.4022120237350464e-1f;
  p = p * f + 6.931469440460205e-1f;
  p = p * f + 1.0000001192092896f;
  // bits(shifted) - bits(1.5 * 2^23) == k as an integer; + 127 then << 23 builds 2^k.
  const uint32_t kbits = (float_to_uint_bits(shifted) - 0x4B400000u + 127u) << 23;
  return p * int_bits_to_float((int32_t)kbits);
}

/**
 * alpha = min(0.99, opacity exp(power)) = min(0.99, 2^t), t = power log2(e) + log2(opacity);
 * 0 where the pixel skips this Gaussian: power > 0, or alpha < 1/255 (tested as
 * t < log2(1/255), which also masks every t where the unclamped exp2 is out of range).
 */
SPLAT_HD inline float splat_alpha(float log2_opacity, float power) {
  const float t = power * kLog2E + log2_opacity;
  const float e = fast_exp2_unclamped(t);
  const float a = (power <= 0.0f) & (t >= kLog2AlphaMin) ? e : 0.0f;
  return min_f(a, kAlphaMax);
}

}  // namespace splat
