#include <chrono>

#include "stages.h"

namespace splat::cpu {
namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

size_t prepare_frame(ThreadPool& pool, const SceneArrays& scene, const DeformPair* d, const CameraParams& cam,
                     Workspace& ws, StageTimings* timings, RenderStats* stats) {
  const size_t n = scene.n;
  auto t0 = Clock::now();
  Geometry geo{scene.positions, scene.cov};
  if (d != nullptr && n > 0) {
    float* mean = ws.mean.ensure(n * 3);
    float* cov = ws.cov.ensure(n * 6);
    deform_gaussians(pool, scene, *d, mean, cov);
    geo = Geometry{mean, cov};
  }
  timings->deform_ms = ms_since(t0);

  t0 = Clock::now();
  Splat* splats = ws.splats.ensure(n + 1);
  uint8_t* visible = ws.visible.ensure(n + 1);
  preprocess(pool, scene, geo, cam, splats, visible);
  timings->preprocess_ms = ms_since(t0);

  t0 = Clock::now();
  uint64_t n_entries = 0;
  const size_t m = sort_and_bin(pool, n, splats, visible, cam, ws, &n_entries);
  stats->visible = m;
  stats->tile_entries = n_entries;
  timings->sort_ms = ms_since(t0);
  return m;
}

void render_frame(ThreadPool& pool, const SceneArrays& scene, const DeformPair* d, const CameraParams& cam,
                  const float* background, Workspace& ws, const FrameOut& out, const LabelParams* labels,
                  StageTimings* timings, RenderStats* stats) {
  const auto t_start = Clock::now();
  const size_t m = prepare_frame(pool, scene, d, cam, ws, timings, stats);
  const auto t0 = Clock::now();
  stats->evaluated = blend_tiles(pool, ws, m, cam, background, out, labels);
  timings->blend_ms = ms_since(t0);
  timings->total_ms = ms_since(t_start);
}

}  // namespace splat::cpu
