// Per-pixel compositing terms (RENDERING.md "Per pixel"): the Gaussian's exponent at a pixel,
// a polynomial exp that vectorizes, and the clamped alpha.
#pragma once

#include "hd.h"

namespace splat {

constexpr float kAlphaMin = 1.0f / 255.0f;  // skip below
constexpr float kAlphaMax = 0.99f;          // clamp above
constexpr float kTransmittanceMin = 1e-4f;  // stop a pixel when T' would fall below

/** power = -0.5 (A dx^2 + C dy^2) - B dx dy, conic = (A, B, C). */
SPLAT_HD inline float gaussian_power(float ca, float cb, float cc, float dx, float dy) {
  return -0.5f * (ca * dx * dx + cc * dy * dy) - cb * dx * dy;
}

/**
 * exp(x) for x <= 0 with ~1e-7 relative error, branch-free so loops over it vectorize:
 * x = k ln2 + f, |f| <= ln2/2, exp(f) by a degree-6 polynomial (Cephes' expf coefficients),
 * 2^k assembled in the exponent bits. Inputs below -87 are clamped (result ~1.6e-38).
 */
SPLAT_HD inline float fast_exp(float x) {
  x = max_f(x, -87.0f);
  const float t = x * 1.44269504088896341f;
  const float k = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick)
  float f = x - k * 0.693359375f;                    // Cody-Waite: ln2 = hi + lo
  f = f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * f * f + f + 1.0f;
  const int32_t ki = (int32_t)k;
  return p * int_bits_to_float((ki + 127) << 23);
}

/**
 * alpha = min(0.99, opacity exp(power)); returns 0 where the pixel must skip this Gaussian
 * (power > 0 or alpha < 1/255).
 */
SPLAT_HD inline float splat_alpha(float opacity, float power) {
  const float alpha = min_f(kAlphaMax, opacity * fast_exp(power));
  return (power <= 0.0f && alpha >= kAlphaMin) ? alpha : 0.0f;
}

}  // namespace splat
