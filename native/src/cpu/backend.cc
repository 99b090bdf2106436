// The CPU backend (backend.h): the stages of cpu/stages.h on the global thread pool, with
// per-request workspaces that remember which (camera, t, geometry version) their preprocess +
// sort hold, so a pick or region right after a render of the same view skips them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../backend.h"
#include "../common/gaussian.h"
#include "features.h"
#include "stages.h"
#include "thread_pool.h"

namespace splat {
namespace {

using Clock = std::chrono::steady_clock;

CameraParams camera_params(const CameraSpec& c) {
  return make_camera_params(c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.w2c);
}

/** Identifies what a workspace's preprocess + sort were computed for. */
struct FrameKey {
  bool valid = false;
  CameraSpec camera;
  double t = 0;
  uint64_t version = 0;
  size_t m = 0;  // visible splats
  bool matches(const CameraSpec& c, double t_, uint64_t version_) const {
    if (!valid || version != version_ || t != t_) return false;
    if (camera.width != c.width || camera.height != c.height || camera.fx != c.fx || camera.fy != c.fy ||
        camera.cx != c.cx || camera.cy != c.cy)
      return false;
    for (int i = 0; i < 16; ++i)
      if (camera.w2c[i] != c.w2c[i]) return false;
    return true;
  }
};

struct CachedWorkspace {
  std::unique_ptr<cpu::Workspace> ws;
  FrameKey key;
};

[[noreturn]] void no_network_on_cpu() {
  throw std::invalid_argument(
      "The CPU backend does not run the deformation network natively (server/deform/runner.ts runs it with "
      "onnxruntime and adds keyframes); deform() and deformNetwork requests need the CUDA backend");
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(std::shared_ptr<const SceneData> data) : data_(std::move(data)) {}

  const char* name() const override { return "cpu"; }

  RenderResult render(const SceneState& st, const RenderRequest& req) const override {
    if (req.deform_network) no_network_on_cpu();
    cpu::LabelParams lp;
    if (req.labels) {
      lp.labels = st.labels->data();
      lp.threshold = req.label_threshold;
    }
    const CameraSpec& c = req.camera;
    const CameraParams cam = camera_params(c);

    RenderResult res;
    res.width = c.width;
    res.height = c.height;
    const size_t pixels = (size_t)c.width * c.height;
    res.rgb = pooled_array<uint8_t>(pixels * 3);
    res.depth = pooled_array<float>(pixels);
    res.alpha = pooled_array<float>(pixels);
    if (req.labels) res.labels = pooled_array<uint8_t>(pixels);
    const cpu::FrameOut out{res.rgb.get(), res.depth.get(), res.alpha.get(), res.labels.get()};

    // A render always recomputes its preparation (timings stay honest); the workspace then
    // remembers it for picks / regions of the same view.
    CachedWorkspace cw = take_workspace(nullptr, 0, 0);
    try {
      const auto t0 = Clock::now();
      cw.key.valid = false;
      prepare(st, c, req.t, cw, &res.timings, &res.stats);
      const auto t1 = Clock::now();
      res.stats.evaluated =
          cpu::blend_tiles(cpu::global_pool(), *cw.ws, cw.key.m, cam, req.background, out, req.labels ? &lp : nullptr);
      const auto t2 = Clock::now();
      res.timings.blend_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
      res.timings.total_ms = std::chrono::duration<double, std::milli>(t2 - t0).count();
    } catch (...) {
      cw.key.valid = false;
      return_workspace(std::move(cw));
      throw;
    }
    return_workspace(std::move(cw));
    if (!req.depth_alpha) {
      res.depth.reset();
      res.alpha.reset();
    }
    return res;
  }

  PickResult pick(const SceneState& st, const PickRequest& req) const override {
    if (req.deform_network) no_network_on_cpu();
    const CameraSpec& c = req.camera;
    const Features& feat = *st.features;
    const CameraParams cam = camera_params(c);
    const std::vector<int32_t> spans = pick_patch_spans(req);
    const TileMasks patch = masks_from_spans(c.width, c.height, spans.data(), spans.size() / 3);
    const int32_t centre_span[3] = {req.y, req.x, req.x + 1};
    const TileMasks centre = masks_from_spans(c.width, c.height, centre_span, 1);

    PickResult res;
    res.dim = feat.dim;
    res.pixels = (int)patch.pixels;
    CachedWorkspace cw = take_workspace(&c, req.t, st.geometry_version);
    try {
      RenderStats stats;
      res.reused = prepare(st, c, req.t, cw, &res.timings, &stats);
      cpu::Workspace& ws = *cw.ws;
      const uint32_t* tile_start = ws.tile_start.get();
      const uint32_t* entries = ws.entries.get();
      const uint32_t* ids = ws.ids.get();

      // Patch: per Gaussian, the sum of w over the patch pixels; feature = mean over pixels.
      cpu::composite_masked(cpu::global_pool(), ws, cam, patch.tiles.data(), patch.masks.data(), patch.tiles.size(),
                            nullptr);
      const float* ew = ws.entry_weights.get();
      std::vector<std::pair<uint32_t, float>> gw;
      for (uint32_t t : patch.tiles)
        for (uint32_t e = tile_start[t]; e < tile_start[t + 1]; ++e)
          if (ew[e] > 0.0f) gw.emplace_back(ids[entries[e]], ew[e]);
      res.feature.reset(new float[feat.dim]);
      pick_feature(feat, gw, patch.pixels, res.feature.get());

      // Centre pixel: depth, alpha, the largest single weight.
      std::vector<float> td(2 * cpu::kTile * cpu::kTile);
      cpu::composite_masked(cpu::global_pool(), ws, cam, centre.tiles.data(), centre.masks.data(), 1, td.data());
      const uint32_t t = centre.tiles[0];
      float best = 0.0f;
      for (uint32_t e = tile_start[t]; e < tile_start[t + 1]; ++e) {
        if (ew[e] > best) {
          best = ew[e];
          res.top_gaussian = ids[entries[e]];
        }
      }
      const int p = (req.y % cpu::kTile) * cpu::kTile + req.x % cpu::kTile;
      pick_centre(c, req.x, req.y, td[p], td[cpu::kTile * cpu::kTile + p], &res);
    } catch (...) {
      cw.key.valid = false;
      return_workspace(std::move(cw));
      throw;
    }
    return_workspace(std::move(cw));
    return res;
  }

  RegionResult region_weights(const SceneState& st, const RegionRequest& req, const TileMasks& region) const override {
    if (req.deform_network) no_network_on_cpu();
    const CameraSpec& c = req.camera;
    const CameraParams cam = camera_params(c);
    const size_t n = data_->n;
    RegionResult res;
    res.n = n;
    res.pixels = region.pixels;
    res.weights = pooled_array<float>(n);
    std::fill(res.weights.get(), res.weights.get() + n, 0.0f);
    CachedWorkspace cw = take_workspace(&c, req.t, st.geometry_version);
    try {
      RenderStats stats;
      res.reused = prepare(st, c, req.t, cw, &res.timings, &stats);
      cpu::Workspace& ws = *cw.ws;
      const auto t0 = Clock::now();
      cpu::composite_masked(cpu::global_pool(), ws, cam, region.tiles.data(), region.masks.data(), region.tiles.size(),
                            nullptr);
      const uint32_t* tile_start = ws.tile_start.get();
      const uint32_t* entries = ws.entries.get();
      const uint32_t* ids = ws.ids.get();
      const float* ew = ws.entry_weights.get();
      float* out = res.weights.get();
      for (uint32_t t : region.tiles)
        for (uint32_t e = tile_start[t]; e < tile_start[t + 1]; ++e) out[ids[entries[e]]] += ew[e];
      res.timings.blend_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    } catch (...) {
      cw.key.valid = false;
      return_workspace(std::move(cw));
      throw;
    }
    return_workspace(std::move(cw));
    return res;
  }

  void similarity(const SceneState& st, const float* q, float* out) const override {
    const Features& f = *st.features;
    cpu::feature_dot(cpu::global_pool(), f.unit.get(), data_->n, f.dim, q, out);
  }

  SelectResult select(const SceneState& st, const float* q, float theta) const override {
    const auto t0 = Clock::now();
    const size_t n = data_->n;
    PooledArray<float> scores = pooled_array<float>(n);
    similarity(st, q, scores.get());
    SelectResult r;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) count += scores[i] >= theta;
    r.ids = pooled_array<uint32_t>(count);
    for (size_t i = 0; i < n; ++i)
      if (scores[i] >= theta) r.ids[r.count++] = (uint32_t)i;
    r.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return r;
  }

  DeformOutput deform(const SceneState&, double) const override { no_network_on_cpu(); }

 private:
  CachedWorkspace take_workspace(const CameraSpec* want_cam, double want_t, uint64_t want_version) const {
    std::lock_guard<std::mutex> lock(ws_mutex_);
    if (free_workspaces_.empty()) return CachedWorkspace{std::make_unique<cpu::Workspace>(), FrameKey{}};
    size_t pick = 0;  // the oldest
    if (want_cam) {
      for (size_t i = free_workspaces_.size(); i-- > 0;) {
        if (free_workspaces_[i].key.matches(*want_cam, want_t, want_version)) {
          pick = i;
          break;
        }
      }
    }
    CachedWorkspace cw = std::move(free_workspaces_[pick]);
    free_workspaces_.erase(free_workspaces_.begin() + (ptrdiff_t)pick);
    return cw;
  }

  void return_workspace(CachedWorkspace cw) const {
    std::lock_guard<std::mutex> lock(ws_mutex_);
    free_workspaces_.push_back(std::move(cw));
  }

  cpu::SceneArrays arrays(const SceneState& st) const {
    const SceneData& d = *data_;
    cpu::SceneArrays a;
    a.n = d.n;
    a.sh_degree = d.sh_degree;
    a.positions = d.positions.data();
    a.scales = d.scales.data();
    a.rotations = d.rotations.data();
    a.opacities = d.opacities.data();
    a.log2_opacities = d.log2_opacities.data();
    a.sh = d.sh.data();
    a.cov = d.cov.data();
    if (!st.appearance->log2_opacity_scale.empty()) a.log2_opacity_scale = st.appearance->log2_opacity_scale.data();
    if (!st.appearance->tint.empty()) a.tint = st.appearance->tint.data();
    return a;
  }

  /** Runs deform + preprocess + sort into cw unless it already holds them for this request. */
  bool prepare(const SceneState& st, const CameraSpec& c, double t, CachedWorkspace& cw, StageTimings* timings,
               RenderStats* stats) const {
    if (cw.key.matches(c, t, st.geometry_version)) return true;
    cw.key.valid = false;
    const CameraParams cam = camera_params(c);
    cpu::DeformPair pair{};
    const cpu::DeformPair* deform = nullptr;
    const KeyframePair kp = bracket_keyframes(*st.keyframes, t);
    if (kp.a) {
      pair = cpu::DeformPair{kp.a->dxyz.data(), kp.a->drot.data(), kp.a->dscale.data(), kp.b->dxyz.data(),
                             kp.b->drot.data(), kp.b->dscale.data(), kp.blend, kp.u};
      deform = &pair;
    }
    const size_t m = cpu::prepare_frame(cpu::global_pool(), arrays(st), deform, cam, *cw.ws, timings, stats);
    cw.key.valid = true;
    cw.key.camera = c;
    cw.key.t = t;
    cw.key.version = st.geometry_version;
    cw.key.m = m;
    return false;
  }

  std::shared_ptr<const SceneData> data_;
  mutable std::mutex ws_mutex_;
  mutable std::vector<CachedWorkspace> free_workspaces_;  // oldest first
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const SceneData> data) {
  return std::make_unique<CpuBackend>(std::move(data));
}

}  // namespace splat
