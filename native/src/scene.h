// Host layer: a scene uploaded once (activated copies of the cloud's arrays, SH as fp16), its
// deformation keyframes, appearance edits, labels and unit semantic features, and rendering /
// picking / region weights / similarity through a backend. No Node-API types here; addon.cc
// binds this. N = Gaussians, K = (shDegree+1)^2 SH coefficients, D = feature dimension.
#pragma once
#include <string>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "buffers.h"
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
  bool labels = false;              // also produce the label channel (needs set_labels)
  float label_threshold = 0.5f;     // W_k >= threshold qualifies, in (0, 1]
};

struct RenderResult {
  int width = 0, height = 0;
  PooledArray<uint8_t> rgb;     // [H,W,3]
  PooledArray<float> depth;     // [H,W] expected camera z of what was hit, 0 where alpha <= 1e-6
  PooledArray<float> alpha;     // [H,W] 1 - T
  PooledArray<uint8_t> labels;  // [H,W] when requested, else null
  cpu::StageTimings timings;
  cpu::RenderStats stats;
};

struct PickRequest {
  CameraSpec camera;
  double t = 0;
  int x = 0, y = 0;  // centre pixel, inside the image
  int patch = 5;     // odd side of the square patch, clipped to the image
};

struct PickResult {
  int dim = 0;
  std::unique_ptr<float[]> feature;  // [D] mean over the patch pixels of sum_i w_i f_i (unit f_i)
  float depth = 0, alpha = 0;        // at the centre pixel
  bool has_world_point = false;      // alpha > 1e-6 at the centre
  double world_point[3] = {0, 0, 0}; // the centre pixel unprojected at its expected depth
  int64_t top_gaussian = -1;         // largest w_i at the centre pixel (front-most on ties), -1 if none
  int pixels = 0;                    // patch pixels inside the image
  bool reused = false;               // preprocess + sort reused from an earlier render / pick
  cpu::StageTimings timings;
};

struct RegionRequest {
  CameraSpec camera;
  double t = 0;
  std::vector<int32_t> spans;  // [S,3] (y, x0, x1): pixels x0 <= x < x1 of row y
};

struct RegionResult {
  size_t n = 0;
  PooledArray<float> weights;  // [N] sum over the region's pixels of w_i = T_i alpha_i
  size_t pixels = 0;                 // distinct region pixels
  bool reused = false;
  cpu::StageTimings timings;
};

constexpr int kMaxImageSide = 4096;
constexpr int kMaxFeatureDim = 8192;

class Scene {
 public:
  /**
   * Copies and activates the cloud: scales = exp(logScales), opacities = sigmoid(logits),
   * rotations = normalize(r). positions [N,3], rotations [N,4], log_scales [N,3],
   * opacity_logits [N]; SH [N,K,3] either as float (sh, converted to fp16 here) or already
   * fp16 (sh_half, copied, used when non-null).
   */
  Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
        const float* opacity_logits, const float* sh, const uint16_t* sh_half);

  size_t count() const { return n_; }
  int sh_degree() const { return sh_degree_; }

  /** Adds, or replaces the one at exactly t. dxyz [N,3], drot [N,4], dscale [N,3], copied. */
  void set_keyframe(double t, const float* dxyz, const float* drot, const float* dscale);
  /** Returns whether a keyframe at exactly t existed. */
  bool remove_keyframe(double t);
  void clear_keyframes();
  /** Ascending. */
  std::vector<double> keyframe_times() const;

  /**
   * half [N,D] fp16 features; keeps only an L2-normalized fp16 copy (rows with a zero or
   * non-finite norm become zero). dim in 1..kMaxFeatureDim.
   */
  void set_features(const uint16_t* half, int dim);
  void set_features_from_file(const std::string& path, uint64_t offset, int dim);
  /** 0 when no features are set. */
  int feature_dim() const;
  /** [N] cosine of every Gaussian's feature with query [D] (normalized here; must be non-zero). */
  PooledArray<float> similarity(const float* query, int dim) const;

  /** labels [N] (0 = none, 1..255), copied; null clears. */
  void set_labels(const uint8_t* labels);

  /**
   * Appearance edits; each only when its set_* flag is true, null clearing it.
   * opacity_scale [N] finite >= 0 (opacity multiplied, 0 hides); tint [N,4] rgb + mix.
   */
  void set_appearance(bool set_opacity, const float* opacity_scale, bool set_tint, const float* tint);

  /** Thread-safe; renders, picks and regions may overlap each other and edits. Throw on bad input. */
  RenderResult render(const RenderRequest& req) const;
  PickResult pick(const PickRequest& req) const;
  RegionResult region_weights(const RegionRequest& req) const;

 private:
  struct Keyframe {
    double t;
    std::vector<float> dxyz, drot, dscale;  // [N,3], [N,4], [N,3]
  };
  using KeyframeList = std::vector<std::shared_ptr<const Keyframe>>;
  struct Appearance {
    std::vector<float> log2_opacity_scale;  // [N] or empty
    std::vector<float> tint;                // [N,4] or empty
  };
  struct Features {
    int dim = 0;
    PooledArray<uint16_t> unit;  // [N,D] L2-normalized, fp16 (huge pages, not zero-filled)
  };
  /** What a request sees: immutable parts swapped copy-on-write under state_mutex_. */
  struct State {
    std::shared_ptr<const KeyframeList> keyframes;
    std::shared_ptr<const Appearance> appearance;
    std::shared_ptr<const Features> features;
    std::shared_ptr<const std::vector<uint8_t>> labels;
    uint64_t geometry_version = 0;  // bumped by keyframe and appearance edits (they change preprocess)
  };
  /** Identifies what a workspace's preprocess + sort were computed for. */
  struct FrameKey {
    bool valid = false;
    CameraSpec camera;
    double t = 0;
    uint64_t version = 0;
    size_t m = 0;  // visible splats
    bool matches(const CameraSpec& c, double t, uint64_t version) const;
  };
  struct CachedWorkspace {
    std::unique_ptr<cpu::Workspace> ws;
    FrameKey key;
  };

  State state() const;
  template <class F>
  void edit(F&& f);
  CachedWorkspace take_workspace(const CameraSpec* want_cam, double want_t, uint64_t want_version) const;
  void return_workspace(CachedWorkspace ws) const;
  cpu::SceneArrays arrays(const State& st) const;
  /** Runs deform + preprocess + sort into cw unless it already holds them for this request. */
  bool prepare(const State& st, const CameraSpec& c, double t, CachedWorkspace& cw, cpu::StageTimings* timings,
               cpu::RenderStats* stats) const;

  size_t n_;
  int sh_degree_;
  std::vector<float> positions_;       // [N,3]
  std::vector<float> scales_;          // [N,3] exp(logScales)
  std::vector<float> rotations_;       // [N,4] normalize(r)
  std::vector<float> opacities_;       // [N] sigmoid(logit)
  std::vector<float> log2_opacities_;  // [N] log2(sigmoid(logit))
  std::vector<uint16_t> sh_;           // [N,K,3] fp16
  std::vector<float> cov_;             // [N,6] canonical 3D covariance

  mutable std::mutex state_mutex_;
  State state_;

  mutable std::mutex ws_mutex_;
  mutable std::vector<CachedWorkspace> free_workspaces_;  // oldest first
};

/** Compile-time SIMD level of the CPU backend, e.g. "avx512f", "avx2+fma", "sse2", "neon". */
const char* simd_level();
/** Threads the CPU backend uses per render. */
unsigned cpu_threads();

/** Bulk fp16 conversions on the CPU backend's pool (bit-exact with server/scene/half.ts). */
void float_to_half_bulk(const float* src, uint16_t* dst, size_t n);
void half_to_float_bulk(const uint16_t* src, float* dst, size_t n);

}  // namespace splat
