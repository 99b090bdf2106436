// The CUDA rasterizer's kernels (docs/CUDA.md): deformation from keyframes, preprocess with
// opacity-aware ellipse tile bounds, key duplication, tile ranges, per-tile blending (frame and
// label channel) and masked compositing for picks and regions. Every formula is a call into
// src/common/ (SPLAT_HD functions shared with the CPU backend); this file only arranges the work.
//
// NOT YET RUN ON A GPU: written and compiled in a session without a device; see docs/CUDA.md
// for what was verified and what a GPU session must check first.
#include <cuda_runtime.h>

#include "../common/alpha.h"
#include "../common/deform.h"
#include "../common/gaussian.h"
#include "../common/half.h"
#include "../common/label.h"
#include "../common/splat.h"
#include "kernels.h"
#include "util.cuh"

namespace splat::cuda {
namespace {

// ---------------------------------------------------------------------------------------------
// Deformation from keyframes (or from the network's output, with blend = false)

__global__ void deform_kernel(DeformArgs a) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= a.n) return;
  float scale[3], q[4];
  apply_deform(a.positions + i * 3, a.scales + i * 3, a.rotations + i * 4, a.dxyz_a + i * 3, a.drot_a + i * 4,
               a.dscale_a + i * 3, a.dxyz_b + i * 3, a.drot_b + i * 4, a.dscale_b + i * 3, a.blend, a.u,
               a.mean_out + i * 3, scale, q);
  const Sym3 S = covariance_3d(scale, q);
  float* c = a.cov_out + i * 6;
  c[0] = S.xx;
  c[1] = S.xy;
  c[2] = S.xz;
  c[3] = S.yy;
  c[4] = S.yz;
  c[5] = S.zz;
}

// ---------------------------------------------------------------------------------------------
// Preprocess: one thread per Gaussian

__global__ void __launch_bounds__(256) preprocess_kernel(PreprocessArgs a) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  bool visible = false;
  if (i < a.n) {
    uint32_t count = 0;
    const float log2_o = a.log2_opacity_scale ? scaled_log2_opacity(a.log2_opacities[i], a.log2_opacity_scale[i])
                                              : a.log2_opacities[i];
    const float* m = a.mean + i * 3;
    Splat sp;
    if (project_splat(a.cam, m, a.cov + i * 6, log2_o, &sp)) {
      visible = true;
      const int K3 = (a.sh_degree + 1) * (a.sh_degree + 1) * 3;
      float sh[48];
      const uint16_t* src = a.sh + i * (size_t)K3;
      for (int k = 0; k < K3; ++k) sh[k] = half_to_float(src[k]);
      splat_colour(a.cam, m, a.sh_degree, sh, a.tint ? a.tint + i * 4 : nullptr, &sp);
      for_each_splat_tile(sp, a.cam.width, a.cam.height, [&](int) { ++count; });
      a.splats[i] = sp;
    }
    a.touched[i] = count;
  }
  const int block_visible = __syncthreads_count(visible);
  if (threadIdx.x == 0 && block_visible) atomicAdd(a.visible, (unsigned long long)block_visible);
}

// ---------------------------------------------------------------------------------------------
// Keys: (tile << 32) | depth bits. Depths are > 0.2, so their float bits order like the floats;
// the radix sort is stable and the pairs are written in Gaussian order, so ties in (tile,
// depth) keep the index order (RENDERING.md step 8).

__global__ void duplicate_kernel(DuplicateArgs a) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= a.n) return;
  const uint32_t count = a.touched[i];
  if (count == 0) return;
  size_t o = a.offsets[i] - count;
  const Splat sp = a.splats[i];
  const uint64_t depth_bits = float_to_uint_bits(sp.depth);
  for_each_splat_tile(sp, a.width, a.height, [&](int tile) {
    a.keys[o] = ((uint64_t)(uint32_t)tile << 32) | depth_bits;
    a.vals[o] = (uint32_t)i;
    ++o;
  });
}

__global__ void tile_ranges_kernel(const uint64_t* keys, size_t e, uint2* ranges) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= e) return;
  const uint32_t tile = (uint32_t)(keys[i] >> 32);
  if (i == 0) {
    ranges[tile].x = 0;
  } else {
    const uint32_t prev = (uint32_t)(keys[i - 1] >> 32);
    if (prev != tile) {
      ranges[prev].y = (uint32_t)i;
      ranges[tile].x = (uint32_t)i;
    }
  }
  if (i == e - 1) ranges[tile].y = (uint32_t)e;
}

// ---------------------------------------------------------------------------------------------
// Blend: one block per tile, one thread per pixel. The tile's sorted list is walked in batches
// of 256 splats loaded into shared memory; a pixel leaves the loop when it stops (T' < 1e-4),
// the block when all its pixels have. Label channel (kLabels): as on the CPU, the tile's
// distinct labels are taken in groups of 16; each group composites the list once more (T is
// recomputed identically) with one weight plane per label in shared memory, so W_k is exact
// for any number of labels; the first pass also writes the frame.

struct BatchSmem {
  float u[kTilePixels], v[kTilePixels], A[kTilePixels], B[kTilePixels], C[kTilePixels], lo[kTilePixels];
  float r[kTilePixels], g[kTilePixels], b[kTilePixels], d[kTilePixels];
};

__device__ inline void load_splat(BatchSmem& sm, int j, const Splat& s) {
  sm.u[j] = s.u;
  sm.v[j] = s.v;
  sm.A[j] = s.A;
  sm.B[j] = s.B;
  sm.C[j] = s.C;
  sm.lo[j] = s.log2_opacity;
  sm.r[j] = s.r;
  sm.g[j] = s.g;
  sm.b[j] = s.b;
  sm.d[j] = s.depth;
}

constexpr int kLabelSlots = 16;

template <bool kLabels>
__global__ void __launch_bounds__(kTilePixels) blend_kernel(BlendArgs a) {
  __shared__ BatchSmem sm;
  __shared__ uint8_t s_slot[kTilePixels];
  __shared__ uint8_t s_lut[256];
  __shared__ uint32_t s_present[8];
  __shared__ int s_distinct[256];
  __shared__ int s_nd;
  __shared__ float s_W[kLabels ? kLabelSlots : 1][kTilePixels];

  const int tiles_x = (a.width + kTileSize - 1) / kTileSize;
  const int tile = blockIdx.x;
  const int tid = threadIdx.x;
  const int px = (tile % tiles_x) * kTileSize + tid % kTileSize;
  const int py = (tile / tiles_x) * kTileSize + tid / kTileSize;
  const bool inside = px < a.width && py < a.height;
  const uint2 range = a.ranges[tile];
  const float fx = (float)px + 0.5f, fy = (float)py + 0.5f;

  int nd = 0;
  if (kLabels) {
    if (tid < 8) s_present[tid] = 0;
    __syncthreads();
    for (uint32_t e = range.x + tid; e < range.y; e += kTilePixels) {
      const uint32_t l = a.labels[a.vals[e]];
      if (l) atomicOr(&s_present[l >> 5], 1u << (l & 31));
    }
    __syncthreads();
    if (tid == 0) {
      int k = 0;
      for (int l = 1; l < 256; ++l)
        if ((s_present[l >> 5] >> (l & 31)) & 1u) s_distinct[k++] = l;
      s_nd = k;
    }
    __syncthreads();
    nd = s_nd;
  }

  int best_label = 0;
  float best_w = 0.0f;
  uint32_t evals = 0;
  const int groups = kLabels && nd > 0 ? (nd + kLabelSlots - 1) / kLabelSlots : 1;
  for (int g = 0; g < groups; ++g) {
    const int ng = kLabels ? min(kLabelSlots, nd - g * kLabelSlots) : 0;
    if (kLabels) {
      s_lut[tid] = 0xff;  // 256 threads, 256 labels
      __syncthreads();
      if (tid < ng) s_lut[s_distinct[g * kLabelSlots + tid]] = (uint8_t)tid;
      for (int j = 0; j < ng; ++j) s_W[j][tid] = 0.0f;  // own column only
    }
    float T = inside ? 1.0f : -1.0f;  // negative: stopped (pixels outside the image start so)
    float R = 0.0f, G = 0.0f, B = 0.0f, D = 0.0f;
    for (uint32_t start = range.x; start < range.y; start += kTilePixels) {
      if (__syncthreads_count(T > 0.0f) == 0) break;  // also the barrier before the batch is rewritten
      const uint32_t e = start + tid;
      if (e < range.y) {
        const uint32_t id = a.vals[e];
        load_splat(sm, tid, a.splats[id]);
        if (kLabels) s_slot[tid] = s_lut[a.labels[id]];
      }
      __syncthreads();
      const int cnt = (int)min((uint32_t)kTilePixels, range.y - start);
      for (int j = 0; j < cnt && T > 0.0f; ++j) {
        const float t = splat_log2_alpha(sm.A[j], sm.B[j], sm.C[j], sm.lo[j], fx - sm.u[j], fy - sm.v[j]);
        const float w = composite_step(&T, alpha_from_log2(t));
        R += w * sm.r[j];
        G += w * sm.g[j];
        B += w * sm.b[j];
        D += w * sm.d[j];
        if (kLabels) {
          const uint8_t slot = s_slot[j];
          if (slot != 0xff) s_W[slot][tid] += w;
        }
        if (g == 0) ++evals;
      }
    }
    if (g == 0 && inside) {
      const float Tf = fabsf(T);
      const size_t p = (size_t)py * a.width + px;
      a.rgb[p * 3 + 0] = channel_to_u8(R + Tf * a.bg[0]);
      a.rgb[p * 3 + 1] = channel_to_u8(G + Tf * a.bg[1]);
      a.rgb[p * 3 + 2] = channel_to_u8(B + Tf * a.bg[2]);
      if (a.alpha) a.alpha[p] = 1.0f - Tf;
      if (a.depth) a.depth[p] = resolve_depth(D, 1.0f - Tf);
    }
    if (kLabels)
      for (int j = 0; j < ng; ++j)
        label_fold(s_distinct[g * kLabelSlots + j], s_W[j][tid], a.label_threshold, &best_label, &best_w);
    if (kLabels) __syncthreads();  // s_lut / s_W of the next group
  }
  if (kLabels && inside) a.label_out[(size_t)py * a.width + px] = (uint8_t)best_label;

  // Evaluations: warp sums, one atomic per warp.
  unsigned long long ev = evals;
  for (int off = 16; off > 0; off >>= 1) ev += __shfl_down_sync(0xffffffffu, ev, off);
  if ((tid & 31) == 0 && ev) atomicAdd(a.evaluated, ev);
}

// ---------------------------------------------------------------------------------------------
// Masked compositing (pick, region): only the masked pixels of the listed tiles start live; per
// tile entry the sum over those pixels of w = T alpha, reduced in a fixed order (so a pick gives
// the same bits every time). Entries are taken 32 at a time: each thread writes its w for the
// 32 into shared memory, then each warp sums 4 entries over the 256 pixels.

constexpr int kMaskedBatch = 32;

__global__ void __launch_bounds__(kTilePixels) masked_kernel(MaskedArgs a) {
  __shared__ BatchSmem sm;  // only the first kMaskedBatch slots used
  __shared__ float s_w[kMaskedBatch][kTilePixels];
  const int i = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const uint32_t tile = a.tiles[i];
  const int tiles_x = (a.width + kTileSize - 1) / kTileSize;
  const int px = (int)(tile % tiles_x) * kTileSize + tid % kTileSize;
  const int py = (int)(tile / tiles_x) * kTileSize + tid / kTileSize;
  const uint64_t* mask = a.masks + (size_t)i * 4;
  const bool live = px < a.width && py < a.height && ((mask[tid >> 6] >> (tid & 63)) & 1ull);
  const float fx = (float)px + 0.5f, fy = (float)py + 0.5f;
  const uint2 range = a.ranges[tile];
  float T = live ? 1.0f : -1.0f;
  float D = 0.0f;
  for (uint32_t start = range.x; start < range.y; start += kMaskedBatch) {
    if (__syncthreads_count(T > 0.0f) == 0) {
      for (uint32_t e = start + tid; e < range.y; e += kTilePixels) a.entry_w[e] = 0.0f;
      break;
    }
    if (tid < kMaskedBatch && start + tid < range.y) load_splat(sm, tid, a.splats[a.vals[start + tid]]);
    __syncthreads();
    const int cnt = (int)min((uint32_t)kMaskedBatch, range.y - start);
    for (int j = 0; j < cnt; ++j) {
      float w = 0.0f;
      if (T > 0.0f) {
        const float t = splat_log2_alpha(sm.A[j], sm.B[j], sm.C[j], sm.lo[j], fx - sm.u[j], fy - sm.v[j]);
        w = composite_step(&T, alpha_from_log2(t));
        D += w * sm.d[j];
      }
      s_w[j][tid] = w;
    }
    __syncthreads();
    for (int j = warp * 4; j < warp * 4 + 4; ++j) {
      if (j >= cnt) break;
      float sum = 0.0f;
      for (int k = 0; k < kTilePixels / 32; ++k) sum += s_w[j][lane + 32 * k];
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      if (lane == 0) a.entry_w[start + j] = sum;
    }
  }
  if (a.td) {
    a.td[(size_t)i * 2 * kTilePixels + tid] = T;
    a.td[(size_t)i * 2 * kTilePixels + kTilePixels + tid] = D;
  }
}

__global__ void gather_entries_kernel(const uint32_t* tiles, const uint2* ranges, const uint32_t* out_offset,
                                      const uint32_t* vals, const float* entry_w, uint32_t* ids_out, float* w_out) {
  const int i = blockIdx.x;
  const uint2 r = ranges[tiles[i]];
  const uint32_t o = out_offset[i];
  for (uint32_t e = r.x + threadIdx.x; e < r.y; e += blockDim.x) {
    ids_out[o + (e - r.x)] = vals[e];
    w_out[o + (e - r.x)] = entry_w[e];
  }
}

}  // namespace

void launch_deform(const DeformArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  deform_kernel<<<blocks_for(a.n, 256), 256, 0, s>>>(a);
  check_launch("deform_kernel");
}

void launch_preprocess(const PreprocessArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  preprocess_kernel<<<blocks_for(a.n, 256), 256, 0, s>>>(a);
  check_launch("preprocess_kernel");
}

void launch_duplicate(const DuplicateArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  duplicate_kernel<<<blocks_for(a.n, 256), 256, 0, s>>>(a);
  check_launch("duplicate_kernel");
}

void launch_tile_ranges(const uint64_t* keys, size_t e, uint2* ranges, cudaStream_t s) {
  if (e == 0) return;
  tile_ranges_kernel<<<blocks_for(e, 256), 256, 0, s>>>(keys, e, ranges);
  check_launch("tile_ranges_kernel");
}

void launch_blend(const BlendArgs& a, cudaStream_t s) {
  const unsigned tiles = (unsigned)(((a.width + kTileSize - 1) / kTileSize) * ((a.height + kTileSize - 1) / kTileSize));
  if (a.labels)
    blend_kernel<true><<<tiles, kTilePixels, 0, s>>>(a);
  else
    blend_kernel<false><<<tiles, kTilePixels, 0, s>>>(a);
  check_launch("blend_kernel");
}

void launch_masked(const MaskedArgs& a, cudaStream_t s) {
  if (a.count == 0) return;
  masked_kernel<<<(unsigned)a.count, kTilePixels, 0, s>>>(a);
  check_launch("masked_kernel");
}

void launch_gather_entries(int count, const uint32_t* tiles, const uint2* ranges, const uint32_t* out_offset,
                           const uint32_t* vals, const float* entry_w, uint32_t* ids_out, float* w_out, cudaStream_t s) {
  if (count == 0) return;
  gather_entries_kernel<<<(unsigned)count, 256, 0, s>>>(tiles, ranges, out_offset, vals, entry_w, ids_out, w_out);
  check_launch("gather_entries_kernel");
}

}  // namespace splat::cuda
