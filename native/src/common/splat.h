// One projected Gaussian ("splat") as both backends' binning and compositing read it, and the
// per-Gaussian preprocess that makes it (docs/RENDERING.md steps 1-7): the 1/255 ellipse level
// from the opacity, projection, bounds, visibility, the exponent's coefficients and the SH
// colour. cpu/preprocess.cc and cuda/raster.cu both call project_splat + splat_colour, so the
// two backends share every formula; only the loops and memory layout differ.
#pragma once

#include "alpha.h"
#include "appearance.h"
#include "gaussian.h"
#include "hd.h"
#include "sh.h"
#include "tiles.h"

namespace splat {

constexpr float kLevelMargin = 1e-3f;  // relative margin on 2 ln(255 o) for tile bounds

/**
 * One projected Gaussian (one cache line). The blend evaluates
 * t = (C dy + B dx) dy + A dx^2 + log2(opacity) = log2(opacity exp(power)) (common/alpha.h),
 * then alpha = min(0.99, 2^t).
 */
struct alignas(64) Splat {
  float u, v;            // centre, continuous pixel coordinates
  float A, B, C;         // log2(e) times -conic.x / 2, -conic.y, -conic.z / 2
  float log2_opacity;    // log2 of the effective opacity (sigmoid(o) times the appearance scale)
  float r, g, b;         // SH colour, max(sum + 0.5, 0)
  float depth;           // camera z
  EllipseBounds bounds;  // the 1/255 ellipse (with a small margin), for tile / row / span bounds
};
static_assert(sizeof(Splat) == 64, "Splat is one cache line");

/**
 * Geometry part of preprocess: mean [3], cov [6] (world covariance, upper triangle
 * xx,xy,xz,yy,yz,zz), log2_o = log2 of the effective opacity. Fills every field but the colour
 * and returns true when the Gaussian is visible: opacity >= 1/255, in front of the near plane,
 * non-degenerate, and its 1/255 box covers a pixel centre of the image (NaN fails the tests).
 */
SPLAT_HD inline bool project_splat(const CameraParams& cam, const float* m, const float* c, float log2_o, Splat* out) {
  const float r2 = ellipse_level_log2(log2_o, kLevelMargin);
  if (!(r2 > 0.0f)) return false;
  const Sym3 S{c[0], c[1], c[2], c[3], c[4], c[5]};
  Projected p;
  if (!project_gaussian(cam, Vec3{m[0], m[1], m[2]}, S, &p)) return false;
  Splat& sp = *out;
  sp.u = p.u;
  sp.v = p.v;
  sp.bounds = ellipse_bounds(r2, p.cov_a, p.cov_b, p.cov_c);
  int j0, j1, i0, i1;
  if (!pixel_span(sp.v, sp.bounds.ey, cam.height, &j0, &j1) || !pixel_span(sp.u, sp.bounds.ex, cam.width, &i0, &i1))
    return false;
  sp.A = -0.5f * kLog2E * p.conic_a;
  sp.B = -kLog2E * p.conic_b;
  sp.C = -0.5f * kLog2E * p.conic_c;
  sp.log2_opacity = log2_o;
  sp.depth = p.depth;
  return true;
}

/**
 * Colour part of preprocess: SH (sh [K,3] decoded to float, degree 0..3) in the direction from
 * the camera centre to mean [3], then the appearance tint [4] when not null.
 */
SPLAT_HD inline void splat_colour(const CameraParams& cam, const float* m, int degree, const float* sh, const float* tint,
                                  Splat* sp) {
  const float dir[3] = {m[0] - cam.campos[0], m[1] - cam.campos[1], m[2] - cam.campos[2]};
  const float len = sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
  const float inv = len > 0.0f ? 1.0f / len : 0.0f;
  float rgb[3];
  sh_to_rgb(degree, sh, dir[0] * inv, dir[1] * inv, dir[2] * inv, rgb);
  if (tint) apply_tint(rgb, tint);
  sp->r = rgb[0];
  sp->g = rgb[1];
  sp->b = rgb[2];
}

/**
 * Pixel rows [*j0, *j1] whose centres the 1/255 ellipse reaches over the pixel columns
 * c0..c1 (their centres, widened by kPixelSlack), clipped to [jb0, jb1] (the ellipse's box:
 * float rounding of the band's extremes must not leave it). False when none.
 */
SPLAT_HD inline bool band_pixel_rows(const Splat& s, int c0, int c1, int height, int jb0, int jb1, int* j0, int* j1) {
  float yl, yr;
  if (!ellipse_band_y_range(s.bounds, (float)c0 + 0.5f - s.u - kPixelSlack, (float)c1 + 0.5f - s.u + kPixelSlack, &yl,
                            &yr) ||
      !pixel_range(s.v + yl, s.v + yr, height, j0, j1))
    return false;
  *j0 = *j0 > jb0 ? *j0 : jb0;
  *j1 = *j1 < jb1 ? *j1 : jb1;
  return *j0 <= *j1;
}

/**
 * Calls f(tile_index) for each 16x16 tile the 1/255 ellipse reaches, tile column by tile
 * column: per column the rows the ellipse crosses over that column's pixel centres
 * (band_pixel_rows), so a thin diagonal ellipse does not claim its whole bounding box. Returns
 * nothing; the CUDA preprocess calls it twice (count, then write) and gets the same tiles in
 * the same order. (The CPU binning, cpu/tiles.h, refines the same bound per 8- or 16-pixel
 * span column and also records the rows.)
 */
template <class F>
SPLAT_HD inline void for_each_splat_tile(const Splat& s, int width, int height, F&& f) {
  int i0, i1, jb0, jb1;
  if (!pixel_span(s.u, s.bounds.ex, width, &i0, &i1) || !pixel_span(s.v, s.bounds.ey, height, &jb0, &jb1)) return;
  const int tiles_x = (width + kTileSize - 1) / kTileSize;
  for (int tx = i0 / kTileSize; tx <= i1 / kTileSize; ++tx) {
    const int c0 = tx * kTileSize > i0 ? tx * kTileSize : i0;
    const int c1 = tx * kTileSize + kTileSize - 1 < i1 ? tx * kTileSize + kTileSize - 1 : i1;
    int j0, j1;
    if (!band_pixel_rows(s, c0, c1, height, jb0, jb1, &j0, &j1)) continue;
    for (int ty = j0 / kTileSize; ty <= j1 / kTileSize; ++ty) f(ty * tiles_x + tx);
  }
}

}  // namespace splat
