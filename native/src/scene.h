// Host layer: a scene uploaded once (activated copies of the cloud's arrays), its deformation
// keyframes, and rendering through a backend. No Node-API types here; addon.cc binds this.
// N = Gaussians, K = (shDegree+1)^2 SH coefficients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cpu/raster_types.h"

namespace splat {

/** A CameraJSON (OpenCV convention, worldToCamera row-major 4x4). */
struct CameraSpec {
  int width = 0, height = 0;  // pixels, 1..kMaxImageSide
  double fx = 0, fy = 0, cx = 0, cy = 0;
  double w2c[16] = {};
};

struct RenderRequest {
  CameraSpec camera;
  double t = 0;                     // time; selects / interpolates keyframes
  float background[3] = {0, 0, 0};  // RGB in [0,1]
};

struct RenderResult {
  int width = 0, height = 0;
  std::unique_ptr<uint8_t[]> rgb;  // [H,W,3]
  std::unique_ptr<float[]> depth;  // [H,W] expected camera z of what was hit, 0 where alpha <= 1e-6
  std::unique_ptr<float[]> alpha;  // [H,W] 1 - T
  cpu::StageTimings timings;
  cpu::RenderStats stats;
};

constexpr int kMaxImageSide = 4096;

class Scene {
 public:
  /**
   * Copies and activates the cloud: scales = exp(logScales), opacities = sigmoid(logits),
   * rotations = normalize(r). positions [N,3], rotations [N,4], log_scales [N,3],
   * opacity_logits [N], sh [N,K,3].
   */
  Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
        const float* opacity_logits, const float* sh);

  size_t count() const { return n_; }
  int sh_degree() const { return sh_degree_; }

  /** Adds, or replaces the one at exactly t. dxyz [N,3], drot [N,4], dscale [N,3], copied. */
  void set_keyframe(double t, const float* dxyz, const float* drot, const float* dscale);
  /** Returns whether a keyframe at exactly t existed. */
  bool remove_keyframe(double t);
  void clear_keyframes();
  /** Ascending. */
  std::vector<double> keyframe_times() const;

  /** Thread-safe; renders may overlap each other and keyframe edits. Throws on bad input. */
  RenderResult render(const RenderRequest& req) const;

 private:
  struct Keyframe {
    double t;
    std::vector<float> dxyz, drot, dscale;  // [N,3], [N,4], [N,3]
  };
  using KeyframeList = std::vector<std::shared_ptr<const Keyframe>>;

  std::shared_ptr<const KeyframeList> keyframes() const;
  std::unique_ptr<cpu::Workspace> take_workspace() const;
  void return_workspace(std::unique_ptr<cpu::Workspace> ws) const;

  size_t n_;
  int sh_degree_;
  std::vector<float> positions_;       // [N,3]
  std::vector<float> scales_;          // [N,3] exp(logScales)
  std::vector<float> rotations_;       // [N,4] normalize(r)
  std::vector<float> opacities_;       // [N] sigmoid(logit)
  std::vector<float> log2_opacities_;  // [N] log2(sigmoid(logit))
  std::vector<float> sh_;              // [N,K,3]
  std::vector<float> cov_;             // [N,6] canonical 3D covariance

  // Copy-on-write keyframes: edits swap in a new list; a render keeps its snapshot alive.
  mutable std::mutex kf_mutex_;
  std::shared_ptr<const KeyframeList> keyframes_;

  mutable std::mutex ws_mutex_;
  mutable std::vector<std::unique_ptr<cpu::Workspace>> free_workspaces_;
};

/** Compile-time SIMD level of the CPU backend, e.g. "avx512f", "avx2+fma", "sse2", "neon". */
const char* simd_level();
/** Threads the CPU backend uses per render. */
unsigned cpu_threads();

}  // namespace splat
