// Semantic features on the CPU: [N,D] fp16 rows kept L2-normalized, cosine similarity against
// a query (memory-bound: N*D*2 bytes streamed once), and weighted sums of rows (pick).
#pragma once

#include <cstddef>
#include <cstdint>

#include "thread_pool.h"

namespace splat::cpu {

/** out [n,dim] = in rows / |row| (fp16 in and out, norm in double); zero / non-finite rows -> 0. */
void normalize_features(ThreadPool& pool, const uint16_t* in, uint16_t* out, size_t n, int dim);

/** out [n] = unit [n,dim] . q [dim] (F16C decode + FMA, parallel over rows). */
void feature_dot(ThreadPool& pool, const uint16_t* unit, size_t n, int dim, const float* q, float* out);

/** out [dim] += sum_j w [j] * unit row ids [j], for count rows. */
void accumulate_features(const uint16_t* unit, int dim, const uint32_t* ids, const float* w, size_t count, float* out);

}  // namespace splat::cpu
