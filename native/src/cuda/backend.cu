// The CUDA backend (backend.h) on device 0: the scene's arrays uploaded once; keyframes,
// appearance, labels, features and the deformation network copied to the device on first use
// and cached by the identity of the host objects (SceneState's shared_ptrs never change once
// published, so a different pointer means new data); one frame workspace whose preprocess +
// sort a pick or region of the same view reuses, as the CPU backend's workspaces do. Requests
// are serialized on one stream (a scene has one GPU). Frames leave the device as 8-bit RGB
// (+ labels; depth / alpha only when asked) through a pinned staging buffer.
//
// NOT YET RUN ON A GPU: this session had nvcc but no device; everything here compiles, none of
// it has executed. docs/CUDA.md lists what a GPU session must run first (npm run test:gpu).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../backend.h"
#include "../common/gaussian.h"
#include "../deform_net.h"
#include "kernels.h"
#include "util.cuh"

// The compiled targets, passed by binding.gyp as one token (sm_80+sm_86+...+compute_90).
#define SPLATSYNC_STR2(x) #x
#define SPLATSYNC_STR(x) SPLATSYNC_STR2(x)
#ifdef SPLATSYNC_CUDA_ARCHS_LIST
#define SPLATSYNC_CUDA_ARCHS SPLATSYNC_STR(SPLATSYNC_CUDA_ARCHS_LIST)
#else
#define SPLATSYNC_CUDA_ARCHS "unknown"
#endif

namespace splat {
namespace cuda {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

__global__ void probe_kernel(int* p) {
  if (p) *p = 1;
}

std::string error_text(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

CudaInfo probe_info() {
  CudaInfo info;
  info.compiled = true;
  info.archs = SPLATSYNC_CUDA_ARCHS;
  std::replace(info.archs.begin(), info.archs.end(), '+', ' ');
  cudaRuntimeGetVersion(&info.runtime_version);
  if (cudaDriverGetVersion(&info.driver_version) != cudaSuccess) info.driver_version = 0;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    info.error = "no usable CUDA device (" + error_text(e) + ")";
    if (info.driver_version == 0) info.error += "; no NVIDIA driver found";
    return info;
  }
  if (n == 0) {
    info.error = "no CUDA device";
    return info;
  }
  cudaDeviceProp p;
  e = cudaGetDeviceProperties(&p, 0);
  if (e != cudaSuccess) {
    cudaGetLastError();
    info.error = "cudaGetDeviceProperties failed (" + error_text(e) + ")";
    return info;
  }
  info.device_name = p.name;
  info.cc_major = p.major;
  info.cc_minor = p.minor;
  info.memory_bytes = p.totalGlobalMem;
  // Is there code for this device in the build (SASS for its architecture or PTX to JIT)?
  cudaFuncAttributes fa;
  e = cudaFuncGetAttributes(&fa, probe_kernel);
  if (e != cudaSuccess) {
    cudaGetLastError();
    info.error = "device 0 (" + info.device_name + ", compute capability " + std::to_string(p.major) + "." +
                 std::to_string(p.minor) + ") cannot run this build's kernels (" + info.archs + "): " + error_text(e);
    return info;
  }
  info.devices = n;
  return info;
}

/** Identifies what the frame workspace's preprocess + sort were computed for. */
struct FrameKey {
  bool valid = false;
  CameraSpec camera;
  double t = 0;
  uint64_t version = 0;
  bool network = false;
  bool matches(const CameraSpec& c, double t_, uint64_t version_, bool network_) const {
    if (!valid || version != version_ || t != t_ || network != network_) return false;
    if (camera.width != c.width || camera.height != c.height || camera.fx != c.fx || camera.fy != c.fy ||
        camera.cx != c.cx || camera.cy != c.cy)
      return false;
    for (int i = 0; i < 16; ++i)
      if (camera.w2c[i] != c.w2c[i]) return false;
    return true;
  }
};

struct DevKeyframe {
  std::weak_ptr<const Keyframe> key;
  DevBuf<float> dxyz, drot, dscale;
  uint64_t used = 0;
};

constexpr size_t kMaxDeviceKeyframes = 8;

/** Per-frame device workspace. */
struct Frame {
  DevBuf<float> mean, cov;                  // [N,3], [N,6] deformed
  DevBuf<float> net_dxyz, net_drot, net_dscale;  // [N,3], [N,4], [N,3] network output
  DevBuf<Splat> splats;                     // [N]
  DevBuf<uint32_t> touched, offsets;        // [N]
  DevBuf<uint64_t> keys, keys_alt;          // [E]
  DevBuf<uint32_t> vals, vals_alt;          // [E]
  DevBuf<uint2> ranges;                     // [TILES]
  DevBuf<unsigned char> temp;               // CUB
  DevBuf<unsigned long long> counters;      // [2]: visible, evaluated
  DevBuf<uint8_t> rgb, labels;              // [H,W,3], [H,W]
  DevBuf<float> depth, alpha;               // [H,W]
  DevBuf<float> entry_w;                    // [E]
  DevBuf<float> td;                         // [tiles,2,256]
  DevBuf<uint32_t> tiles, gather_off, gather_ids;
  DevBuf<uint64_t> masks;
  DevBuf<float> gather_w;
  DevBuf<float> query, scores, biases;
  DevBuf<uint32_t> flags, pos, selected;
  PinnedBuf staging;
  StageEvents ev;
  const uint32_t* sorted_vals = nullptr;
  size_t entries = 0;
  uint64_t visible = 0;
  FrameKey key;
  double deform_ms = 0, preprocess_ms = 0, sort_ms = 0;
};

int bit_width(uint32_t v) {
  int b = 0;
  while (v) ++b, v >>= 1;
  return b;
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(std::shared_ptr<const SceneData> data) : data_(std::move(data)) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    const SceneData& d = *data_;
    positions_.upload(d.positions.data(), d.positions.size(), stream_);
    scales_.upload(d.scales.data(), d.scales.size(), stream_);
    rotations_.upload(d.rotations.data(), d.rotations.size(), stream_);
    log2_opacities_.upload(d.log2_opacities.data(), d.log2_opacities.size(), stream_);
    cov_.upload(d.cov.data(), d.cov.size(), stream_);
    sh_.upload(d.sh.data(), d.sh.size(), stream_);
  }

  ~CudaBackend() override {
    std::lock_guard<std::mutex> lock(mu_);
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  const char* name() const override { return "cuda"; }

  RenderResult render(const SceneState& st, const RenderRequest& req) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const auto t_start = Clock::now();
    const CameraSpec& c = req.camera;
    RenderResult res;
    res.width = c.width;
    res.height = c.height;
    const size_t pixels = (size_t)c.width * c.height;
    Frame& f = f_;
    f.key.valid = false;  // a render always recomputes (timings stay honest)
    prepare(st, c, req.t, req.deform_network);

    BlendArgs b{};
    b.width = c.width;
    b.height = c.height;
    b.ranges = f.ranges.get();
    b.vals = f.sorted_vals;
    b.splats = f.splats.get();
    for (int k = 0; k < 3; ++k) b.bg[k] = req.background[k];
    b.rgb = f.rgb.ensure(pixels * 3);
    b.depth = req.depth_alpha ? f.depth.ensure(pixels) : nullptr;
    b.alpha = req.depth_alpha ? f.alpha.ensure(pixels) : nullptr;
    if (req.labels) {
      b.labels = labels(st);
      b.label_threshold = req.label_threshold;
      b.label_out = f.labels.ensure(pixels);
    }
    b.evaluated = f.counters.get() + 1;
    check(cudaMemsetAsync(b.evaluated, 0, sizeof(unsigned long long), stream_), "cudaMemsetAsync");
    f.ev.mark(4, stream_);
    launch_blend(b, stream_);
    f.ev.mark(5, stream_);

    // Readback through pinned staging: RGB8 [+ labels] [+ depth, alpha] + the two counters.
    const size_t rgb_bytes = pixels * 3, lab_bytes = req.labels ? pixels : 0, fl_bytes = req.depth_alpha ? pixels * 4 : 0;
    const size_t off_lab = (rgb_bytes + 15) / 16 * 16, off_depth = off_lab + (lab_bytes + 15) / 16 * 16,
                 off_alpha = off_depth + fl_bytes, off_cnt = off_alpha + fl_bytes;
    unsigned char* h = static_cast<unsigned char*>(f.staging.ensure(off_cnt + 16));
    check(cudaMemcpyAsync(h, b.rgb, rgb_bytes, cudaMemcpyDeviceToHost, stream_), "readback rgb");
    if (lab_bytes) check(cudaMemcpyAsync(h + off_lab, b.label_out, lab_bytes, cudaMemcpyDeviceToHost, stream_), "readback labels");
    if (fl_bytes) {
      check(cudaMemcpyAsync(h + off_depth, b.depth, fl_bytes, cudaMemcpyDeviceToHost, stream_), "readback depth");
      check(cudaMemcpyAsync(h + off_alpha, b.alpha, fl_bytes, cudaMemcpyDeviceToHost, stream_), "readback alpha");
    }
    check(cudaMemcpyAsync(h + off_cnt, f.counters.get() + 1, 8, cudaMemcpyDeviceToHost, stream_), "readback counters");
    f.ev.mark(6, stream_);
    check(cudaStreamSynchronize(stream_), "render");
    const auto t_copy = Clock::now();
    res.rgb = pooled_array<uint8_t>(rgb_bytes);
    std::memcpy(res.rgb.get(), h, rgb_bytes);
    if (lab_bytes) {
      res.labels = pooled_array<uint8_t>(pixels);
      std::memcpy(res.labels.get(), h + off_lab, lab_bytes);
    }
    if (fl_bytes) {
      res.depth = pooled_array<float>(pixels);
      res.alpha = pooled_array<float>(pixels);
      std::memcpy(res.depth.get(), h + off_depth, fl_bytes);
      std::memcpy(res.alpha.get(), h + off_alpha, fl_bytes);
    }
    unsigned long long evaluated = 0;
    std::memcpy(&evaluated, h + off_cnt, 8);
    res.stats.visible = f.visible;
    res.stats.tile_entries = f.entries;
    res.stats.evaluated = evaluated;
    res.timings.deform_ms = f.deform_ms;
    res.timings.preprocess_ms = f.preprocess_ms;
    res.timings.sort_ms = f.sort_ms;
    res.timings.blend_ms = f.ev.ms(4, 5);
    res.timings.readback_ms = f.ev.ms(5, 6) + ms_since(t_copy);
    res.timings.total_ms = ms_since(t_start);
    return res;
  }

  PickResult pick(const SceneState& st, const PickRequest& req) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const CameraSpec& c = req.camera;
    const Features& feat = *st.features;
    const std::vector<int32_t> spans = pick_patch_spans(req);
    const TileMasks patch = masks_from_spans(c.width, c.height, spans.data(), spans.size() / 3);
    const int32_t centre_span[3] = {req.y, req.x, req.x + 1};
    const TileMasks centre = masks_from_spans(c.width, c.height, centre_span, 1);
    PickResult res;
    res.dim = feat.dim;
    res.pixels = (int)patch.pixels;
    res.reused = prepare_cached(st, c, req.t, req.deform_network, &res.timings);

    std::vector<uint32_t> ids;
    std::vector<float> w;
    composite_listed(c, patch, nullptr, &ids, &w);
    std::vector<std::pair<uint32_t, float>> gw;
    for (size_t k = 0; k < ids.size(); ++k)
      if (w[k] > 0.0f) gw.emplace_back(ids[k], w[k]);
    res.feature.reset(new float[feat.dim]);
    pick_feature(feat, gw, patch.pixels, res.feature.get());

    std::vector<float> td(2 * kTilePixels);
    composite_listed(c, centre, td.data(), &ids, &w);
    float best = 0.0f;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (w[k] > best) {
        best = w[k];
        res.top_gaussian = ids[k];
      }
    }
    const int p = (req.y % kTileSize) * kTileSize + req.x % kTileSize;
    pick_centre(c, req.x, req.y, td[p], td[kTilePixels + p], &res);
    return res;
  }

  RegionResult region_weights(const SceneState& st, const RegionRequest& req, const TileMasks& region) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const size_t n = data_->n;
    RegionResult res;
    res.n = n;
    res.pixels = region.pixels;
    res.weights = pooled_array<float>(n);
    std::fill(res.weights.get(), res.weights.get() + n, 0.0f);
    res.reused = prepare_cached(st, req.camera, req.t, req.deform_network, &res.timings);
    const auto t0 = Clock::now();
    std::vector<uint32_t> ids;
    std::vector<float> w;
    composite_listed(req.camera, region, nullptr, &ids, &w);
    float* out = res.weights.get();
    for (size_t k = 0; k < ids.size(); ++k) out[ids[k]] += w[k];  // tile order, as the CPU backend sums
    res.timings.blend_ms = ms_since(t0);
    return res;
  }

  void similarity(const SceneState& st, const float* q, float* out) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const size_t n = data_->n;
    const Features& feat = *st.features;
    const uint16_t* d_feat = features(st);
    float* d_q = f_.query.upload(q, (size_t)feat.dim, stream_);
    float* d_scores = f_.scores.ensure(n);
    launch_similarity(d_feat, n, feat.dim, d_q, 0.0f, d_scores, nullptr, stream_);
    float* h = static_cast<float*>(f_.staging.ensure(n * sizeof(float) + 16));
    check(cudaMemcpyAsync(h, d_scores, n * sizeof(float), cudaMemcpyDeviceToHost, stream_), "readback scores");
    check(cudaStreamSynchronize(stream_), "similarity");
    std::memcpy(out, h, n * sizeof(float));
  }

  SelectResult select(const SceneState& st, const float* q, float theta) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const auto t0 = Clock::now();
    const size_t n = data_->n;
    SelectResult r;
    if (n == 0) {
      r.ids = pooled_array<uint32_t>(0);
      return r;
    }
    if (n > 0x7fffffffu) throw std::runtime_error("select: too many Gaussians for one scan (>= 2^31)");
    const Features& feat = *st.features;
    const uint16_t* d_feat = features(st);
    float* d_q = f_.query.upload(q, (size_t)feat.dim, stream_);
    uint32_t* flags = f_.flags.ensure(n);
    uint32_t* pos = f_.pos.ensure(n);
    launch_similarity(d_feat, n, feat.dim, d_q, theta, f_.scores.ensure(n), flags, stream_);
    const size_t tb = scan_temp_bytes((int)n);
    inclusive_scan(f_.temp.ensure(tb), tb, flags, pos, (int)n, stream_);
    uint32_t count = 0;
    check(cudaMemcpyAsync(&count, pos + n - 1, sizeof count, cudaMemcpyDeviceToHost, stream_), "readback count");
    check(cudaStreamSynchronize(stream_), "select count");
    uint32_t* d_ids = f_.selected.ensure(count + 1);
    launch_scatter_selected(flags, pos, n, d_ids, stream_);
    r.ids = pooled_array<uint32_t>(count);
    r.count = count;
    if (count) {
      uint32_t* h = static_cast<uint32_t*>(f_.staging.ensure((size_t)count * 4 + 16));
      check(cudaMemcpyAsync(h, d_ids, (size_t)count * 4, cudaMemcpyDeviceToHost, stream_), "readback selection");
      check(cudaStreamSynchronize(stream_), "select");
      std::memcpy(r.ids.get(), h, (size_t)count * 4);
    }
    r.ms = ms_since(t0);
    return r;
  }

  DeformOutput deform(const SceneState& st, double t) const override {
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    const auto t0 = Clock::now();
    const size_t n = data_->n;
    run_network(st, t);
    DeformOutput out;
    out.n = n;
    out.dxyz = pooled_array<float>(n * 3);
    out.drot = pooled_array<float>(n * 4);
    out.dscale = pooled_array<float>(n * 3);
    if (n) {
      unsigned char* h = static_cast<unsigned char*>(f_.staging.ensure(n * 40 + 64));
      check(cudaMemcpyAsync(h, f_.net_dxyz.get(), n * 12, cudaMemcpyDeviceToHost, stream_), "readback dxyz");
      check(cudaMemcpyAsync(h + n * 12, f_.net_drot.get(), n * 16, cudaMemcpyDeviceToHost, stream_), "readback drot");
      check(cudaMemcpyAsync(h + n * 28, f_.net_dscale.get(), n * 12, cudaMemcpyDeviceToHost, stream_), "readback dscale");
      check(cudaStreamSynchronize(stream_), "deform");
      std::memcpy(out.dxyz.get(), h, n * 12);
      std::memcpy(out.drot.get(), h + n * 12, n * 16);
      std::memcpy(out.dscale.get(), h + n * 28, n * 12);
    }
    out.ms = ms_since(t0);
    return out;
  }

  void prefetch(const SceneState& st) const override {
    // Only the heavy, rarely changing state (features: N x D fp16, the network; Scene calls
    // this after those edits only); labels, appearance and keyframes are copied by the next
    // request that needs them.
    std::lock_guard<std::mutex> lock(mu_);
    activate();
    if (st.features) features(st);
    if (st.network) network(st);
  }

 private:
  template <class T>
  static bool same(const std::weak_ptr<const T>& key, const std::shared_ptr<const T>& cur) {
    return cur && !key.expired() && key.lock().get() == cur.get();
  }

  void activate() const { check(cudaSetDevice(device_), "cudaSetDevice"); }

  // ---- device copies of the state (called with mu_ held) ----

  const uint16_t* features(const SceneState& st) const {
    if (!same(features_key_, st.features)) {
      features_key_.reset();
      const Features& f = *st.features;
      features_.upload(f.unit.get(), data_->n * (size_t)f.dim, stream_);
      features_key_ = st.features;
    }
    return features_.get();
  }

  const uint8_t* labels(const SceneState& st) const {
    if (!same(labels_key_, st.labels)) {
      labels_key_.reset();
      labels_.upload(st.labels->data(), st.labels->size(), stream_);
      labels_key_ = st.labels;
    }
    return labels_.get();
  }

  /** Appearance arrays (null when absent). */
  void appearance(const SceneState& st, const float** log2_scale, const float** tint) const {
    if (!same(appearance_key_, st.appearance)) {
      appearance_key_.reset();
      const Appearance& a = *st.appearance;
      has_scale_ = !a.log2_opacity_scale.empty();
      has_tint_ = !a.tint.empty();
      if (has_scale_) log2_scale_.upload(a.log2_opacity_scale.data(), a.log2_opacity_scale.size(), stream_);
      if (has_tint_) tint_.upload(a.tint.data(), a.tint.size(), stream_);
      appearance_key_ = st.appearance;
    }
    *log2_scale = has_scale_ ? log2_scale_.get() : nullptr;
    *tint = has_tint_ ? tint_.get() : nullptr;
  }

  const DevKeyframe& keyframe(const std::shared_ptr<const Keyframe>& kf) const {
    ++kf_clock_;
    for (auto& d : keyframes_) {
      if (same(d->key, kf)) {
        d->used = kf_clock_;
        return *d;
      }
    }
    // Reuse an expired slot, or the least recently used one when the cache is full.
    DevKeyframe* slot = nullptr;
    for (auto& d : keyframes_)
      if (d->key.expired()) slot = d.get();
    if (!slot && keyframes_.size() < kMaxDeviceKeyframes) {
      keyframes_.push_back(std::make_unique<DevKeyframe>());
      slot = keyframes_.back().get();
    }
    if (!slot) {
      slot = keyframes_[0].get();
      for (auto& d : keyframes_)
        if (d->used < slot->used) slot = d.get();
    }
    slot->key.reset();
    slot->dxyz.upload(kf->dxyz.data(), kf->dxyz.size(), stream_);
    slot->drot.upload(kf->drot.data(), kf->drot.size(), stream_);
    slot->dscale.upload(kf->dscale.data(), kf->dscale.size(), stream_);
    slot->key = kf;
    slot->used = kf_clock_;
    return *slot;
  }

  /** The network's weights on the device and its launch template (biases filled per t). */
  const NetArgs& network(const SceneState& st) const {
    if (!same(net_key_, st.network)) {
      net_key_.reset();
      const DeformNetwork& N = *st.network;
      if ((int)N.layers.size() > kNetMaxLayers) throw std::invalid_argument("deformation network: too many layers");
      std::vector<uint16_t> blob(N.weight_total);
      NetArgs a{};
      a.n_layers = (int)N.layers.size();
      for (size_t l = 0; l < N.layers.size(); ++l) {
        const auto& L = N.layers[l];
        std::copy(L.w.begin(), L.w.end(), blob.begin() + (ptrdiff_t)N.weight_offset[l]);
        a.layers[l] = NetLayer{(int)L.input, L.k, L.n, L.relu ? 1 : 0, N.weight_offset[l], N.bias_offset[l]};
      }
      a.width = N.width;
      a.x_dim = N.x_dim;
      a.x_pad = N.x_pad;
      a.xyz_multires = N.xyz_multires;
      a.is_6dof = N.is_6dof;
      net_weights_.upload(blob.data(), blob.size(), stream_);
      net_args_ = a;
      net_key_ = st.network;
    }
    return net_args_;
  }

  /** The network at t into f_.net_* (device). */
  void run_network(const SceneState& st, double t) const {
    const size_t n = data_->n;
    NetArgs a = network(st);
    const std::vector<float> biases = deform_biases_at(*st.network, t);
    a.weights = reinterpret_cast<const __half*>(net_weights_.get());
    a.biases = f_.biases.upload(biases.data(), biases.size(), stream_);
    a.xyz = positions_.get();
    a.n = n;
    a.dxyz = f_.net_dxyz.ensure(n * 3);
    a.drot = f_.net_drot.ensure(n * 4);
    a.dscale = f_.net_dscale.ensure(n * 3);
    launch_deform_network(a, stream_);
  }

  // ---- frame preparation ----

  /** prepare() unless the workspace already holds this view; fills the first stages' timings. */
  bool prepare_cached(const SceneState& st, const CameraSpec& c, double t, bool network, StageTimings* tm) const {
    if (f_.key.matches(c, t, st.geometry_version, network)) return true;
    prepare(st, c, t, network);
    tm->deform_ms = f_.deform_ms;
    tm->preprocess_ms = f_.preprocess_ms;
    tm->sort_ms = f_.sort_ms;
    return false;
  }

  /** Deform, preprocess, sort and tile ranges into f_ (synchronizes once, to size the sort). */
  void prepare(const SceneState& st, const CameraSpec& c, double t, bool use_network) const {
    Frame& f = f_;
    f.key.valid = false;
    const size_t n = data_->n;
    const CameraParams cam = make_camera_params(c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.w2c);
    const int tiles_x = (c.width + kTileSize - 1) / kTileSize, tiles_y = (c.height + kTileSize - 1) / kTileSize;
    const uint32_t n_tiles = (uint32_t)tiles_x * tiles_y;
    f.ev.mark(0, stream_);

    // 1. Deformation.
    const float* mean = positions_.get();
    const float* cov = cov_.get();
    if (use_network || !st.keyframes->empty()) {
      DeformArgs d{};
      d.n = n;
      d.positions = positions_.get();
      d.scales = scales_.get();
      d.rotations = rotations_.get();
      if (use_network) {
        run_network(st, t);
        d.dxyz_a = d.dxyz_b = f.net_dxyz.get();
        d.drot_a = d.drot_b = f.net_drot.get();
        d.dscale_a = d.dscale_b = f.net_dscale.get();
        d.blend = false;
      } else {
        const KeyframePair kp = bracket_keyframes(*st.keyframes, t);
        std::shared_ptr<const Keyframe> ka, kb;
        for (const auto& k : *st.keyframes) {
          if (k.get() == kp.a) ka = k;
          if (k.get() == kp.b) kb = k;
        }
        const DevKeyframe& da = keyframe(ka);
        const DevKeyframe& db = kp.blend ? keyframe(kb) : da;
        d.dxyz_a = da.dxyz.get();
        d.drot_a = da.drot.get();
        d.dscale_a = da.dscale.get();
        d.dxyz_b = db.dxyz.get();
        d.drot_b = db.drot.get();
        d.dscale_b = db.dscale.get();
        d.blend = kp.blend;
        d.u = kp.u;
      }
      d.mean_out = f.mean.ensure(n * 3);
      d.cov_out = f.cov.ensure(n * 6);
      launch_deform(d, stream_);
      mean = d.mean_out;
      cov = d.cov_out;
    }
    f.ev.mark(1, stream_);

    // 2. Preprocess + tile counts.
    PreprocessArgs p{};
    p.n = n;
    p.sh_degree = data_->sh_degree;
    p.cam = cam;
    p.mean = mean;
    p.cov = cov;
    p.log2_opacities = log2_opacities_.get();
    appearance(st, &p.log2_opacity_scale, &p.tint);
    p.sh = sh_.get();
    p.splats = f.splats.ensure(n + 1);
    p.touched = f.touched.ensure(n + 1);
    p.visible = f.counters.ensure(2);
    check(cudaMemsetAsync(p.visible, 0, 2 * sizeof(unsigned long long), stream_), "cudaMemsetAsync");
    launch_preprocess(p, stream_);
    f.ev.mark(2, stream_);

    // 3. Offsets, pairs, sort, tile ranges.
    uint2* ranges = f.ranges.ensure(n_tiles);
    check(cudaMemsetAsync(ranges, 0, n_tiles * sizeof(uint2), stream_), "cudaMemsetAsync");
    size_t entries = 0;
    unsigned long long visible = 0;
    if (n > 0) {
      if (n > 0x7fffffffu) throw std::runtime_error("CUDA backend: too many Gaussians for one scan (>= 2^31)");
      uint32_t* offsets = f.offsets.ensure(n);
      const size_t sb = scan_temp_bytes((int)n);
      inclusive_scan(f.temp.ensure(sb), sb, p.touched, offsets, (int)n, stream_);
      uint32_t total = 0;
      check(cudaMemcpyAsync(&total, offsets + n - 1, sizeof total, cudaMemcpyDeviceToHost, stream_), "readback entries");
      check(cudaMemcpyAsync(&visible, p.visible, sizeof visible, cudaMemcpyDeviceToHost, stream_), "readback visible");
      check(cudaStreamSynchronize(stream_), "preprocess");
      entries = total;
    }
    f.sorted_vals = f.vals.ensure(1);
    if (entries > 0) {
      if (entries > 0x7fffffffu) throw std::runtime_error("CUDA backend: too many tile entries (>= 2^31)");
      DuplicateArgs d{};
      d.n = n;
      d.width = c.width;
      d.height = c.height;
      d.splats = p.splats;
      d.touched = p.touched;
      d.offsets = f.offsets.get();
      d.keys = f.keys.ensure(entries);
      d.vals = f.vals.ensure(entries);
      launch_duplicate(d, stream_);
      const int end_bit = 32 + bit_width(n_tiles);
      const size_t tb = sort_temp_bytes((int)entries, end_bit);
      const bool alt = sort_pairs(f.temp.ensure(tb), tb, d.keys, f.keys_alt.ensure(entries), d.vals,
                                  f.vals_alt.ensure(entries), (int)entries, end_bit, stream_);
      const uint64_t* sorted_keys = alt ? f.keys_alt.get() : f.keys.get();
      f.sorted_vals = alt ? f.vals_alt.get() : f.vals.get();
      launch_tile_ranges(sorted_keys, entries, ranges, stream_);
    }
    f.ev.mark(3, stream_);
    check(cudaStreamSynchronize(stream_), "sort");
    f.entries = entries;
    f.visible = visible;
    f.deform_ms = f.ev.ms(0, 1);
    f.preprocess_ms = f.ev.ms(1, 2);
    f.sort_ms = f.ev.ms(2, 3);
    f.key.valid = true;
    f.key.camera = c;
    f.key.t = t;
    f.key.version = st.geometry_version;
    f.key.network = use_network;
  }

  /**
   * Masked compositing of the listed tiles on the device, then their entries compacted and
   * copied back in tile order: ids / w = (Gaussian, sum over the masked pixels of w) per entry.
   * td (host, [tiles,2,256]) when not null: final T and depth sums (one tile expected).
   */
  void composite_listed(const CameraSpec& c, const TileMasks& m, float* td, std::vector<uint32_t>* ids,
                        std::vector<float>* w) const {
    Frame& f = f_;
    const int count = (int)m.tiles.size();
    ids->clear();
    w->clear();
    if (count == 0) return;
    const uint32_t n_tiles = (uint32_t)(((c.width + kTileSize - 1) / kTileSize) * ((c.height + kTileSize - 1) / kTileSize));
    std::vector<uint2> ranges(n_tiles);
    check(cudaMemcpyAsync(ranges.data(), f.ranges.get(), n_tiles * sizeof(uint2), cudaMemcpyDeviceToHost, stream_),
          "readback ranges");
    check(cudaStreamSynchronize(stream_), "ranges");
    std::vector<uint32_t> off((size_t)count);
    uint32_t total = 0;
    for (int i = 0; i < count; ++i) {
      off[i] = total;
      const uint2 r = ranges[m.tiles[i]];
      total += r.y - r.x;
    }
    MaskedArgs a{};
    a.count = count;
    a.tiles = f.tiles.upload(m.tiles.data(), m.tiles.size(), stream_);
    a.masks = f.masks.upload(m.masks.data(), m.masks.size(), stream_);
    a.width = c.width;
    a.height = c.height;
    a.ranges = f.ranges.get();
    a.vals = f.sorted_vals;
    a.splats = f.splats.get();
    a.entry_w = f.entry_w.ensure(f.entries + 1);
    a.td = td ? f.td.ensure((size_t)count * 2 * kTilePixels) : nullptr;
    launch_masked(a, stream_);
    const uint32_t* d_off = f.gather_off.upload(off.data(), off.size(), stream_);
    uint32_t* d_ids = f.gather_ids.ensure(total + 1);
    float* d_w = f.gather_w.ensure(total + 1);
    launch_gather_entries(count, a.tiles, a.ranges, d_off, a.vals, a.entry_w, d_ids, d_w, stream_);
    ids->resize(total);
    w->resize(total);
    if (total) {
      check(cudaMemcpyAsync(ids->data(), d_ids, total * 4, cudaMemcpyDeviceToHost, stream_), "readback ids");
      check(cudaMemcpyAsync(w->data(), d_w, total * 4, cudaMemcpyDeviceToHost, stream_), "readback weights");
    }
    if (td) check(cudaMemcpyAsync(td, a.td, (size_t)count * 2 * kTilePixels * 4, cudaMemcpyDeviceToHost, stream_), "readback td");
    check(cudaStreamSynchronize(stream_), "masked compositing");
  }

  std::shared_ptr<const SceneData> data_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  mutable std::mutex mu_;
  DevBuf<float> positions_, scales_, rotations_, log2_opacities_, cov_;
  DevBuf<uint16_t> sh_;
  // Device copies of state, keyed by the host objects' identity (under mu_).
  mutable std::vector<std::unique_ptr<DevKeyframe>> keyframes_;
  mutable uint64_t kf_clock_ = 0;
  mutable std::weak_ptr<const Appearance> appearance_key_;
  mutable bool has_scale_ = false, has_tint_ = false;
  mutable DevBuf<float> log2_scale_, tint_;
  mutable std::weak_ptr<const std::vector<uint8_t>> labels_key_;
  mutable DevBuf<uint8_t> labels_;
  mutable std::weak_ptr<const Features> features_key_;
  mutable DevBuf<uint16_t> features_;
  mutable std::weak_ptr<const DeformNetwork> net_key_;
  mutable DevBuf<uint16_t> net_weights_;
  mutable NetArgs net_args_{};
  mutable Frame f_;
};

}  // namespace
}  // namespace cuda

const CudaInfo& cuda_info() {
  static const CudaInfo info = cuda::probe_info();
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const SceneData> data) {
  const CudaInfo& info = cuda_info();
  if (info.devices == 0) throw std::runtime_error("The CUDA backend cannot be used: " + info.error);
  return std::make_unique<cuda::CudaBackend>(std::move(data));
}

}  // namespace splat
