#include "scene.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/deform.h"
#include "common/gaussian.h"
#include "cpu/stages.h"
#include "cpu/thread_pool.h"

namespace splat {

Scene::Scene(size_t n, int sh_degree, const float* positions, const float* rotations, const float* log_scales,
             const float* opacity_logits, const float* sh)
    : n_(n), sh_degree_(sh_degree), keyframes_(std::make_shared<KeyframeList>()) {
  if (sh_degree < 0 || sh_degree > 3) throw std::invalid_argument("shDegree must be 0..3");
  if (n >= 0xffffffffull) throw std::invalid_argument("too many Gaussians (>= 2^32)");
  const size_t K = (size_t)(sh_degree + 1) * (sh_degree + 1);
  positions_.assign(positions, positions + n * 3);
  sh_.assign(sh, sh + n * K * 3);
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
}

std::shared_ptr<const Scene::KeyframeList> Scene::keyframes() const {
  std::lock_guard<std::mutex> lock(kf_mutex_);
  return keyframes_;
}

void Scene::set_keyframe(double t, const float* dxyz, const float* drot, const float* dscale) {
  if (!std::isfinite(t)) throw std::invalid_argument("keyframe time must be finite");
  auto kf = std::make_shared<Keyframe>();
  kf->t = t;
  kf->dxyz.assign(dxyz, dxyz + n_ * 3);
  kf->drot.assign(drot, drot + n_ * 4);
  kf->dscale.assign(dscale, dscale + n_ * 3);
  std::lock_guard<std::mutex> lock(kf_mutex_);
  auto next = std::make_shared<KeyframeList>(*keyframes_);
  auto it = std::lower_bound(next->begin(), next->end(), t,
                             [](const std::shared_ptr<const Keyframe>& k, double v) { return k->t < v; });
  if (it != next->end() && (*it)->t == t)
    *it = std::move(kf);
  else
    next->insert(it, std::move(kf));
  keyframes_ = std::move(next);
}

bool Scene::remove_keyframe(double t) {
  std::lock_guard<std::mutex> lock(kf_mutex_);
  auto next = std::make_shared<KeyframeList>(*keyframes_);
  auto it = std::find_if(next->begin(), next->end(), [&](const auto& k) { return k->t == t; });
  if (it == next->end()) return false;
  next->erase(it);
  keyframes_ = std::move(next);
  return true;
}

void Scene::clear_keyframes() {
  std::lock_guard<std::mutex> lock(kf_mutex_);
  keyframes_ = std::make_shared<KeyframeList>();
}

std::vector<double> Scene::keyframe_times() const {
  auto kfs = keyframes();
  std::vector<double> out;
  out.reserve(kfs->size());
  for (const auto& k : *kfs) out.push_back(k->t);
  return out;
}

std::unique_ptr<cpu::Workspace> Scene::take_workspace() const {
  std::lock_guard<std::mutex> lock(ws_mutex_);
  if (free_workspaces_.empty()) return std::make_unique<cpu::Workspace>();
  auto ws = std::move(free_workspaces_.back());
  free_workspaces_.pop_back();
  return ws;
}

void Scene::return_workspace(std::unique_ptr<cpu::Workspace> ws) const {
  std::lock_guard<std::mutex> lock(ws_mutex_);
  free_workspaces_.push_back(std::move(ws));
}

namespace {
void check_request(const RenderRequest& req) {
  const CameraSpec& c = req.camera;
  auto bad = [](const std::string& what) { throw std::invalid_argument("Invalid render request: " + what); };
  if (c.width < 1 || c.width > kMaxImageSide || c.height < 1 || c.height > kMaxImageSide)
    bad("width and height must be integers in 1.." + std::to_string(kMaxImageSide));
  if (!(std::isfinite(c.fx) && std::isfinite(c.fy) && c.fx > 0 && c.fy > 0)) bad("fx and fy must be finite and > 0");
  if (!(std::isfinite(c.cx) && std::isfinite(c.cy))) bad("cx and cy must be finite");
  for (double v : c.w2c)
    if (!std::isfinite(v)) bad("worldToCamera must hold 16 finite numbers");
  if (!std::isfinite(req.t)) bad("t must be finite");
  for (float v : req.background)
    if (!std::isfinite(v)) bad("background must hold 3 finite numbers");
}
}  // namespace

RenderResult Scene::render(const RenderRequest& req) const {
  check_request(req);
  const CameraSpec& c = req.camera;
  const CameraParams cam = make_camera_params(c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.w2c);

  // Deformation at t from a snapshot of the keyframes (kept alive for this render).
  const auto kfs = keyframes();
  cpu::DeformPair pair{};
  const cpu::DeformPair* deform = nullptr;
  if (!kfs->empty()) {
    std::vector<double> times;
    times.reserve(kfs->size());
    for (const auto& k : *kfs) times.push_back(k->t);
    const KeyframeBracket br = keyframe_bracket(times.data(), (int)times.size(), req.t);
    const Keyframe& a = *(*kfs)[br.lo];
    const Keyframe& b = *(*kfs)[br.hi];
    pair = cpu::DeformPair{a.dxyz.data(), a.drot.data(), a.dscale.data(), b.dxyz.data(), b.drot.data(),
                           b.dscale.data(), br.lo != br.hi, br.u};
    deform = &pair;
  }

  cpu::SceneArrays arrays;
  arrays.n = n_;
  arrays.sh_degree = sh_degree_;
  arrays.positions = positions_.data();
  arrays.scales = scales_.data();
  arrays.rotations = rotations_.data();
  arrays.opacities = opacities_.data();
  arrays.log2_opacities = log2_opacities_.data();
  arrays.sh = sh_.data();
  arrays.cov = cov_.data();

  RenderResult res;
  res.width = c.width;
  res.height = c.height;
  const size_t pixels = (size_t)c.width * c.height;
  res.rgb.reset(new uint8_t[pixels * 3]);
  res.depth.reset(new float[pixels]);
  res.alpha.reset(new float[pixels]);
  const cpu::FrameOut out{res.rgb.get(), res.depth.get(), res.alpha.get()};

  std::unique_ptr<cpu::Workspace> ws = take_workspace();
  try {
    cpu::render_frame(cpu::global_pool(), arrays, deform, cam, req.background, *ws, out, &res.timings, &res.stats);
  } catch (...) {
    return_workspace(std::move(ws));
    throw;
  }
  return_workspace(std::move(ws));
  return res;
}

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

}  // namespace splat
