#include "scene.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/gaussian.h"
#include "cpu/features.h"
#include "cpu/half.h"
#include "cpu/thread_pool.h"

namespace splat {

Scene::Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
             const float* opacity_logits, const float* sh, const uint16_t* sh_half, BackendKind kind) {
  if (sh_degree < 0 || sh_degree > 3) throw std::invalid_argument("shDegree must be 0..3");
  if (n >= 0xffffffffull) throw std::invalid_argument("too many Gaussians (>= 2^32)");
  auto d = std::make_shared<SceneData>();
  d->n = n;
  d->sh_degree = sh_degree;
  const size_t K = (size_t)(sh_degree + 1) * (sh_degree + 1);
  d->positions.assign(positions, positions + n * 3);
  d->sh.resize(n * K * 3);
  if (sh_half)
    std::copy(sh_half, sh_half + n * K * 3, d->sh.begin());
  else if (sh)
    cpu::float_to_half_bulk(cpu::global_pool(), sh, d->sh.data(), n * K * 3);
  d->scales.resize(n * 3);
  d->rotations.resize(n * 4);
  d->opacities.resize(n);
  d->log2_opacities.resize(n);
  d->cov.resize(n * 6);
  SceneData& a = *d;
  cpu::global_pool().parallel_for(n, 8192, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      for (int k = 0; k < 3; ++k) a.scales[i * 3 + k] = std::exp(log_scales[i * 3 + k]);
      normalize_quat(rotations + i * 4, &a.rotations[i * 4]);
      a.opacities[i] = sigmoid(opacity_logits[i]);
      a.log2_opacities[i] = std::log2(a.opacities[i]);
      const Sym3 S = covariance_3d(&a.scales[i * 3], &a.rotations[i * 4]);
      float* c = &a.cov[i * 6];
      c[0] = S.xx;
      c[1] = S.xy;
      c[2] = S.xz;
      c[3] = S.yy;
      c[4] = S.yz;
      c[5] = S.zz;
    }
  });
  data_ = std::move(d);
  backend_ = kind == BackendKind::cuda ? make_cuda_backend(data_) : make_cpu_backend(data_);
  state_.keyframes = std::make_shared<KeyframeList>();
  state_.appearance = std::make_shared<Appearance>();
}

SceneState Scene::state() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return state_;
}

template <class F>
void Scene::edit(F&& f) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  f(state_);
}

// ---------------------------------------------------------------------------------------------
// Keyframes

void Scene::set_keyframe(double t, const float* dxyz, const float* drot, const float* dscale) {
  if (!std::isfinite(t)) throw std::invalid_argument("keyframe time must be finite");
  auto kf = std::make_shared<Keyframe>();
  kf->t = t;
  const size_t n = data_->n;
  kf->dxyz.assign(dxyz, dxyz + n * 3);
  kf->drot.assign(drot, drot + n * 4);
  kf->dscale.assign(dscale, dscale + n * 3);
  edit([&](SceneState& s) {
    auto next = std::make_shared<KeyframeList>(*s.keyframes);
    auto it = std::lower_bound(next->begin(), next->end(), t,
                               [](const std::shared_ptr<const Keyframe>& k, double v) { return k->t < v; });
    if (it != next->end() && (*it)->t == t)
      *it = std::move(kf);
    else
      next->insert(it, std::move(kf));
    s.keyframes = std::move(next);
    ++s.geometry_version;
  });
}

bool Scene::remove_keyframe(double t) {
  bool found = false;
  edit([&](SceneState& s) {
    auto next = std::make_shared<KeyframeList>(*s.keyframes);
    auto it = std::find_if(next->begin(), next->end(), [&](const auto& k) { return k->t == t; });
    if (it == next->end()) return;
    next->erase(it);
    s.keyframes = std::move(next);
    ++s.geometry_version;
    found = true;
  });
  return found;
}

void Scene::clear_keyframes() {
  edit([&](SceneState& s) {
    s.keyframes = std::make_shared<KeyframeList>();
    ++s.geometry_version;
  });
}

std::vector<double> Scene::keyframe_times() const {
  auto kfs = state().keyframes;
  std::vector<double> out;
  out.reserve(kfs->size());
  for (const auto& k : *kfs) out.push_back(k->t);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Features, labels, appearance

void Scene::set_features(const uint16_t* half, int dim) {
  if (dim < 1 || dim > kMaxFeatureDim) throw std::invalid_argument("feature dim out of range");
  auto f = std::make_shared<Features>();
  f->dim = dim;
  f->unit = pooled_array<uint16_t>(count() * (size_t)dim);
  cpu::normalize_features(cpu::global_pool(), half, f->unit.get(), count(), dim);
  edit([&](SceneState& s) { s.features = std::move(f); });
  backend_->prefetch(state());
}

// Reads [N,D] fp16 features straight from a bundle file into the normalized copy: the data is
// touched once (no JS-side buffer to fault in and copy), which is what makes a 1M x 384 scene
// load in one pass.
void Scene::set_features_from_file(const std::string& path, uint64_t offset, int dim) {
  if (dim < 1 || dim > kMaxFeatureDim) throw std::invalid_argument("feature dim out of range");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::invalid_argument("cannot open " + path + ": " + std::strerror(errno));
  auto f = std::make_shared<Features>();
  f->dim = dim;
  f->unit = pooled_array<uint16_t>(count() * (size_t)dim);
  const size_t row_bytes = (size_t)dim * 2;
  const size_t chunk_rows = std::max<size_t>(1, (16u << 20) / row_bytes);
  std::vector<uint16_t> tmp(chunk_rows * dim);
  try {
    for (size_t row = 0; row < count(); row += chunk_rows) {
      const size_t rows = std::min(chunk_rows, count() - row);
      const size_t want = rows * row_bytes;
      size_t got = 0;
      while (got < want) {
        const ssize_t r = ::pread(fd, reinterpret_cast<char*>(tmp.data()) + got, want - got, (off_t)(offset + row * row_bytes + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw std::invalid_argument(path + ": features end early (truncated bundle?)");
        got += (size_t)r;
      }
      cpu::normalize_features(cpu::global_pool(), tmp.data(), f->unit.get() + row * dim, rows, dim);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  edit([&](SceneState& s) { s.features = std::move(f); });
  backend_->prefetch(state());
}

int Scene::feature_dim() const {
  auto f = state().features;
  return f ? f->dim : 0;
}

namespace {

/** query [dim] normalized (in double, stored as float); throws when zero, non-finite or the wrong size. */
std::vector<float> unit_query(const Features* f, const float* query, int dim) {
  if (!f) throw std::invalid_argument("This scene has no features; call setFeatures() first");
  if (dim != f->dim)
    throw std::invalid_argument("query has " + std::to_string(dim) + " values, the features " + std::to_string(f->dim));
  double ss = 0;
  for (int d = 0; d < dim; ++d) ss += (double)query[d] * query[d];
  const double norm = std::sqrt(ss);
  if (!(norm > 0) || !std::isfinite(norm)) throw std::invalid_argument("query must be finite and non-zero");
  std::vector<float> q((size_t)dim);
  for (int d = 0; d < dim; ++d) q[d] = (float)(query[d] / norm);
  return q;
}

}  // namespace

PooledArray<float> Scene::similarity(const float* query, int dim) const {
  const SceneState st = state();
  const std::vector<float> q = unit_query(st.features.get(), query, dim);
  PooledArray<float> out = pooled_array<float>(count());
  backend_->similarity(st, q.data(), out.get());
  return out;
}

SelectResult Scene::select(const float* query, int dim, float theta) const {
  if (!std::isfinite(theta)) throw std::invalid_argument("theta must be finite");
  const SceneState st = state();
  const std::vector<float> q = unit_query(st.features.get(), query, dim);
  return backend_->select(st, q.data(), theta);
}

void Scene::set_labels(const uint8_t* labels) {
  std::shared_ptr<const std::vector<uint8_t>> l;
  if (labels) l = std::make_shared<const std::vector<uint8_t>>(labels, labels + count());
  edit([&](SceneState& s) { s.labels = std::move(l); });
}

void Scene::set_appearance(bool set_opacity, const float* opacity_scale, bool set_tint, const float* tint) {
  const size_t n = count();
  std::vector<float> log2_scale, tints;
  if (set_opacity && opacity_scale) {
    log2_scale.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (!(opacity_scale[i] >= 0.0f) || !std::isfinite(opacity_scale[i]))
        throw std::invalid_argument("opacityScale must hold finite numbers >= 0");
      log2_scale[i] = std::log2(opacity_scale[i]);  // 0 -> -inf: culled
    }
  }
  if (set_tint && tint) {
    tints.assign(tint, tint + n * 4);
    for (float v : tints)
      if (!(v >= 0.0f && v <= 1.0f)) throw std::invalid_argument("tint must hold numbers in [0, 1]");
  }
  edit([&](SceneState& s) {
    auto next = std::make_shared<Appearance>(*s.appearance);
    if (set_opacity) next->log2_opacity_scale = std::move(log2_scale);
    if (set_tint) next->tint = std::move(tints);
    s.appearance = std::move(next);
    ++s.geometry_version;
  });
}

void Scene::set_deform_network(std::shared_ptr<const DeformNetwork> net) {
  edit([&](SceneState& s) {
    s.network = std::move(net);
    ++s.geometry_version;
  });
  backend_->prefetch(state());
}

bool Scene::has_deform_network() const { return state().network != nullptr; }

DeformOutput Scene::deform(double t) const {
  if (!std::isfinite(t)) throw std::invalid_argument("t must be finite");
  const SceneState st = state();
  if (!st.network) throw std::invalid_argument("This scene has no deformation network; call setDeformNetwork() first");
  return backend_->deform(st, t);
}

// ---------------------------------------------------------------------------------------------
// Requests: validated here, then handed to the backend.

namespace {

void check_camera(const CameraSpec& c, double t, const char* what) {
  auto bad = [&](const std::string& msg) { throw std::invalid_argument(std::string("Invalid ") + what + ": " + msg); };
  if (c.width < 1 || c.width > kMaxImageSide || c.height < 1 || c.height > kMaxImageSide)
    bad("width and height must be integers in 1.." + std::to_string(kMaxImageSide));
  if (!(std::isfinite(c.fx) && std::isfinite(c.fy) && c.fx > 0 && c.fy > 0)) bad("fx and fy must be finite and > 0");
  if (!(std::isfinite(c.cx) && std::isfinite(c.cy))) bad("cx and cy must be finite");
  for (double v : c.w2c)
    if (!std::isfinite(v)) bad("worldToCamera must hold 16 finite numbers");
  if (!std::isfinite(t)) bad("t must be finite");
}

void check_network(const SceneState& st, bool wanted, const char* what) {
  if (wanted && !st.network)
    throw std::invalid_argument(std::string("Invalid ") + what +
                                ": deformNetwork asks for the scene's network but none is set (setDeformNetwork())");
}

}  // namespace

RenderResult Scene::render(const RenderRequest& req) const {
  check_camera(req.camera, req.t, "render request");
  for (float v : req.background)
    if (!std::isfinite(v)) throw std::invalid_argument("Invalid render request: background must hold 3 finite numbers");
  const SceneState st = state();
  if (req.labels) {
    if (!st.labels) throw std::invalid_argument("This scene has no labels; call setLabels() first");
    if (!(req.label_threshold > 0.0f && req.label_threshold <= 1.0f))
      throw std::invalid_argument("Invalid render request: labelThreshold must be in (0, 1]");
  }
  check_network(st, req.deform_network, "render request");
  return backend_->render(st, req);
}

PickResult Scene::pick(const PickRequest& req) const {
  check_camera(req.camera, req.t, "pick request");
  const CameraSpec& c = req.camera;
  if (req.x < 0 || req.x >= c.width || req.y < 0 || req.y >= c.height)
    throw std::invalid_argument("Invalid pick request: pixel outside the image");
  if (req.patch < 1 || req.patch % 2 == 0) throw std::invalid_argument("Invalid pick request: patch must be odd and >= 1");
  const SceneState st = state();
  if (!st.features) throw std::invalid_argument("This scene has no features; call setFeatures() first");
  check_network(st, req.deform_network, "pick request");
  return backend_->pick(st, req);
}

RegionResult Scene::region_weights(const RegionRequest& req) const {
  check_camera(req.camera, req.t, "region request");
  const CameraSpec& c = req.camera;
  if (req.spans.size() % 3 != 0) throw std::invalid_argument("Invalid region request: spans must be (y, x0, x1) triples");
  const size_t ns = req.spans.size() / 3;
  for (size_t s = 0; s < ns; ++s) {
    const int32_t y = req.spans[s * 3], x0 = req.spans[s * 3 + 1], x1 = req.spans[s * 3 + 2];
    if (y < 0 || y >= c.height || x0 < 0 || x1 > c.width || x0 > x1)
      throw std::invalid_argument("Invalid region request: span " + std::to_string(s) + " outside the image");
  }
  const TileMasks region = masks_from_spans(c.width, c.height, req.spans.data(), ns);
  if (region.pixels == 0) throw std::invalid_argument("Invalid region request: the region is empty");
  const SceneState st = state();
  check_network(st, req.deform_network, "region request");
  return backend_->region_weights(st, req, region);
}

// ---------------------------------------------------------------------------------------------

const char* simd_level() {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE4_2__)
  return "sse4.2";
#elif defined(__SSE2__) || defined(_M_X64)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "scalar";
#endif
}

unsigned cpu_threads() { return cpu::global_pool().size(); }

void float_to_half_bulk(const float* src, uint16_t* dst, size_t n) { cpu::float_to_half_bulk(cpu::global_pool(), src, dst, n); }
void half_to_float_bulk(const uint16_t* src, float* dst, size_t n) { cpu::half_to_float_bulk(cpu::global_pool(), src, dst, n); }

}  // namespace splat
