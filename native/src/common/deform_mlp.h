// The per-Gaussian ends of the deformation network (DeformNetwork of Deformable-3DGS / DGD,
// described in server/deform/network.ts): the positional encoding of the canonical centre that
// feeds the network, and the fused output head turned into (d_xyz, d_rotation, d_scaling),
// including the 6-DoF screw motion. The layers in between are matrix products: the CUDA kernel
// (cuda/deform.cu) runs them on tensor cores, deform_net.cc emulates the same arithmetic on the
// host. Both call these functions.
#pragma once

#include "hd.h"

namespace splat {

constexpr int kDeformMaxXyzMultires = 10;  // x encoding <= 63 values: one 64-wide padded block
constexpr int kDeformHeadCols = 16;        // fused head outputs (padded)
// Fused head layout: rows of the head matrix, i.e. columns of its output.
constexpr int kHeadWarp = 0;     // [3] gaussian_warp (d_xyz), or branch_w for 6-DoF
constexpr int kHeadRot = 3;      // [4] gaussian_rotation
constexpr int kHeadScale = 7;    // [3] gaussian_scaling
constexpr int kHeadBranchV = 10; // [3] branch_v (6-DoF only)

SPLAT_HD inline int xyz_embed_dim(int multires) { return 3 + 6 * multires; }

/**
 * gamma_n(x) for x [3]: [x, sin(2^0 x), cos(2^0 x), ..., sin(2^(n-1) x), cos(2^(n-1) x)], per
 * frequency the sin of each component then the cos (out [3 + 6n]). 2^k x is exact in float.
 */
SPLAT_HD inline void encode_xyz(const float* x, int multires, float* out) {
  out[0] = x[0];
  out[1] = x[1];
  out[2] = x[2];
  float f = 1.0f;
  for (int k = 0; k < multires; ++k, f *= 2.0f) {
    for (int c = 0; c < 3; ++c) {
      const float p = x[c] * f;
      out[3 + 6 * k + c] = sinf(p);
      out[6 + 6 * k + c] = cosf(p);
    }
  }
}

SPLAT_HD inline void cross3(const float* a, const float* b, float* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

/**
 * The fused head's outputs o [kDeformHeadCols] (fp32) of one Gaussian at canonical centre x [3]
 * -> dxyz [3], drot [4], dscale [3]. 6-DoF: the public code's screw motion (server/deform/
 * onnx-model.ts writes it out): theta = |w|, w^ = w/theta + 1e-5, v^ = v/theta + 1e-5,
 * d_xyz = sin(theta) w^ x x + (1 - cos theta)(w^ x (w^ x x) + w^ x v^) + theta v^
 *       + (theta - sin theta) w^ x (w^ x v^)   (theta = 0 gives NaN, as in the original).
 */
SPLAT_HD inline void deform_head_outputs(const float* o, bool is_6dof, const float* x, float* dxyz, float* drot,
                                         float* dscale) {
  for (int k = 0; k < 4; ++k) drot[k] = o[kHeadRot + k];
  for (int k = 0; k < 3; ++k) dscale[k] = o[kHeadScale + k];
  if (!is_6dof) {
    for (int k = 0; k < 3; ++k) dxyz[k] = o[kHeadWarp + k];
    return;
  }
  const float* w = o + kHeadWarp;
  const float* v = o + kHeadBranchV;
  const float theta = sqrtf(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  float wn[3], vn[3];
  for (int k = 0; k < 3; ++k) {
    wn[k] = w[k] / theta + 1e-5f;
    vn[k] = v[k] / theta + 1e-5f;
  }
  float wx[3], wwx[3], wv[3], wwv[3];
  cross3(wn, x, wx);
  cross3(wn, wx, wwx);
  cross3(wn, vn, wv);
  cross3(wn, wv, wwv);
  const float s = sinf(theta), omc = 1.0f - cosf(theta), tms = theta - s;
  for (int k = 0; k < 3; ++k) dxyz[k] = (s * wx[k] + omc * (wwx[k] + wv[k])) + (theta * vn[k] + tms * wwv[k]);
}

}  // namespace splat
