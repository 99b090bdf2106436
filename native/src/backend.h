// The seam between the host layer (scene.{h,cc}: uploads, copy-on-write state, validation)
// and the backends that do the work: the CPU backend (cpu/backend.cc) and the CUDA backend
// (cuda/*.cu, compiled only when nvcc is present at build time; cuda_stub.cc otherwise).
// Requests reach a backend already validated; a backend reads the immutable SceneData and a
// SceneState snapshot and never changes either. No Node-API and no CUDA types here: this header
// is compiled by both g++ and nvcc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffers.h"

namespace splat {

struct StageTimings {
  double deform_ms = 0, preprocess_ms = 0, sort_ms = 0, blend_ms = 0, total_ms = 0;
  double readback_ms = 0;  // device -> host copies (CUDA backend; 0 on the CPU)
};

struct RenderStats {
  uint64_t visible = 0;       // Gaussians that survive culling (their 1/255 box covers a pixel centre)
  uint64_t tile_entries = 0;  // (tile, Gaussian) pairs
  uint64_t evaluated = 0;     // pixel x Gaussian evaluations done by the blend
};

/** A CameraJSON (OpenCV convention, worldToCamera row-major 4x4). */
struct CameraSpec {
  int width = 0, height = 0;  // pixels, 1..kMaxImageSide
  double fx = 0, fy = 0, cx = 0, cy = 0;
  double w2c[16] = {};
};

constexpr int kMaxImageSide = 4096;
constexpr int kMaxFeatureDim = 8192;

struct RenderRequest {
  CameraSpec camera;
  double t = 0;                     // time; selects / interpolates keyframes
  float background[3] = {0, 0, 0};  // RGB in [0,1]
  bool labels = false;              // also produce the label channel (needs set_labels)
  float label_threshold = 0.5f;     // W_k >= threshold qualifies, in (0, 1]
  bool depth_alpha = true;          // also return the float depth and alpha planes
  bool deform_network = false;      // deform with the scene's network at t instead of keyframes (CUDA)
};

struct RenderResult {
  int width = 0, height = 0;
  PooledArray<uint8_t> rgb;     // [H,W,3]
  PooledArray<float> depth;     // [H,W] expected camera z of what was hit, 0 where alpha <= 1e-6 (null when !depth_alpha)
  PooledArray<float> alpha;     // [H,W] 1 - T (null when !depth_alpha)
  PooledArray<uint8_t> labels;  // [H,W] when requested, else null
  StageTimings timings;
  RenderStats stats;
};

struct PickRequest {
  CameraSpec camera;
  double t = 0;
  int x = 0, y = 0;  // centre pixel, inside the image
  int patch = 5;     // odd side of the square patch, clipped to the image
  bool deform_network = false;
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
  StageTimings timings;
};

struct RegionRequest {
  CameraSpec camera;
  double t = 0;
  std::vector<int32_t> spans;  // [S,3] (y, x0, x1): pixels x0 <= x < x1 of row y
  bool deform_network = false;
};

struct RegionResult {
  size_t n = 0;
  PooledArray<float> weights;  // [N] sum over the region's pixels of w_i = T_i alpha_i
  size_t pixels = 0;           // distinct region pixels
  bool reused = false;
  StageTimings timings;
};

/** Gaussians whose similarity with a query is >= theta. */
struct SelectResult {
  PooledArray<uint32_t> ids;  // [count] ascending Gaussian indices (the allocation may be larger)
  size_t count = 0;
  double ms = 0;
};

/** A deformation sample computed by a backend (CUDA: the network on the device). */
struct DeformOutput {
  size_t n = 0;
  PooledArray<float> dxyz, drot, dscale;  // [N,3], [N,4], [N,3]
  double ms = 0;
};

// ---------------------------------------------------------------------------------------------
// What a backend reads

/** A scene's activated arrays, immutable after upload. N = Gaussians, K = (deg+1)^2. */
struct SceneData {
  size_t n = 0;
  int sh_degree = 0;
  std::vector<float> positions;       // [N,3]
  std::vector<float> scales;          // [N,3] exp(logScales)
  std::vector<float> rotations;       // [N,4] normalize(r)
  std::vector<float> opacities;       // [N] sigmoid(logit)
  std::vector<float> log2_opacities;  // [N] log2(sigmoid(logit))
  std::vector<uint16_t> sh;           // [N,K,3] fp16
  std::vector<float> cov;             // [N,6] canonical 3D covariance
};

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

struct DeformNetwork;  // deform_net.h

/**
 * What a request sees: immutable parts swapped copy-on-write by the Scene. A backend may keep
 * device copies keyed by these pointers' identity (they never change once published).
 */
struct SceneState {
  std::shared_ptr<const KeyframeList> keyframes;
  std::shared_ptr<const Appearance> appearance;
  std::shared_ptr<const Features> features;
  std::shared_ptr<const std::vector<uint8_t>> labels;
  std::shared_ptr<const DeformNetwork> network;
  uint64_t geometry_version = 0;  // bumped by keyframe and appearance edits (they change preprocess)
};

/** The keyframes that make the sample at t (RENDERING.md "Inputs"); a == nullptr: none. */
struct KeyframePair {
  const Keyframe* a = nullptr;
  const Keyframe* b = nullptr;  // == a when not blended
  bool blend = false;
  float u = 0;  // weight of b
};
KeyframePair bracket_keyframes(const KeyframeList& kfs, double t);

/** Per-tile 256-bit pixel masks of a pixel set given as row spans; only the touched tiles. */
struct TileMasks {
  std::vector<uint32_t> tiles;  // ascending tile index
  std::vector<uint64_t> masks;  // [tiles, 4]: bit y * 16 + x for pixel (x, y) of the tile
  size_t pixels = 0;
};
TileMasks masks_from_spans(int width, int height, const int32_t* spans, size_t count);

/** The patch of a pick as spans (clipped to the image), and the centre pixel's. */
std::vector<int32_t> pick_patch_spans(const PickRequest& req);

/**
 * The pick feature: gw = (Gaussian, sum over the patch pixels of w) pairs in any order (a
 * Gaussian may appear several times); out [dim] = sum_i (sum of its w / pixels) f_i.
 */
void pick_feature(const Features& f, std::vector<std::pair<uint32_t, float>>& gw, size_t pixels, float* out);

/** Fills alpha, depth and the world point of res from the centre pixel's final T and depth sum. */
void pick_centre(const CameraSpec& c, int x, int y, float T, float depth_sum, PickResult* res);

// ---------------------------------------------------------------------------------------------
// Backends

class Backend {
 public:
  virtual ~Backend() = default;
  /** "cpu" or "cuda". */
  virtual const char* name() const = 0;
  /** Validated requests (scene.cc checks them); thread-safe; throw std::exception on failure. */
  virtual RenderResult render(const SceneState& st, const RenderRequest& req) const = 0;
  virtual PickResult pick(const SceneState& st, const PickRequest& req) const = 0;
  virtual RegionResult region_weights(const SceneState& st, const RegionRequest& req, const TileMasks& region) const = 0;
  /** out [N] = unit features . q; q [D] unit. st.features set. */
  virtual void similarity(const SceneState& st, const float* q, float* out) const = 0;
  /** Gaussians with unit features . q >= theta, ascending. */
  virtual SelectResult select(const SceneState& st, const float* q, float theta) const = 0;
  /** The scene's network (st.network set) at t. */
  virtual DeformOutput deform(const SceneState& st, double t) const = 0;
  /**
   * Called after the features or the network change (on the caller's thread, possibly the JS
   * main thread) so a backend can copy them to its device before the first request needs them.
   */
  virtual void prefetch(const SceneState& /*st*/) const {}
};

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const SceneData> data);

/**
 * The CUDA backend on the current device (cuda/backend.cu). Throws std::runtime_error with the
 * reason when this build has no CUDA backend or no device can be used.
 */
std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const SceneData> data);

/** What the CUDA runtime says about this machine (probed once, never throws). */
struct CudaInfo {
  bool compiled = false;      // the CUDA backend is in this build
  int devices = 0;            // usable devices (0 on error)
  std::string error;          // why there is none, when devices == 0
  std::string device_name;    // device 0
  int cc_major = 0, cc_minor = 0;
  size_t memory_bytes = 0;
  int runtime_version = 0;    // e.g. 13000
  int driver_version = 0;     // 0 when no driver
  std::string archs;          // compiled SASS / PTX targets, e.g. "sm_80 sm_86 sm_89 sm_90 compute_90"
};
const CudaInfo& cuda_info();

}  // namespace splat
