// Data handed between the CPU stages. Shapes in brackets; N = Gaussians in the scene,
// M = visible Gaussians, E = tile entries, TILES = tiles_x * tiles_y.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "../backend.h"
#include "../common/gaussian.h"
#include "../common/splat.h"

namespace splat::cpu {

constexpr int kTile = kTileSize;  // tile side in pixels (common/tiles.h); a tile is 256 pixels

// A tile row is blended in spans of kSpan pixels, one vector register each: one AVX-512
// register, else one AVX2 register (two spans per row).
#if defined(__AVX512F__)
constexpr int kSpan = 16;
#else
constexpr int kSpan = 8;
#endif
constexpr int kSpans = kTile / kSpan;

/**
 * Per tile entry, the tile rows (0..15) the ellipse crosses in each span column:
 * byte s = first row | last row << 4; first > last means none.
 */
using SpanRows = uint16_t;
static_assert(kSpans <= 2, "SpanRows holds two spans");
constexpr SpanRows kNoRows = 0x01;  // first 1, last 0

// One projected Gaussian: common/splat.h (shared with the CUDA backend).
using ::splat::Splat;

/** Canonical or deformed geometry the projection reads. */
struct Geometry {
  const float* mean;  // [N,3] world units
  const float* cov;   // [N,6] world covariance, upper triangle xx,xy,xz,yy,yz,zz
};

/** Read-only view of a scene's activated arrays. */
struct SceneArrays {
  size_t n = 0;
  int sh_degree = 0;
  const float* positions = nullptr;  // [N,3]
  const float* scales = nullptr;     // [N,3] exp(logScales)
  const float* rotations = nullptr;  // [N,4] normalize(r), (w,x,y,z)
  const float* opacities = nullptr;  // [N] sigmoid(opacityLogits)
  const float* log2_opacities = nullptr;  // [N] log2(sigmoid(opacityLogits))
  const uint16_t* sh = nullptr;      // [N,K,3] fp16
  const float* cov = nullptr;        // [N,6] canonical covariance (used when not deformed)
  const float* log2_opacity_scale = nullptr;  // [N] appearance: log2 of the opacity factor, or null
  const float* tint = nullptr;                // [N,4] appearance: rgb + mix, or null
};

/** The two keyframes bracketing t, as rows of [N,3] / [N,4] / [N,3] arrays. */
struct DeformPair {
  const float* dxyz_a;
  const float* drot_a;
  const float* dscale_a;
  const float* dxyz_b;  // == *_a when no blend
  const float* drot_b;
  const float* dscale_b;
  bool blend;  // false: use a as is
  float u;     // weight of b
};

/** Uninitialised, growable scratch array (never shrinks, never zero-fills). */
template <class T>
class Scratch {
 public:
  T* ensure(size_t n) {
    if (n > cap_) {
      data_.reset(new T[n]);
      cap_ = n;
    }
    return data_.get();
  }
  T* get() const { return data_.get(); }

 private:
  std::unique_ptr<T[]> data_;
  size_t cap_ = 0;
};

/** Append-only buffer that grows by doubling; writes go through a raw pointer (no per-element checks). */
template <class T>
class GrowBuf {
 public:
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  const T* data() const { return data_.get(); }
  /** Room for `extra` more elements; returns where the next one goes. */
  T* reserve_more(size_t extra) {
    if (size_ + extra > cap_) {
      size_t cap = cap_ ? cap_ * 2 : 4096;
      while (cap < size_ + extra) cap *= 2;
      std::unique_ptr<T[]> next(new T[cap]);
      if (size_) std::copy(data_.get(), data_.get() + size_, next.get());
      data_ = std::move(next);
      cap_ = cap;
    }
    return data_.get() + size_;
  }
  void commit(size_t n) { size_ += n; }

 private:
  std::unique_ptr<T[]> data_;
  size_t cap_ = 0, size_ = 0;
};

/** Per-render scratch, reused across renders of one scene (one per render in flight). */
struct Workspace {
  Scratch<float> mean;        // [N,3] deformed means
  Scratch<float> cov;         // [N,6] deformed covariances
  Scratch<Splat> splats;      // [N] indexed by Gaussian
  Scratch<Splat> sorted;      // [M] visible splats in depth order
  Scratch<uint8_t> visible;   // [N] 1 when the Gaussian's 1/255 box covers a pixel centre
  Scratch<uint32_t> ntiles;   // [M] tiles each sorted Gaussian touches
  Scratch<uint32_t> keys;     // [M] depth bits, then sorted
  Scratch<uint32_t> ids;      // [M] Gaussian index, then sorted
  Scratch<uint32_t> keys_tmp; // [M]
  Scratch<uint32_t> ids_tmp;  // [M]
  Scratch<uint32_t> tile_counts;  // [threads, TILES] per-chunk counts then offsets
  Scratch<uint32_t> tile_start;   // [TILES + 1]
  Scratch<uint32_t> entries;      // [E] index into `sorted`, tile-major, ascending within a tile
  Scratch<SpanRows> entry_rows;   // [E] rows each entry covers per span
  Scratch<size_t> chunk_counts;   // [chunks]
  Scratch<uint8_t> sorted_labels; // [M] label of each sorted splat (render with labels)
  Scratch<float> entry_weights;   // [E] per tile entry: sum of w over the masked pixels (pick, region)
  std::vector<GrowBuf<uint64_t>> chunk_tiles;  // per binning chunk: (tile | rows << 32) in order
};

/** Frame buffers the blend writes; allocated by the caller. */
struct FrameOut {
  uint8_t* rgb;  // [H,W,3]
  float* depth;  // [H,W]
  float* alpha;  // [H,W]
  uint8_t* labels = nullptr;  // [H,W] when the label channel is requested, else null
};

/** The label channel's inputs. */
struct LabelParams {
  const uint8_t* labels = nullptr;  // [N] per Gaussian, 0 = none
  float threshold = 0.5f;           // W_k >= threshold qualifies
};

// Timings and counters of a request: backend.h (shared with the CUDA backend).
using ::splat::RenderStats;
using ::splat::StageTimings;

}  // namespace splat::cpu
