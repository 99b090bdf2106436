// Which 16x16 tiles a projected Gaussian touches, and which rows of each tile's span columns:
// only pixels near its 1/255 ellipse (docs/RENDERING.md "Which pixels a Gaussian can touch").
// The y-range is computed per span column over the band of that column's pixel centres, so
// thin diagonal ellipses do not claim their whole bounding box.
#pragma once

#include <cmath>

#include "raster_types.h"

namespace splat::cpu {

constexpr float kPixelSlack = 1e-3f;  // pixels, on top of the ellipse level's own margin

/**
 * Pixels k in [0, size-1] whose centres k + 0.5 lie within [lo, hi] (continuous coordinates,
 * widened by kPixelSlack): [*k0, *k1]. False when there is none (or lo/hi is NaN).
 */
inline bool pixel_range(float lo, float hi, int size, int* k0, int* k1) {
  const float a = lo - 0.5f - kPixelSlack, b = hi - 0.5f + kPixelSlack;
  if (!(a <= b) || !(b >= 0.0f) || !(a <= (float)(size - 1))) return false;
  *k0 = a > 0.0f ? (int)std::ceil(a) : 0;
  *k1 = b < (float)(size - 1) ? (int)std::floor(b) : size - 1;
  return *k0 <= *k1;
}

/** Pixels whose centres lie within centre +- extent. */
inline bool pixel_span(float centre, float extent, int size, int* k0, int* k1) {
  return pixel_range(centre - extent, centre + extent, size, k0, k1);
}

/** An upper bound of the tiles for_each_tile visits: those of the 1/255 box. */
inline size_t max_tiles(const Splat& s, int width, int height) {
  int i0, i1, j0, j1;
  if (!pixel_span(s.u, s.bounds.ex, width, &i0, &i1) || !pixel_span(s.v, s.bounds.ey, height, &j0, &j1)) return 0;
  return (size_t)(i1 / kTile - i0 / kTile + 1) * (size_t)(j1 / kTile - j0 / kTile + 1);
}

/**
 * Calls f(tile_index, rows) for each tile the ellipse touches, column by column. For each
 * tile column and each of its span columns (kSpan pixels), the ellipse's y-range over the
 * band of that span's pixel centres gives the pixel rows it crosses there; the tiles are those
 * the union covers, and `rows` (SpanRows) says which of each tile's rows each span needs.
 */
template <class F>
inline void for_each_tile(const Splat& s, int width, int height, int tiles_x, F&& f) {
  int i0, i1, jb0, jb1;
  if (!pixel_span(s.u, s.bounds.ex, width, &i0, &i1) || !pixel_span(s.v, s.bounds.ey, height, &jb0, &jb1)) return;
  for (int tx = i0 / kTile; tx <= i1 / kTile; ++tx) {
    int j0[kSpans], j1[kSpans];
    int lo = height, hi = -1;
    for (int sp = 0; sp < kSpans; ++sp) {
      j0[sp] = 1;
      j1[sp] = 0;
      const int c0 = tx * kTile + sp * kSpan > i0 ? tx * kTile + sp * kSpan : i0;
      const int c1 = tx * kTile + sp * kSpan + kSpan - 1 < i1 ? tx * kTile + sp * kSpan + kSpan - 1 : i1;
      if (c0 > c1) continue;
      float yl, yr;
      if (!ellipse_band_y_range(s.bounds, (float)c0 + 0.5f - s.u - kPixelSlack, (float)c1 + 0.5f - s.u + kPixelSlack,
                                &yl, &yr) ||
          !pixel_range(s.v + yl, s.v + yr, height, &j0[sp], &j1[sp])) {
        j0[sp] = 1;
        j1[sp] = 0;
        continue;
      }
      // Within the 1/255 box (float rounding of the band's extremes must not leave it: the
      // binning reserves max_tiles() entries per splat).
      j0[sp] = j0[sp] > jb0 ? j0[sp] : jb0;
      j1[sp] = j1[sp] < jb1 ? j1[sp] : jb1;
      if (j0[sp] > j1[sp]) {
        j0[sp] = 1;
        j1[sp] = 0;
        continue;
      }
      lo = j0[sp] < lo ? j0[sp] : lo;
      hi = j1[sp] > hi ? j1[sp] : hi;
    }
    if (lo > hi) continue;
    for (int ty = lo / kTile; ty <= hi / kTile; ++ty) {
      SpanRows rows = 0;
      for (int sp = 0; sp < kSpans; ++sp) {
        const int a = (j0[sp] > ty * kTile ? j0[sp] : ty * kTile) - ty * kTile;
        const int b = (j1[sp] < ty * kTile + kTile - 1 ? j1[sp] : ty * kTile + kTile - 1) - ty * kTile;
        const int code = a <= b ? (a | b << 4) : kNoRows;
        rows = (SpanRows)(rows | code << (8 * sp));
      }
      f(ty * tiles_x + tx, rows);
    }
  }
}

}  // namespace splat::cpu
