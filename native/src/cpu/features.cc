#include "features.h"

#include <cmath>
#include <vector>

#include "half.h"

namespace splat::cpu {

namespace {

/** Sum of squares of row [dim] (8 float lanes, then double). */
inline double sum_squares(const float* row, int dim) {
  int d = 0;
  double ss = 0;
#ifdef SPLAT_F16C
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (; d + 16 <= dim; d += 16) {
    const __m256 x0 = _mm256_loadu_ps(row + d), x1 = _mm256_loadu_ps(row + d + 8);
    a0 = _mm256_fmadd_ps(x0, x0, a0);
    a1 = _mm256_fmadd_ps(x1, x1, a1);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(a0, a1));
  for (float v : lanes) ss += v;
#endif
  for (; d < dim; ++d) ss += (double)row[d] * row[d];
  return ss;
}

}  // namespace

void normalize_features(ThreadPool& pool, const uint16_t* in, uint16_t* out, size_t n, int dim) {
  pool.parallel_for(n, 1024, [&](size_t b, size_t e) {
    std::vector<float> row((size_t)dim);
    for (size_t i = b; i < e; ++i) {
      decode_halves(in + i * dim, row.data(), dim);
      const double norm = std::sqrt(sum_squares(row.data(), dim));
      const float inv = norm > 0 && std::isfinite(norm) ? (float)(1.0 / norm) : 0.0f;
      for (int d = 0; d < dim; ++d) row[d] = inv == 0.0f ? 0.0f : row[d] * inv;
      encode_halves(row.data(), out + i * dim, dim);
    }
  });
}

namespace {

/** Dot product of one fp16 row with q [dim]. */
inline float row_dot(const uint16_t* f, const float* q, int dim) {
  int d = 0;
  float sum = 0.0f;
#ifdef SPLAT_F16C
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (; d + 32 <= dim; d += 32) {
    a0 = _mm256_fmadd_ps(load_half8(f + d), _mm256_loadu_ps(q + d), a0);
    a1 = _mm256_fmadd_ps(load_half8(f + d + 8), _mm256_loadu_ps(q + d + 8), a1);
    a2 = _mm256_fmadd_ps(load_half8(f + d + 16), _mm256_loadu_ps(q + d + 16), a2);
    a3 = _mm256_fmadd_ps(load_half8(f + d + 24), _mm256_loadu_ps(q + d + 24), a3);
  }
  for (; d + 8 <= dim; d += 8) a0 = _mm256_fmadd_ps(load_half8(f + d), _mm256_loadu_ps(q + d), a0);
  const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  sum = _mm_cvtss_f32(h);
#endif
  for (; d < dim; ++d) sum += half_to_float(f[d]) * q[d];
  return sum;
}

}  // namespace

void feature_dot(ThreadPool& pool, const uint16_t* unit, size_t n, int dim, const float* q, float* out) {
  pool.parallel_for(n, 4096, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) out[i] = row_dot(unit + i * (size_t)dim, q, dim);
  });
}

void accumulate_features(const uint16_t* unit, int dim, const uint32_t* ids, const float* w, size_t count, float* out) {
  std::vector<float> row((size_t)dim);
  for (size_t j = 0; j < count; ++j) {
    decode_halves(unit + (size_t)ids[j] * dim, row.data(), dim);
    const float wj = w[j];
    for (int d = 0; d < dim; ++d) out[d] += wj * row[d];
  }
}

}  // namespace splat::cpu
