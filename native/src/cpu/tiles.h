// Which 16x16 tiles a projected Gaussian touches, and which rows of each tile's span columns:
// only pixels near its 1/255 ellipse (docs/RENDERING.md "Which pixels a Gaussian can touch").
// The y-range is computed per span column over the band of that column's pixel centres, so
// thin diagonal ellipses do not claim their whole bounding box.
#pragma once

#include "../common/splat.h"
#include "raster_types.h"

namespace splat::cpu {

// pixel_range / pixel_span / kPixelSlack: common/tiles.h; band_pixel_rows: common/splat.h.

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
      if (!band_pixel_rows(s, c0, c1, height, jb0, jb1, &j0[sp], &j1[sp])) {
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
