// IEEE 754 binary16 <-> binary32, scalar and bit-exact with server/scene/half.ts (the JS
// oracle): round to nearest even, overflow to +-inf, subnormals kept, NaN written as the one
// quiet NaN sign | 0x7e00 (half) / 0x7fc00000 with the sign dropped (float, as a JS
// Float32Array stores NaN). The CPU backend's bulk paths (cpu/half.cc, F16C) produce the same
// bits; these scalar forms are their tails and the CUDA backend's device code.
#pragma once

#include "hd.h"

namespace splat {

constexpr uint16_t kHalfQuietNaN = 0x7e00;
constexpr uint32_t kFloatQuietNaN = 0x7fc00000u;

/** float bits -> half bits, round to nearest even. */
SPLAT_HD inline uint16_t float_to_half_bits(float v) {
  const uint32_t x = float_to_uint_bits(v);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int exp = (int)((x >> 23) & 0xffu);
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | (mant ? kHalfQuietNaN : 0x7c00u));
  const int e = exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;  // below half the smallest subnormal -> signed zero
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still right
  return (uint16_t)(sign | h);
}

/** half bits -> float bits (exact; NaN -> kFloatQuietNaN). */
SPLAT_HD inline uint32_t half_to_float_bits(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return mant ? kFloatQuietNaN : (sign | 0x7f800000u);
  if (exp == 0) {
    if (mant == 0) return sign;
    // Subnormal: normalize. value = mant * 2^-24.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400u));
    return sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  return sign | ((exp + 127 - 15) << 23) | (mant << 13);
}

SPLAT_HD inline float half_to_float(uint16_t h) { return int_bits_to_float((int32_t)half_to_float_bits(h)); }

}  // namespace splat
