#include "scene.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/deform.h"
#include "common/gaussian.h"
#include "cpu/features.h"
#include "cpu/half.h"
#include "cpu/stages.h"
#include "cpu/thread_pool.h"

namespace splat {

Scene::Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
             const float* opacity_logits, const float* sh, const uint16_t* sh_half)
    : n_(n), sh_degree_(sh_degree) {
  if (sh_degree < 0 || sh_degree > 3) throw std::invalid_argument("shDegree must be 0..3");
  if (n >= 0xffffffffull) throw std::invalid_argument("too many Gaussians (>= 2^32)");
  const size_t K = (size_t)(sh_degree + 1) * (sh_degree + 1);
  positions_.assign(positions, positions + n * 3);
  sh_.resize(n * K * 3);
  if (sh_half)
    std::copy(sh_half, sh_half + n * K * 3, sh_.begin());
  else if (sh)
    cpu::float_to_half_bulk(cpu::global_pool(), sh, sh_.data(), n * K * 3);
  scales_.resize(n * 3);
  rotations_.resize(n * 4);
  opacities_.resize(n);
  log2_opacities_.resize(n);
  cov_.resize(n * 6);
  cpu::global_pool().parallel_for(n, 8192, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      for (int k = 0; k < 3; ++k) scales_[i * 3 + k] = std::exp(log_scales[i * 3 + k]);
      normalize_quat(rotations + i * 4, &rotations_[i * 4]);
      opacities_[i] = sigmoid(opacity_logits[i]);
      log2_opacities_[i] = std::log2(opacities_[i]);
      const Sym3 S = covariance_3d(&scales_[i * 3], &rotations_[i * 4]);
      float* c = &cov_[i * 6];
      c[0] = S.xx;
      c[1] = S.xy;
      c[2] = S.xz;
      c[3] = S.yy;
      c[4] = S.yz;
      c[5] = S.zz;
    }
  });
  state_.keyframes = std::make_shared<KeyframeList>();
  state_.appearance = std::make_shared<Appearance>();
}

Scene::State Scene::state() const {
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
  kf->dxyz.assign(dxyz, dxyz + n_ * 3);
  kf->drot.assign(drot, drot + n_ * 4);
  kf->dscale.assign(dscale, dscale + n_ * 3);
  edit([&](State& s) {
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
  edit([&](State& s) {
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
  edit([&](State& s) {
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
  f->unit = pooled_array<uint16_t>(n_ * (size_t)dim);
  cpu::normalize_features(cpu::global_pool(), half, f->unit.get(), n_, dim);
  edit([&](State& s) { s.features = std::move(f); });
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
  f->unit = pooled_array<uint16_t>(n_ * (size_t)dim);
  const size_t row_bytes = (size_t)dim * 2;
  const size_t chunk_rows = std::max<size_t>(1, (16u << 20) / row_bytes);
  std::vector<uint16_t> tmp(chunk_rows * dim);
  try {
    for (size_t row = 0; row < n_; row += chunk_rows) {
      const size_t rows = std::min(chunk_rows, n_ - row);
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
  edit([&](State& s) { s.features = std::move(f); });
}

int Scene::feature_dim() const {
  auto f = state().features;
  return f ? f->dim : 0;
}

PooledArray<float> Scene::similarity(const float* query, int dim) const {
  auto f = state().features;
  if (!f) throw std::invalid_argument("This scene has no features; call setFeatures() first");
  if (dim != f->dim)
    throw std::invalid_argument("query has " + std::to_string(dim) + " values, the features " + std::to_string(f->dim));
  double ss = 0;
  for (int d = 0; d < dim; ++d) ss += (double)query[d] * query[d];
  const double norm = std::sqrt(ss);
  if (!(norm > 0) || !std::isfinite(norm)) throw std::invalid_argument("query must be finite and non-zero");
  std::vector<float> q((size_t)dim);
  for (int d = 0; d < dim; ++d) q[d] = (float)(query[d] / norm);
  PooledArray<float> out = pooled_array<float>(n_);
  cpu::feature_dot(cpu::global_pool(), f->unit.get(), n_, dim, q.data(), out.get());
  return out;
}

void Scene::set_labels(const uint8_t* labels) {
  std::shared_ptr<const std::vector<uint8_t>> l;
  if (labels) l = std::make_shared<const std::vector<uint8_t>>(labels, labels + n_);
  edit([&](State& s) { s.labels = std::move(l); });
}

void Scene::set_appearance(bool set_opacity, const float* opacity_scale, bool set_tint, const float* tint) {
  std::vector<float> log2_scale, tints;
  if (set_opacity && opacity_scale) {
    log2_scale.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      if (!(opacity_scale[i] >= 0.0f) || !std::isfinite(opacity_scale[i]))
        throw std::invalid_argument("opacityScale must hold finite numbers >= 0");
      log2_scale[i] = std::log2(opacity_scale[i]);  // 0 -> -inf: culled
    }
  }
  if (set_tint && tint) {
    tints.assign(tint, tint + n_ * 4);
    for (float v : tints)
      if (!(v >= 0.0f && v <= 1.0f)) throw std::invalid_argument("tint must hold numbers in [0, 1]");
  }
  edit([&](State& s) {
    auto next = std::make_shared<Appearance>(*s.appearance);
    if (set_opacity) next->log2_opacity_scale = std::move(log2_scale);
    if (set_tint) next->tint = std::move(tints);
    s.appearance = std::move(next);
    ++s.geometry_version;
  });
}

// ---------------------------------------------------------------------------------------------
// Workspaces: reused across requests; each remembers which (camera, t, geometry version) its
// preprocess + sort hold, so a pick or region right after a render of the same view skips them.

bool Scene::FrameKey::matches(const CameraSpec& c, double t_, uint64_t version_) const {
  if (!valid || version != version_ || t != t_) return false;
  if (camera.width != c.width || camera.height != c.height || camera.fx != c.fx || camera.fy != c.fy ||
      camera.cx != c.cx || camera.cy != c.cy)
    return false;
  for (int i = 0; i < 16; ++i)
    if (camera.w2c[i] != c.w2c[i]) return false;
  return true;
}

Scene::CachedWorkspace Scene::take_workspace(const CameraSpec* want_cam, double want_t, uint64_t want_version) const {
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

void Scene::return_workspace(CachedWorkspace cw) const {
  std::lock_guard<std::mutex> lock(ws_mutex_);
  free_workspaces_.push_back(std::move(cw));
}

cpu::SceneArrays Scene::arrays(const State& st) const {
  cpu::SceneArrays a;
  a.n = n_;
  a.sh_degree = sh_degree_;
  a.positions = positions_.data();
  a.scales = scales_.data();
  a.rotations = rotations_.data();
  a.opacities = opacities_.data();
  a.log2_opacities = log2_opacities_.data();
  a.sh = sh_.data();
  a.cov = cov_.data();
  if (!st.appearance->log2_opacity_scale.empty()) a.log2_opacity_scale = st.appearance->log2_opacity_scale.data();
  if (!st.appearance->tint.empty()) a.tint = st.appearance->tint.data();
  return a;
}

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

CameraParams camera_params(const CameraSpec& c) {
  return make_camera_params(c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.w2c);
}

size_t tile_count(const CameraParams& cam) {
  return (size_t)((cam.width + cpu::kTile - 1) / cpu::kTile) * ((cam.height + cpu::kTile - 1) / cpu::kTile);
}

/** Per-tile 256-bit pixel masks of a pixel set given as row spans; only the touched tiles. */
struct TileMasks {
  std::vector<uint32_t> tiles;  // ascending tile index
  std::vector<uint64_t> masks;  // [tiles, 4]
  size_t pixels = 0;
};

TileMasks masks_from_spans(const CameraParams& cam, const int32_t* spans, size_t count) {
  const int tiles_x = (cam.width + cpu::kTile - 1) / cpu::kTile;
  std::vector<uint64_t> dense(tile_count(cam) * 4, 0);
  for (size_t s = 0; s < count; ++s) {
    const int y = spans[s * 3], x0 = spans[s * 3 + 1], x1 = spans[s * 3 + 2];
    for (int x = x0; x < x1; ++x) {
      const size_t t = (size_t)(y / cpu::kTile) * tiles_x + x / cpu::kTile;
      const int p = (y % cpu::kTile) * cpu::kTile + x % cpu::kTile;
      dense[t * 4 + (p >> 6)] |= 1ull << (p & 63);
    }
  }
  TileMasks m;
  for (size_t t = 0; t < dense.size() / 4; ++t) {
    const uint64_t* d = &dense[t * 4];
    const size_t bits = (size_t)__builtin_popcountll(d[0]) + __builtin_popcountll(d[1]) + __builtin_popcountll(d[2]) +
                        __builtin_popcountll(d[3]);
    if (bits == 0) continue;
    m.pixels += bits;
    m.tiles.push_back((uint32_t)t);
    m.masks.insert(m.masks.end(), d, d + 4);
  }
  return m;
}

}  // namespace

bool Scene::prepare(const State& st, const CameraSpec& c, double t, CachedWorkspace& cw, cpu::StageTimings* timings,
                    cpu::RenderStats* stats) const {
  if (cw.key.matches(c, t, st.geometry_version)) return true;
  cw.key.valid = false;
  const CameraParams cam = camera_params(c);
  cpu::DeformPair pair{};
  const cpu::DeformPair* deform = nullptr;
  const KeyframeList& kfs = *st.keyframes;
  if (!kfs.empty()) {
    std::vector<double> times;
    times.reserve(kfs.size());
    for (const auto& k : kfs) times.push_back(k->t);
    const KeyframeBracket br = keyframe_bracket(times.data(), (int)times.size(), t);
    const Keyframe& a = *kfs[br.lo];
    const Keyframe& b = *kfs[br.hi];
    pair = cpu::DeformPair{a.dxyz.data(), a.drot.data(), a.dscale.data(), b.dxyz.data(), b.drot.data(),
                           b.dscale.data(), br.lo != br.hi, br.u};
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

// ---------------------------------------------------------------------------------------------
// Requests

RenderResult Scene::render(const RenderRequest& req) const {
  check_camera(req.camera, req.t, "render request");
  for (float v : req.background)
    if (!std::isfinite(v)) throw std::invalid_argument("Invalid render request: background must hold 3 finite numbers");
  const State st = state();
  cpu::LabelParams lp;
  if (req.labels) {
    if (!st.labels) throw std::invalid_argument("This scene has no labels; call setLabels() first");
    if (!(req.label_threshold > 0.0f && req.label_threshold <= 1.0f))
      throw std::invalid_argument("Invalid render request: labelThreshold must be in (0, 1]");
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
    using Clock = std::chrono::steady_clock;
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
  return res;
}

PickResult Scene::pick(const PickRequest& req) const {
  check_camera(req.camera, req.t, "pick request");
  const CameraSpec& c = req.camera;
  if (req.x < 0 || req.x >= c.width || req.y < 0 || req.y >= c.height)
    throw std::invalid_argument("Invalid pick request: pixel outside the image");
  if (req.patch < 1 || req.patch % 2 == 0) throw std::invalid_argument("Invalid pick request: patch must be odd and >= 1");
  const State st = state();
  if (!st.features) throw std::invalid_argument("This scene has no features; call setFeatures() first");
  const Features& feat = *st.features;
  const CameraParams cam = camera_params(c);

  // Patch pixels (clipped) as row spans.
  const int h = req.patch / 2;
  const int px0 = std::max(0, req.x - h), px1 = std::min(c.width, req.x + h + 1);
  const int py0 = std::max(0, req.y - h), py1 = std::min(c.height, req.y + h + 1);
  std::vector<int32_t> spans;
  for (int y = py0; y < py1; ++y) spans.insert(spans.end(), {y, px0, px1});
  const TileMasks patch = masks_from_spans(cam, spans.data(), spans.size() / 3);
  const int32_t centre_span[3] = {req.y, req.x, req.x + 1};
  const TileMasks centre = masks_from_spans(cam, centre_span, 1);

  PickResult res;
  res.dim = feat.dim;
  res.pixels = (int)patch.pixels;
  CachedWorkspace cw = take_workspace(&c, req.t, st.geometry_version);
  try {
    cpu::RenderStats stats;
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
    std::sort(gw.begin(), gw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<uint32_t> gid;
    std::vector<float> gsum;
    for (const auto& p : gw) {
      if (!gid.empty() && gid.back() == p.first)
        gsum.back() += p.second;
      else
        gid.push_back(p.first), gsum.push_back(p.second);
    }
    const float inv_pixels = 1.0f / (float)patch.pixels;
    for (float& w : gsum) w *= inv_pixels;
    res.feature.reset(new float[feat.dim]);
    std::fill(res.feature.get(), res.feature.get() + feat.dim, 0.0f);
    cpu::accumulate_features(feat.unit.get(), feat.dim, gid.data(), gsum.data(), gid.size(), res.feature.get());

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
    const float T = std::fabs(td[p]);
    res.alpha = 1.0f - T;
    res.depth = res.alpha > 1e-6f ? td[cpu::kTile * cpu::kTile + p] / res.alpha : 0.0f;
    if (res.alpha > 1e-6f) {
      res.has_world_point = true;
      unproject_pixel(c.fx, c.fy, c.cx, c.cy, c.w2c, req.x + 0.5, req.y + 0.5, res.depth, res.world_point);
    }
  } catch (...) {
    cw.key.valid = false;
    return_workspace(std::move(cw));
    throw;
  }
  return_workspace(std::move(cw));
  return res;
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
  const CameraParams cam = camera_params(c);
  const TileMasks region = masks_from_spans(cam, req.spans.data(), ns);
  if (region.pixels == 0) throw std::invalid_argument("Invalid region request: the region is empty");
  const State st = state();

  RegionResult res;
  res.n = n_;
  res.pixels = region.pixels;
  res.weights = pooled_array<float>(n_);
  std::fill(res.weights.get(), res.weights.get() + n_, 0.0f);
  CachedWorkspace cw = take_workspace(&c, req.t, st.geometry_version);
  try {
    cpu::RenderStats stats;
    res.reused = prepare(st, c, req.t, cw, &res.timings, &stats);
    cpu::Workspace& ws = *cw.ws;
    using Clock = std::chrono::steady_clock;
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
