// fp16 <-> fp32 on the CPU: bulk conversions (F16C, multi-threaded, streaming stores for large
// arrays) and small inline helpers for the stages (SH and feature rows). Bit-exact with
// common/half.h (and so with server/scene/half.ts): round to nearest even, one quiet NaN.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__F16C__) && defined(__AVX2__)
#include <immintrin.h>
#define SPLAT_F16C 1
#endif

#include "../common/half.h"
#include "thread_pool.h"

namespace splat::cpu {

/** dst [n] = fp16(src [n]). Parallel over the pool above ~64K values. */
void float_to_half_bulk(ThreadPool& pool, const float* src, uint16_t* dst, size_t n);
/** dst [n] = fp32(src [n]). */
void half_to_float_bulk(ThreadPool& pool, const uint16_t* src, float* dst, size_t n);

#ifdef SPLAT_F16C
/** 8 halves -> 8 floats (exact; NaN payloads are irrelevant where this is used). */
inline __m256 load_half8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif

/** dst [n] = fp32(src [n]) for a short row (no threads, no NaN canonicalization). */
inline void decode_halves(const uint16_t* src, float* dst, int n) {
  int i = 0;
#ifdef SPLAT_F16C
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_half8(src + i));
#endif
  for (; i < n; ++i) dst[i] = half_to_float(src[i]);
}

/**
 * dst [n] = fp16(src [n]) for a short row of finite values (round to nearest even; F16C
 * rounds exactly like float_to_half_bits, NaN payloads aside).
 */
inline void encode_halves(const float* src, uint16_t* dst, int n) {
  int i = 0;
#ifdef SPLAT_F16C
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) dst[i] = float_to_half_bits(src[i]);
}

}  // namespace splat::cpu
