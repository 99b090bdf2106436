#include <cmath>

#include "../common/alpha.h"
#include "../common/appearance.h"
#include "../common/sh.h"
#include "half.h"
#include "stages.h"
#include "tiles.h"

namespace splat::cpu {

constexpr float kLevelMargin = 1e-3f;  // relative margin on 2 ln(255 o) for tile bounds

void preprocess(ThreadPool& pool, const SceneArrays& s, const Geometry& geo, const CameraParams& cam,
                Splat* splats, uint8_t* visible) {
  const int W = cam.width, H = cam.height;
  const int K = (s.sh_degree + 1) * (s.sh_degree + 1);
  pool.parallel_for(s.n, 2048, [&](size_t begin, size_t end) {
    alignas(32) float sh[16 * 3];
    for (size_t i = begin; i < end; ++i) {
      visible[i] = 0;
      const float log2_o = s.log2_opacity_scale ? scaled_log2_opacity(s.log2_opacities[i], s.log2_opacity_scale[i])
                                                : s.log2_opacities[i];
      const float r2 = ellipse_level_log2(log2_o, kLevelMargin);
      if (!(r2 > 0.0f)) continue;
      const float* m = geo.mean + i * 3;
      const float* c = geo.cov + i * 6;
      const Sym3 S{c[0], c[1], c[2], c[3], c[4], c[5]};
      Projected p;
      if (!project_gaussian(cam, Vec3{m[0], m[1], m[2]}, S, &p)) continue;
      Splat sp;
      sp.u = p.u;
      sp.v = p.v;
      sp.bounds = ellipse_bounds(r2, p.cov_a, p.cov_b, p.cov_c);
      // Visible when its box covers a pixel centre of the image (NaN fails these tests).
      int j0, j1, i0, i1;
      if (!pixel_span(sp.v, sp.bounds.ey, H, &j0, &j1) || !pixel_span(sp.u, sp.bounds.ex, W, &i0, &i1)) continue;
      sp.A = -0.5f * kLog2E * p.conic_a;
      sp.B = -kLog2E * p.conic_b;
      sp.C = -0.5f * kLog2E * p.conic_c;
      sp.log2_opacity = log2_o;
      sp.depth = p.depth;
      float dir[3] = {m[0] - cam.campos[0], m[1] - cam.campos[1], m[2] - cam.campos[2]};
      const float len = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
      const float inv = len > 0.0f ? 1.0f / len : 0.0f;
      decode_halves(s.sh + i * (size_t)K * 3, sh, K * 3);  // SH are stored as fp16
      float rgb[3];
      sh_to_rgb(s.sh_degree, sh, dir[0] * inv, dir[1] * inv, dir[2] * inv, rgb);
      if (s.tint) apply_tint(rgb, s.tint + i * 4);
      sp.r = rgb[0];
      sp.g = rgb[1];
      sp.b = rgb[2];
      splats[i] = sp;
      visible[i] = 1;
    }
  });
}

}  // namespace splat::cpu
