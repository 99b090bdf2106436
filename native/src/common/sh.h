// View-dependent colour from real spherical harmonics, degree 0..3 (RENDERING.md step 7).
#pragma once

#include "hd.h"

namespace splat {

/**
 * sh: [K,3] coefficients of one Gaussian, K = (degree+1)^2, k = 0 is f_dc.
 * dir: unit view direction (mean - campos) / |mean - campos|.
 * out: [3] colour = max(sum + 0.5, 0) per channel (no upper clamp).
 */
SPLAT_HD inline void sh_to_rgb(int degree, const float* sh, float dx, float dy, float dz, float* out) {
  const float C0 = 0.28209479177387814f;
  const float C1 = 0.4886025119029199f;
  const float C2_0 = 1.0925484305920792f, C2_1 = -1.0925484305920792f, C2_2 = 0.31539156525252005f,
              C2_3 = -1.0925484305920792f, C2_4 = 0.5462742152960396f;
  const float C3_0 = -0.5900435899266435f, C3_1 = 2.890611442640554f, C3_2 = -0.4570457994644658f,
              C3_3 = 0.3731763325901154f, C3_4 = -0.4570457994644658f, C3_5 = 1.445305721320277f,
              C3_6 = -0.5900435899266435f;
  const float x = dx, y = dy, z = dz;
  const float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
  for (int ch = 0; ch < 3; ++ch) {
    const float* s = sh + ch;  // s[k*3] is coefficient k of this channel
    float r = C0 * s[0];
    if (degree > 0) {
      r = r - C1 * y * s[3] + C1 * z * s[6] - C1 * x * s[9];
      if (degree > 1) {
        r = r + C2_0 * xy * s[12] + C2_1 * yz * s[15] + C2_2 * (2.f * zz - xx - yy) * s[18] +
            C2_3 * xz * s[21] + C2_4 * (xx - yy) * s[24];
        if (degree > 2) {
          r = r + C3_0 * y * (3.f * xx - yy) * s[27] + C3_1 * xy * z * s[30] +
              C3_2 * y * (4.f * zz - xx - yy) * s[33] + C3_3 * z * (2.f * zz - 3.f * xx - 3.f * yy) * s[36] +
              C3_4 * x * (4.f * zz - xx - yy) * s[39] + C3_5 * z * (xx - yy) * s[42] +
              C3_6 * x * (xx - 3.f * yy) * s[45];
        }
      }
    }
    out[ch] = max_f(r + 0.5f, 0.0f);
  }
}

}  // namespace splat
