// Host layer: a scene uploaded once (activated copies of the cloud's arrays, SH as fp16), its
// deformation keyframes, appearance edits, labels, unit semantic features and deformation
// network, and rendering / picking / region weights / similarity / deformation through one
// backend (backend.h: CPU, or CUDA when built with nvcc and a device is present). No Node-API
// types here; addon.cc binds this. N = Gaussians, K = (shDegree+1)^2 SH coefficients,
// D = feature dimension.
#pragma once
#include <string>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.h"
#include "buffers.h"

namespace splat {

enum class BackendKind { cpu, cuda };

struct DeformNetworkDesc;  // deform_net.h

class Scene {
 public:
  /**
   * Copies and activates the cloud: scales = exp(logScales), opacities = sigmoid(logits),
   * rotations = normalize(r). positions [N,3], rotations [N,4], log_scales [N,3],
   * opacity_logits [N]; SH [N,K,3] either as float (sh, converted to fp16 here) or already
   * fp16 (sh_half, copied, used when non-null). kind: which backend does the work (CUDA throws
   * std::runtime_error with the reason when it cannot be used).
   */
  Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
        const float* opacity_logits, const float* sh, const uint16_t* sh_half, BackendKind kind = BackendKind::cpu);

  size_t count() const { return data_->n; }
  int sh_degree() const { return data_->sh_degree; }
  /** "cpu" or "cuda". */
  const char* backend_name() const { return backend_->name(); }

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
  /** Gaussians whose cosine with query [D] is >= theta, ascending. */
  SelectResult select(const float* query, int dim, float theta) const;

  /** labels [N] (0 = none, 1..255), copied; null clears. */
  void set_labels(const uint8_t* labels);

  /**
   * Appearance edits; each only when its set_* flag is true, null clearing it.
   * opacity_scale [N] finite >= 0 (opacity multiplied, 0 hides); tint [N,4] rgb + mix.
   */
  void set_appearance(bool set_opacity, const float* opacity_scale, bool set_tint, const float* tint);

  /** The deformation network (deform_net.h), or null to clear. Used by deform() and deform_network requests. */
  void set_deform_network(std::shared_ptr<const DeformNetwork> net);
  bool has_deform_network() const;
  /** The network's deformation of every Gaussian at t (CUDA backend). */
  DeformOutput deform(double t) const;

  /** Thread-safe; renders, picks and regions may overlap each other and edits. Throw on bad input. */
  RenderResult render(const RenderRequest& req) const;
  PickResult pick(const PickRequest& req) const;
  RegionResult region_weights(const RegionRequest& req) const;

 private:
  SceneState state() const;
  template <class F>
  void edit(F&& f);

  std::shared_ptr<const SceneData> data_;
  std::unique_ptr<Backend> backend_;

  mutable std::mutex state_mutex_;
  SceneState state_;
};

/** Compile-time SIMD level of the CPU backend, e.g. "avx512f", "avx2+fma", "sse2", "neon". */
const char* simd_level();
/** Threads the CPU backend uses per render. */
unsigned cpu_threads();

/** Bulk fp16 conversions on the CPU backend's pool (bit-exact with server/scene/half.ts). */
void float_to_half_bulk(const float* src, uint16_t* dst, size_t n);
void half_to_float_bulk(const uint16_t* src, float* dst, size_t n);

}  // namespace splat
