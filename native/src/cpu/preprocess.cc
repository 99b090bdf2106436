#include <cmath>

#include "../common/appearance.h"
#include "../common/splat.h"
#include "half.h"
#include "stages.h"
#include "tiles.h"

namespace splat::cpu {

void preprocess(ThreadPool& pool, const SceneArrays& s, const Geometry& geo, const CameraParams& cam,
                Splat* splats, uint8_t* visible) {
  const int K = (s.sh_degree + 1) * (s.sh_degree + 1);
  pool.parallel_for(s.n, 2048, [&](size_t begin, size_t end) {
    alignas(32) float sh[16 * 3];
    for (size_t i = begin; i < end; ++i) {
      visible[i] = 0;
      const float log2_o = s.log2_opacity_scale ? scaled_log2_opacity(s.log2_opacities[i], s.log2_opacity_scale[i])
                                                : s.log2_opacities[i];
      const float* m = geo.mean + i * 3;
      Splat sp;
      if (!project_splat(cam, m, geo.cov + i * 6, log2_o, &sp)) continue;
      decode_halves(s.sh + i * (size_t)K * 3, sh, K * 3);  // SH are stored as fp16
      splat_colour(cam, m, s.sh_degree, sh, s.tint ? s.tint + i * 4 : nullptr, &sp);
      splats[i] = sp;
      visible[i] = 1;
    }
  });
}

}  // namespace splat::cpu
