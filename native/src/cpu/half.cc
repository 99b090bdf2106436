#include "half.h"

namespace splat::cpu {
namespace {

constexpr size_t kGrain = 1 << 16;               // values per task, at least
constexpr size_t kStreamBytes = (size_t)32 << 20;  // streaming (non-temporal) stores above this output size

void f2h_range(const float* src, uint16_t* dst, size_t n, bool stream) {
  size_t i = 0;
#ifdef SPLAT_F16C
  // Scalar until dst is 16-byte aligned (streaming stores need it), then 8 at a time.
  while (i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0) {
    dst[i] = float_to_half_bits(src[i]);
    ++i;
  }
  const __m128i abs_mask = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
  const __m128i sign_mask = _mm_set1_epi16((short)0x8000), qnan = _mm_set1_epi16((short)kHalfQuietNaN);
  auto convert = [&](size_t k) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + k), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // F16C keeps (part of) a NaN's payload; the oracle writes sign | 0x7e00.
    const __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, abs_mask), inf);
    return _mm_blendv_epi8(h, _mm_or_si128(_mm_and_si128(h, sign_mask), qnan), nan);
  };
  if (stream) {
    for (; i + 8 <= n; i += 8) _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), convert(i));
    _mm_sfence();
  } else {
    for (; i + 8 <= n; i += 8) _mm_store_si128(reinterpret_cast<__m128i*>(dst + i), convert(i));
  }
#else
  (void)stream;
#endif
  for (; i < n; ++i) dst[i] = float_to_half_bits(src[i]);
}

void h2f_range(const uint16_t* src, float* dst, size_t n, bool stream) {
  size_t i = 0;
#ifdef SPLAT_F16C
  while (i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31) != 0) {
    dst[i] = int_bits_to_float((int32_t)half_to_float_bits(src[i]));
    ++i;
  }
  const __m256 qnan = _mm256_castsi256_ps(_mm256_set1_epi32((int)kFloatQuietNaN));
  auto convert = [&](size_t k) {
    const __m256 v = load_half8(src + k);
    return _mm256_blendv_ps(v, qnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));  // one NaN, as the oracle
  };
  if (stream) {
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, convert(i));
    _mm_sfence();
  } else {
    for (; i + 8 <= n; i += 8) _mm256_store_ps(dst + i, convert(i));
  }
#else
  (void)stream;
#endif
  for (; i < n; ++i) dst[i] = int_bits_to_float((int32_t)half_to_float_bits(src[i]));
}

}  // namespace

void float_to_half_bulk(ThreadPool& pool, const float* src, uint16_t* dst, size_t n) {
  const bool stream = n * sizeof(uint16_t) > kStreamBytes;
  if (n < 2 * kGrain) return f2h_range(src, dst, n, stream);
  pool.parallel_for(n, kGrain, [&](size_t b, size_t e) { f2h_range(src + b, dst + b, e - b, stream); });
}

void half_to_float_bulk(ThreadPool& pool, const uint16_t* src, float* dst, size_t n) {
  const bool stream = n * sizeof(float) > kStreamBytes;
  if (n < 2 * kGrain) return h2f_range(src, dst, n, stream);
  pool.parallel_for(n, kGrain, [&](size_t b, size_t e) { h2f_range(src + b, dst + b, e - b, stream); });
}

}  // namespace splat::cpu
