#include "../common/deform.h"

#include "stages.h"

namespace splat::cpu {

void deform_gaussians(ThreadPool& pool, const SceneArrays& s, const DeformPair& d, float* mean_out,
                      float* cov_out) {
  pool.parallel_for(s.n, 4096, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      float scale[3], q[4];
      apply_deform(s.positions + i * 3, s.scales + i * 3, s.rotations + i * 4, d.dxyz_a + i * 3, d.drot_a + i * 4,
                   d.dscale_a + i * 3, d.dxyz_b + i * 3, d.drot_b + i * 4, d.dscale_b + i * 3, d.blend, d.u,
                   mean_out + i * 3, scale, q);
      const Sym3 S = covariance_3d(scale, q);
      float* c = cov_out + i * 6;
      c[0] = S.xx;
      c[1] = S.xy;
      c[2] = S.xz;
      c[3] = S.yy;
      c[4] = S.yz;
      c[5] = S.zz;
    }
  });
}

}  // namespace splat::cpu
