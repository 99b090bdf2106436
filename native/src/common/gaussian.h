// Per-Gaussian geometry of docs/RENDERING.md, steps 1-6: activation, rotation matrix, 3D
// covariance, view transform, clamped Jacobian, 2D covariance with low-pass, conic, and the
// opacity-aware ellipse bounds used for tile assignment. Shared by the CPU and CUDA backends.
#pragma once

#include "hd.h"

namespace splat {

struct Vec3 {
  float x, y, z;
};

/** Symmetric 3x3 matrix, upper triangle: xx, xy, xz, yy, yz, zz. */
struct Sym3 {
  float xx, xy, xz, yy, yz, zz;
};

/** Row-major 3x3. */
struct Mat3 {
  float m[9];
};

/**
 * Everything the projection needs, derived once per render from a CameraJSON
 * (OpenCV convention: x right, y down, z forward; worldToCamera row-major).
 */
struct CameraParams {
  int width, height;          // pixels
  float fx, fy, cx, cy;       // pixels
  float R[9];                 // rotation part of worldToCamera, row-major
  float t[3];                 // translation part of worldToCamera
  float campos[3];            // camera centre in world units: -R^T t
  float lim_x_pos, lim_x_neg; // Jacobian clamp on x/z (RENDERING.md step 4)
  float lim_y_pos, lim_y_neg; // Jacobian clamp on y/z
};

/** w2c: 16 numbers, row-major 4x4. Computed in double, stored as float. */
SPLAT_HD inline CameraParams make_camera_params(int width, int height, double fx, double fy, double cx,
                                                double cy, const double* w2c) {
  CameraParams c;
  c.width = width;
  c.height = height;
  c.fx = (float)fx;
  c.fy = (float)fy;
  c.cx = (float)cx;
  c.cy = (float)cy;
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 3; ++k) c.R[r * 3 + k] = (float)w2c[r * 4 + k];
    c.t[r] = (float)w2c[r * 4 + 3];
  }
  for (int k = 0; k < 3; ++k) {
    c.campos[k] = (float)-(w2c[0 * 4 + k] * w2c[3] + w2c[1 * 4 + k] * w2c[7] + w2c[2 * 4 + k] * w2c[11]);
  }
  c.lim_x_pos = (float)((width - cx) / fx + 0.3 * (width / (2.0 * fx)));
  c.lim_x_neg = (float)(cx / fx + 0.3 * (width / (2.0 * fx)));
  c.lim_y_pos = (float)((height - cy) / fy + 0.3 * (height / (2.0 * fy)));
  c.lim_y_neg = (float)(cy / fy + 0.3 * (height / (2.0 * fy)));
  return c;
}

SPLAT_HD inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/** q / max(|q|, 1e-12); q = (w,x,y,z), [4] in and out. */
SPLAT_HD inline void normalize_quat(const float* q, float* out) {
  float n = sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  float inv = 1.0f / max_f(n, 1e-12f);
  for (int k = 0; k < 4; ++k) out[k] = q[k] * inv;
}

/** R(q) for q = (w,x,y,z) as given (not normalized: a non-unit q scales, as in 3DGS). */
SPLAT_HD inline Mat3 quat_to_rotmat(float w, float x, float y, float z) {
  Mat3 R;
  R.m[0] = 1.f - 2.f * (y * y + z * z);
  R.m[1] = 2.f * (x * y - w * z);
  R.m[2] = 2.f * (x * z + w * y);
  R.m[3] = 2.f * (x * y + w * z);
  R.m[4] = 1.f - 2.f * (x * x + z * z);
  R.m[5] = 2.f * (y * z - w * x);
  R.m[6] = 2.f * (x * z - w * y);
  R.m[7] = 2.f * (y * z + w * x);
  R.m[8] = 1.f - 2.f * (x * x + y * y);
  return R;
}

/** Sigma = M M^T with M = R(q) diag(scale). scale [3] (activated), q [4] (w,x,y,z). */
SPLAT_HD inline Sym3 covariance_3d(const float* scale, const float* q) {
  Mat3 R = quat_to_rotmat(q[0], q[1], q[2], q[3]);
  float M[9];
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) M[r * 3 + k] = R.m[r * 3 + k] * scale[k];
  Sym3 S;
  S.xx = M[0] * M[0] + M[1] * M[1] + M[2] * M[2];
  S.xy = M[0] * M[3] + M[1] * M[4] + M[2] * M[5];
  S.xz = M[0] * M[6] + M[1] * M[7] + M[2] * M[8];
  S.yy = M[3] * M[3] + M[4] * M[4] + M[5] * M[5];
  S.yz = M[3] * M[6] + M[4] * M[7] + M[5] * M[8];
  S.zz = M[6] * M[6] + M[7] * M[7] + M[8] * M[8];
  return S;
}

/** A Gaussian after projection (RENDERING.md steps 3-6). */
struct Projected {
  float u, v;                      // pixel-space centre, continuous coordinates
  float depth;                     // camera-space z (the sort key)
  float cov_a, cov_b, cov_c;       // 2D covariance incl. the 0.3 low-pass
  float conic_a, conic_b, conic_c; // its inverse: (c/det, -b/det, a/det)
};

/** Steps 3-6. Returns false when culled (z <= 0.2 or det <= 0). */
SPLAT_HD inline bool project_gaussian(const CameraParams& cam, Vec3 mean, const Sym3& S, Projected* out) {
  const float* W = cam.R;
  const float px = W[0] * mean.x + W[1] * mean.y + W[2] * mean.z + cam.t[0];
  const float py = W[3] * mean.x + W[4] * mean.y + W[5] * mean.z + cam.t[1];
  const float pz = W[6] * mean.x + W[7] * mean.y + W[8] * mean.z + cam.t[2];
  if (!(pz > 0.2f)) return false;
  const float inv_z = 1.0f / pz;
  const float tx = pz * clamp_f(px * inv_z, -cam.lim_x_neg, cam.lim_x_pos);
  const float ty = pz * clamp_f(py * inv_z, -cam.lim_y_neg, cam.lim_y_pos);
  // J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]]; T = J W (2x3).
  const float j00 = cam.fx * inv_z, j02 = -cam.fx * tx * inv_z * inv_z;
  const float j11 = cam.fy * inv_z, j12 = -cam.fy * ty * inv_z * inv_z;
  float T0[3], T1[3];
  for (int k = 0; k < 3; ++k) {
    T0[k] = j00 * W[k] + j02 * W[6 + k];
    T1[k] = j11 * W[3 + k] + j12 * W[6 + k];
  }
  const float u = cam.fx * px * inv_z + cam.cx;
  const float v = cam.fy * py * inv_z + cam.cy;
  // Sigma' = T S T^T.
  const float s0[3] = {S.xx * T0[0] + S.xy * T0[1] + S.xz * T0[2], S.xy * T0[0] + S.yy * T0[1] + S.yz * T0[2],
                       S.xz * T0[0] + S.yz * T0[1] + S.zz * T0[2]};
  const float s1[3] = {S.xx * T1[0] + S.xy * T1[1] + S.xz * T1[2], S.xy * T1[0] + S.yy * T1[1] + S.yz * T1[2],
                       S.xz * T1[0] + S.yz * T1[1] + S.zz * T1[2]};
  const float a = T0[0] * s0[0] + T0[1] * s0[1] + T0[2] * s0[2] + 0.3f;
  const float b = T0[0] * s1[0] + T0[1] * s1[1] + T0[2] * s1[2];
  const float c = T1[0] * s1[0] + T1[1] * s1[1] + T1[2] * s1[2] + 0.3f;
  const float det = a * c - b * b;
  if (!(det > 0.f)) return false;
  const float inv_det = 1.0f / det;
  out->u = u;
  out->v = v;
  out->depth = pz;
  out->cov_a = a;
  out->cov_b = b;
  out->cov_c = c;
  out->conic_a = c * inv_det;
  out->conic_b = -b * inv_det;
  out->conic_c = a * inv_det;
  return true;
}

/**
 * Level of the opacity-aware ellipse from log2(opacity): a pixel can get alpha >= 1/255 only
 * where d^T conic d <= 2 ln(255 o) = 2 ln 2 (log2 255 + log2 o). Returns <= 0 when the
 * Gaussian can touch nothing. `margin` (relative) keeps tile bounds conservative against
 * float rounding.
 */
SPLAT_HD inline float ellipse_level_log2(float log2_opacity, float margin) {
  const float l = 7.994353436858858f + log2_opacity;  // log2(255 o)
  if (!(l > 0.0f)) return 0.0f;
  return 1.3862943611198906f * l * (1.0f + margin) + margin;
}

/**
 * The ellipse d^T Sigma'^-1 d <= r2 (Sigma' = [[a, b], [b, c]]) in the form tile bounds use.
 * At a given dx the ellipse's vertical chord is centred on slope * dx with squared
 * half-length w0 - w1 dx^2 (the conditional distribution of y given x); its lowest-y point
 * lies at dx = -dx_star and its highest-y point at dx = dx_star.
 */
struct EllipseBounds {
  float ex, ey;    // axis-aligned half extents sqrt(r2 a), sqrt(r2 c)
  float slope;     // b / a
  float w0, w1;    // r2 (c - b^2/a), (c - b^2/a) / a
  float dx_star;   // sqrt(r2) b / sqrt(c)
};

SPLAT_HD inline EllipseBounds ellipse_bounds(float r2, float a, float b, float c) {
  EllipseBounds e;
  e.ex = sqrtf(r2 * a);
  e.ey = sqrtf(r2 * c);
  e.slope = b / a;
  const float cond_var = max_f(c - b * e.slope, 0.0f);  // (ac - b^2) / a
  e.w0 = r2 * cond_var;
  e.w1 = cond_var / a;
  e.dx_star = sqrtf(r2) * b / sqrtf(c);
  return e;
}

/**
 * y-range (relative to the centre) of the ellipse over the vertical band dx in [dx0, dx1]
 * (relative to the centre); false when the band misses it. The chord's upper end is concave
 * in dx with its maximum at dx_star, so the band's maximum is at dx_star clamped to the band
 * (and the lower end's minimum at -dx_star clamped).
 */
SPLAT_HD inline bool ellipse_band_y_range(const EllipseBounds& e, float dx0, float dx1, float* yl, float* yr) {
  const float lo = max_f(dx0, -e.ex), hi = min_f(dx1, e.ex);
  if (!(lo <= hi)) return false;
  // Where the band holds the extreme point, the extreme is the axis-aligned extent.
  const bool top_inside = e.dx_star >= lo && e.dx_star <= hi;
  const bool bottom_inside = -e.dx_star >= lo && -e.dx_star <= hi;
  const float xr = clamp_f(e.dx_star, lo, hi);
  const float xl = clamp_f(-e.dx_star, lo, hi);
  *yr = top_inside ? e.ey : e.slope * xr + sqrtf(max_f(e.w0 - e.w1 * xr * xr, 0.0f));
  *yl = bottom_inside ? -e.ey : e.slope * xl - sqrtf(max_f(e.w0 - e.w1 * xl * xl, 0.0f));
  return true;
}

/**
 * World point seen at continuous pixel coordinates (px, py) at camera depth z (camera-space z,
 * the renderer's depth): p = ((px - cx) z / fx, (py - cy) z / fy, z), world = W_rot^T (p - t).
 * Computed in double (w2c row-major 4x4 as in CameraParams' source). out [3].
 */
SPLAT_HD inline void unproject_pixel(double fx, double fy, double cx, double cy, const double* w2c, double px,
                                     double py, double z, double* out) {
  const double p[3] = {(px - cx) * z / fx - w2c[3], (py - cy) * z / fy - w2c[7], z - w2c[11]};
  for (int k = 0; k < 3; ++k) out[k] = w2c[0 * 4 + k] * p[0] + w2c[1 * 4 + k] * p[1] + w2c[2 * 4 + k] * p[2];
}

}  // namespace splat
