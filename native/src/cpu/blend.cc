// Per-tile front-to-back compositing (docs/RENDERING.md "Per pixel"). Each tile keeps its
// 256 pixels' accumulators as structure-of-arrays; for every Gaussian of the tile's list
// (depth order) it visits, in each span column of kSpan pixels, only the rows the binning
// found its 1/255 ellipse crossing there (SpanRows), running one branch-free vectorized pass
// per (row, span) (masks as selects, polynomial exp2). A tile stops once every pixel has
// stopped (T' < 1e-4).
#include <atomic>
#include <cmath>

#include "../common/alpha.h"
#include "stages.h"

namespace splat::cpu {
namespace {

constexpr int kPix = kTile * kTile;

struct TileAcc {
  alignas(64) float T[kPix];  // transmittance; stored negated (-T) once the pixel has stopped
  alignas(64) float R[kPix];  // colour sums
  alignas(64) float G[kPix];
  alignas(64) float B[kPix];
  alignas(64) float D[kPix];  // depth sum
};

/**
 * One Gaussian's per-pixel constants replicated across kSpan lanes, so the span loop reads
 * them as vector loads instead of re-broadcasting scalars for every row it visits.
 */
struct alignas(64) SplatLanes {
  float u[kSpan], A[kSpan], log2_opacity[kSpan], r[kSpan], g[kSpan], b[kSpan], depth[kSpan];

  void set(const Splat& s) {
    for (int l = 0; l < kSpan; ++l) {
      u[l] = s.u;
      A[l] = s.A;
      log2_opacity[l] = s.log2_opacity;
      r[l] = s.r;
      g[l] = s.g;
      b[l] = s.b;
      depth[l] = s.depth;
    }
  }
};

/**
 * One Gaussian over one span of kSpan pixels of a row. px [kSpan] pixel-centre x;
 * B, C: the Gaussian's scaled conic terms, dy = row centre - v; T, R, G, B, D point at the
 * span's accumulators.
 *
 * Branch-free form of the per-pixel rule. splat_alpha gives 0 where the pixel skips. Then
 * alpha T is subtracted from T; a pixel stops when T' < 1e-4 and then holds -T. A stopped
 * pixel (T < 0) always stops again (T - alpha T < 0) and so keeps -T and adds nothing, and a
 * zero alpha never stops a live pixel, whose T is >= 1e-4. Every condition is a select and
 * every store unconditional, so GCC vectorizes the loop without masked stores (this needs
 * -fno-trapping-math, set in binding.gyp; check with -fopt-info-vec).
 */
inline void blend_span(const SplatLanes& g, const float* __restrict px, float Bc, float C, float dy,
                       float* __restrict T, float* __restrict R, float* __restrict G, float* __restrict B,
                       float* __restrict D) {
  for (int l = 0; l < kSpan; ++l) {
    const float power = gaussian_power_scaled(g.A[l], Bc, C, px[l] - g.u[l], dy);
    const float alpha = splat_alpha(g.log2_opacity[l], power);
    const float t = T[l];
    const float at = alpha * t;                // alpha T
    const float tn = t - at;                   // T (1 - alpha)
    const bool stop = tn < kTransmittanceMin;  // always true for stopped pixels (T < 0)
    const float w = stop ? 0.0f : at;
    R[l] += w * g.r[l];
    G[l] += w * g.g[l];
    B[l] += w * g.b[l];
    D[l] += w * g.depth[l];
    T[l] = stop ? -std::fabs(t) : tn;
  }
}

/** Whether every pixel of the tile has stopped (T < 0; pixels outside the image start so). */
inline bool tile_done(const float* T) {
  int live = 0;
  for (int p = 0; p < kPix; ++p) live += T[p] > 0.0f ? 1 : 0;
  return live == 0;
}

/** Composites one tile from its list ids [count] (indices into sorted). Returns evaluations. */
/**
 * Composites one tile from its list: ids [count] (indices into sorted) with rows [count]
 * (the rows each entry covers per span column). Returns the evaluations done.
 */
uint64_t blend_tile(int tx, int ty, const Splat* sorted, const uint32_t* ids, const SpanRows* rows_of,
                    uint32_t count, int W, int H, const float* bg, const FrameOut& out) {
  const int x0 = tx * kTile, y0 = ty * kTile;
  const int rows = H - y0 < kTile ? H - y0 : kTile;
  const int cols = W - x0 < kTile ? W - x0 : kTile;
  TileAcc acc;
  for (int p = 0; p < kPix; ++p) {
    const bool inside = (p % kTile) < cols && (p / kTile) < rows;
    acc.T[p] = inside ? 1.0f : -1.0f;
    acc.R[p] = acc.G[p] = acc.B[p] = acc.D[p] = 0.0f;
  }
  alignas(64) float px[kTile];
  for (int l = 0; l < kTile; ++l) px[l] = (float)(x0 + l) + 0.5f;
  uint64_t evals = 0;
  SplatLanes lanes;
  for (uint32_t k = 0; k < count; ++k) {
    if ((k & 7) == 7 && tile_done(acc.T)) break;
    if (k + 4 < count) __builtin_prefetch(&sorted[ids[k + 4]]);
    const Splat& s = sorted[ids[k]];
    const SpanRows span_rows = rows_of[k];
    lanes.set(s);
    for (int sp = 0; sp < kSpans; ++sp) {
      const int j0 = (span_rows >> (8 * sp)) & 15, j1 = (span_rows >> (8 * sp + 4)) & 15;
      if (j0 > j1) continue;
      float* const Ts = acc.T + sp * kSpan;
      float* const Rs = acc.R + sp * kSpan;
      float* const Gs = acc.G + sp * kSpan;
      float* const Bs = acc.B + sp * kSpan;
      float* const Ds = acc.D + sp * kSpan;
      const float* const xs = px + sp * kSpan;
      float yc = (float)(y0 + j0) + 0.5f;  // row centre; exact in float, stepped by 1
      for (int o = j0 * kTile; o <= j1 * kTile; o += kTile, yc += 1.0f) {
        blend_span(lanes, xs, s.B, s.C, yc - s.v, Ts + o, Rs + o, Gs + o, Bs + o, Ds + o);
      }
      evals += (uint64_t)(j1 - j0 + 1) * kSpan;
    }
  }
  // Resolve: rgb8 = round(clamp(C + T bg, 0, 1) 255), alpha = 1 - T, depth = D / alpha.
  // Computed for whole rows into small arrays (vectorized), then copied / interleaved.
  for (int r = 0; r < rows; ++r) {
    alignas(64) float ch[3][kTile], al[kTile], dp[kTile];
    const int o = r * kTile;
    for (int l = 0; l < kTile; ++l) {
      const float T = std::fabs(acc.T[o + l]);
      ch[0][l] = std::floor(clamp_f(acc.R[o + l] + T * bg[0], 0.0f, 1.0f) * 255.0f + 0.5f);
      ch[1][l] = std::floor(clamp_f(acc.G[o + l] + T * bg[1], 0.0f, 1.0f) * 255.0f + 0.5f);
      ch[2][l] = std::floor(clamp_f(acc.B[o + l] + T * bg[2], 0.0f, 1.0f) * 255.0f + 0.5f);
      const float a = 1.0f - T;
      al[l] = a;
      dp[l] = a > 1e-6f ? acc.D[o + l] / (a > 1e-6f ? a : 1.0f) : 0.0f;
    }
    const size_t po = (size_t)(y0 + r) * W + x0;
    uint8_t* rgb = out.rgb + po * 3;
    for (int l = 0; l < cols; ++l) {
      rgb[l * 3 + 0] = (uint8_t)ch[0][l];
      rgb[l * 3 + 1] = (uint8_t)ch[1][l];
      rgb[l * 3 + 2] = (uint8_t)ch[2][l];
      out.alpha[po + l] = al[l];
      out.depth[po + l] = dp[l];
    }
  }
  return evals;
}

}  // namespace

uint64_t blend_tiles(ThreadPool& pool, const Splat* sorted, const uint32_t* tile_start, const uint32_t* entries,
                     const SpanRows* entry_rows, const CameraParams& cam, const float* bg, const FrameOut& out) {
  const int W = cam.width, H = cam.height;
  const int tiles_x = (W + kTile - 1) / kTile, tiles_y = (H + kTile - 1) / kTile;
  std::atomic<uint64_t> evals{0};
  pool.run((size_t)tiles_x * tiles_y, [&](size_t t) {
    const int tx = (int)(t % tiles_x), ty = (int)(t / tiles_x);
    const uint64_t e = blend_tile(tx, ty, sorted, entries + tile_start[t], entry_rows + tile_start[t],
                                  tile_start[t + 1] - tile_start[t], W, H, bg, out);
    evals.fetch_add(e, std::memory_order_relaxed);
  });
  return evals.load();
}

}  // namespace splat::cpu
