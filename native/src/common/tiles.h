// Pixel ranges of continuous-coordinate intervals (docs/RENDERING.md: pixel (i, j) covers
// [i, i+1) x [j, j+1), centre (i + 0.5, j + 0.5)) and the tile size. Used by the CPU binning
// (cpu/tiles.h) and the CUDA preprocess (cuda/raster.cu) to decide which pixels a Gaussian's
// 1/255 ellipse can reach.
#pragma once

#include "hd.h"

namespace splat {

constexpr int kTileSize = 16;         // tile side in pixels (both backends); a tile is 256 pixels
constexpr float kPixelSlack = 1e-3f;  // pixels, on top of the ellipse level's own margin

/**
 * Pixels k in [0, size-1] whose centres k + 0.5 lie within [lo, hi] (continuous coordinates,
 * widened by kPixelSlack): [*k0, *k1]. False when there is none (or lo/hi is NaN).
 */
SPLAT_HD inline bool pixel_range(float lo, float hi, int size, int* k0, int* k1) {
  const float a = lo - 0.5f - kPixelSlack, b = hi - 0.5f + kPixelSlack;
  if (!(a <= b) || !(b >= 0.0f) || !(a <= (float)(size - 1))) return false;
  *k0 = a > 0.0f ? (int)ceilf(a) : 0;
  *k1 = b < (float)(size - 1) ? (int)floorf(b) : size - 1;
  return *k0 <= *k1;
}

/** Pixels whose centres lie within centre +- extent. */
SPLAT_HD inline bool pixel_span(float centre, float extent, int size, int* k0, int* k1) {
  return pixel_range(centre - extent, centre + extent, size, k0, k1);
}

}  // namespace splat
