// Launchers of the CUDA backend's kernels, one per stage, and the arguments they take (device
// pointers). The host orchestration (cuda/backend.cu) calls them on one stream; the math inside
// every kernel comes from src/common/ (the same inline functions the CPU backend calls).
//
//   deform (keyframes or network output) -> preprocess (project, colour, count tiles)
//   -> inclusive scan of tile counts -> duplicate ((tile << 32 | depth bits), Gaussian) pairs
//   -> CUB radix sort -> tile ranges -> blend (frame, optional label channel)
//   pick / region: masked compositing of listed tiles -> per-entry weight sums
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../common/gaussian.h"
#include "../common/splat.h"

namespace splat::cuda {

constexpr int kTilePixels = kTileSize * kTileSize;  // 256 threads per tile block

// ---------------------------------------------------------------------------------------------
// raster.cu

struct DeformArgs {
  size_t n;
  const float* positions;  // [N,3]
  const float* scales;     // [N,3] exp(logScales)
  const float* rotations;  // [N,4] normalize(r)
  const float *dxyz_a, *drot_a, *dscale_a;  // [N,3], [N,4], [N,3]
  const float *dxyz_b, *drot_b, *dscale_b;  // == *_a when !blend
  bool blend;
  float u;
  float* mean_out;  // [N,3]
  float* cov_out;   // [N,6]
};
/** mean = x + dx, cov = Sigma(exp(s) + ds, normalize(r) + dr) (common/deform.h, gaussian.h). */
void launch_deform(const DeformArgs& a, cudaStream_t s);

struct PreprocessArgs {
  size_t n;
  int sh_degree;
  CameraParams cam;
  const float* mean;                // [N,3]
  const float* cov;                 // [N,6]
  const float* log2_opacities;      // [N]
  const float* log2_opacity_scale;  // [N] appearance, or null
  const float* tint;                // [N,4] appearance, or null
  const uint16_t* sh;               // [N,K,3] fp16
  Splat* splats;                    // [N] out (visible ones)
  uint32_t* touched;                // [N] out: tiles each Gaussian touches (0 when culled)
  unsigned long long* visible;      // [1] += visible Gaussians
};
/** project_splat + splat_colour + for_each_splat_tile (count) per Gaussian. */
void launch_preprocess(const PreprocessArgs& a, cudaStream_t s);

struct DuplicateArgs {
  size_t n;
  int width, height;
  const Splat* splats;
  const uint32_t* touched;  // [N]
  const uint32_t* offsets;  // [N] inclusive sum of touched
  uint64_t* keys;           // [E] (tile << 32) | depth bits
  uint32_t* vals;           // [E] Gaussian index
};
void launch_duplicate(const DuplicateArgs& a, cudaStream_t s);

/** ranges [TILES] (zeroed by the caller) = [start, end) of each tile in the sorted keys [e]. */
void launch_tile_ranges(const uint64_t* keys, size_t e, uint2* ranges, cudaStream_t s);

struct BlendArgs {
  int width, height;
  const uint2* ranges;  // [TILES]
  const uint32_t* vals; // [E] sorted Gaussian indices
  const Splat* splats;  // [N]
  float bg[3];
  uint8_t* rgb;         // [H,W,3]
  float* depth;         // [H,W] or null
  float* alpha;         // [H,W] or null
  const uint8_t* labels;  // [N] per Gaussian, or null (no label channel)
  float label_threshold;
  uint8_t* label_out;   // [H,W] when labels
  unsigned long long* evaluated;  // [1] += pixel x Gaussian evaluations
};
/** One block of 256 threads per tile; front-to-back with shared-memory batches, early exit. */
void launch_blend(const BlendArgs& a, cudaStream_t s);

struct MaskedArgs {
  int count;               // listed tiles
  const uint32_t* tiles;   // [count] tile indices
  const uint64_t* masks;   // [count,4] 256-bit pixel masks (bit y*16+x)
  int width, height;
  const uint2* ranges;
  const uint32_t* vals;
  const Splat* splats;
  float* entry_w;          // [E] out at the listed tiles' entries: sum over masked pixels of w
  float* td;               // [count,2,256] out (raster order): final T (negative once stopped), depth sum; or null
};
void launch_masked(const MaskedArgs& a, cudaStream_t s);

/**
 * Compacts the listed tiles' entries: for tile i, entries [ranges[t].x, ranges[t].y) go to
 * out_offset[i].. as (Gaussian index, entry weight).
 */
void launch_gather_entries(int count, const uint32_t* tiles, const uint2* ranges, const uint32_t* out_offset,
                           const uint32_t* vals, const float* entry_w, uint32_t* ids_out, float* w_out, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// sort.cu (CUB)

/** Temp bytes for sort_pairs / inclusive_scan of this many items. */
size_t sort_temp_bytes(int items, int end_bit);
size_t scan_temp_bytes(int items);
/**
 * Stable LSD radix sort of (keys, vals) [items] by bits [0, end_bit): keys/vals hold the input
 * and keys_alt/vals_alt are scratch; returns true when the sorted result is in the *_alt arrays.
 */
bool sort_pairs(void* temp, size_t temp_bytes, uint64_t* keys, uint64_t* keys_alt, uint32_t* vals, uint32_t* vals_alt,
                int items, int end_bit, cudaStream_t s);
void inclusive_scan(void* temp, size_t temp_bytes, const uint32_t* in, uint32_t* out, int items, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// features.cu

/**
 * out [n] = features [n,dim] (fp16, unit rows) . q [dim]; when flags is not null also
 * flags [n] = out >= theta (0 / 1).
 */
void launch_similarity(const uint16_t* features, size_t n, int dim, const float* q, float theta, float* out,
                       uint32_t* flags, cudaStream_t s);
/** ids [pos[i] - 1] = i where flags [i] (pos = inclusive sum of flags): ascending selection. */
void launch_scatter_selected(const uint32_t* flags, const uint32_t* pos, size_t n, uint32_t* ids, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// deform.cu (tensor cores)

constexpr int kNetMaxLayers = 17;  // kDeformMaxDepth trunk layers + the head

struct NetLayer {
  int input;  // LayerInput: 0 x, 1 h, 2 hx
  int k, n;   // padded inputs, outputs
  int relu;
  size_t w_off;  // halves into weights
  size_t b_off;  // floats into biases
};

struct NetArgs {
  int n_layers;
  NetLayer layers[kNetMaxLayers];
  int width, x_dim, x_pad, xyz_multires;
  bool is_6dof;
  const __half* weights;  // all layers, fp16 [n,k] each
  const float* biases;    // all layers, at t (t folded in)
  const float* xyz;       // [N,3] canonical centres
  size_t n;
  float *dxyz, *drot, *dscale;  // [N,3], [N,4], [N,3] out
};
/** Shared memory the network kernel needs for a trunk width / x padding. */
size_t deform_network_smem(int width, int x_pad);
void launch_deform_network(const NetArgs& a, cudaStream_t s);

}  // namespace splat::cuda
