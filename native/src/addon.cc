// Node-API binding only: argument unpacking, the async job baton (render, pick, region
// weights, similarity), result objects, and the synchronous fp16 bulk conversions.
// Shapes and validation messages are owned by native/index.ts; the checks here are a last
// line of defence so a bad call can never reach C++ with a wrong-sized buffer.
#include <napi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deform_net.h"
#include "scene.h"

namespace {

using splat::RenderRequest;
using splat::RenderResult;
using splat::Scene;

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_int32_array: return "Int32Array";
    default: return "another typed array";
  }
}

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    return std::string(typed_array_name(ta.TypedArrayType())) + " of length " + std::to_string(ta.ElementLength());
  }
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "an array";
  if (v.IsNumber()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v.As<Napi::Number>().DoubleValue());
    return std::string("number ") + buf;
  }
  if (v.IsString()) return "a string";
  return "a " + std::string(v.IsObject() ? "object" : "value");
}

/** Float32Array [len] (len counted in floats) or throws a TypeError. */
const float* float32_arg(const Napi::Value& v, size_t len, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      v.As<Napi::TypedArray>().ElementLength() != len) {
    throw Napi::TypeError::New(v.Env(), "Expected Float32Array of length " + std::to_string(len) + " for " + name +
                                            " but received " + describe(v));
  }
  return v.As<Napi::Float32Array>().Data();
}

/** A typed array of the given type; len counted in elements (SIZE_MAX: any length). */
template <class T>
T* typed_arg(const Napi::Value& v, napi_typedarray_type type, size_t len, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type ||
      (len != SIZE_MAX && v.As<Napi::TypedArray>().ElementLength() != len)) {
    throw Napi::TypeError::New(v.Env(), std::string("Expected ") + typed_array_name(type) +
                                            (len == SIZE_MAX ? std::string() : " of length " + std::to_string(len)) +
                                            " for " + name + " but received " + describe(v));
  }
  auto ta = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

size_t typed_length(const Napi::Value& v) { return v.As<Napi::TypedArray>().ElementLength(); }

double number_arg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber())
    throw Napi::TypeError::New(v.Env(), std::string("Expected number for ") + name + " but received " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

/** Integer in [lo, hi] or throws a RangeError (checked before any cast). */
int int_arg(const Napi::Value& v, int lo, int hi, const char* name) {
  const double d = number_arg(v, name);
  if (!(d >= lo && d <= hi && d == (double)(int)d))
    throw Napi::RangeError::New(v.Env(), std::string("Expected an integer in [") + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "] for " + name + " but received " + describe(v));
  return (int)d;
}

Napi::Object object_arg(const Napi::Value& v, const char* name) {
  if (!v.IsObject())
    throw Napi::TypeError::New(v.Env(), std::string("Expected object for ") + name + " but received " + describe(v));
  return v.As<Napi::Object>();
}

/** Hands a pooled array to JS without a copy; the ArrayBuffer's finalizer returns it to the pool. */
template <class T>
Napi::ArrayBuffer adopt(Napi::Env env, splat::PooledArray<T>& data) {
  const size_t bytes = data.get_deleter().bytes;
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(
      env, data.get(), bytes,
      [](napi_env, void* p, void* hint) { splat::buffer_release(p, (size_t)(uintptr_t)hint); },
      (void*)(uintptr_t)bytes, &ab);
  if (st == napi_ok) {
    data.release();
    return Napi::ArrayBuffer(env, ab);
  }
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(copy.Data(), data.get(), bytes);
  data.reset();
  return copy;
}

/** Hands `data` [bytes] to JS without a copy; the ArrayBuffer's finalizer frees it. */
template <class T>
Napi::ArrayBuffer adopt(Napi::Env env, std::unique_ptr<T[]>& data, size_t bytes) {
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(
      env, data.get(), bytes, [](napi_env, void* p, void*) { delete[] static_cast<T*>(p); }, nullptr, &ab);
  if (st == napi_ok) {
    data.release();
    return Napi::ArrayBuffer(env, ab);
  }
  // Runtimes that forbid external buffers: copy.
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(copy.Data(), data.get(), bytes);
  data.reset();
  return copy;
}

/** An ArrayBuffer of `bytes` from the buffer pool (large ones 2 MiB-aligned, huge pages). */
Napi::ArrayBuffer big_buffer(Napi::Env env, size_t bytes) {
  splat::PooledArray<uint8_t> data = splat::pooled_array<uint8_t>(bytes);
  return adopt(env, data);
}

Napi::Object timings_object(Napi::Env env, const splat::StageTimings& tm) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("deformMs", tm.deform_ms);
  t.Set("preprocessMs", tm.preprocess_ms);
  t.Set("sortMs", tm.sort_ms);
  t.Set("blendMs", tm.blend_ms);
  t.Set("totalMs", tm.total_ms);
  t.Set("readbackMs", tm.readback_ms);
  return t;
}

/**
 * A deformation network from {config: Int32Array, shapes: Int32Array [L,2], weights:
 * Float32Array[2L]} (native/index.ts builds it from the importer's spec and tensors):
 * config = [depth, width, xyzMultires, tMultires, isBlender, is6dof, nSkips, ...skips];
 * linears in order linear.0..D-1, then branch_w, branch_v (6-DoF) or gaussian_warp, then
 * gaussian_rotation, gaussian_scaling, then timenet.0, timenet.2 (is_blender); shapes [out, in];
 * weights alternate weight [out*in], bias [out].
 */
splat::DeformNetworkDesc network_arg(const Napi::Value& v) {
  Napi::Env env = v.Env();
  Napi::Object o = object_arg(v, "network");
  const int32_t* cfg = typed_arg<const int32_t>(o.Get("config"), napi_int32_array, SIZE_MAX, "network.config");
  const size_t cfg_len = typed_length(o.Get("config"));
  if (cfg_len < 7 || cfg_len != 7 + (size_t)std::max(0, cfg[6]))
    throw Napi::TypeError::New(env, "network.config: expected [depth, width, xyzMultires, tMultires, isBlender, is6dof, nSkips, ...skips]");
  splat::DeformNetworkDesc d;
  d.depth = cfg[0];
  d.width = cfg[1];
  d.xyz_multires = cfg[2];
  d.t_multires = cfg[3];
  d.is_blender = cfg[4] != 0;
  d.is_6dof = cfg[5] != 0;
  for (int i = 0; i < cfg[6]; ++i) d.skips.push_back(cfg[7 + i]);
  if (d.depth < 1 || d.depth > 64) throw Napi::RangeError::New(env, "network.config: depth out of range");
  const size_t L = (size_t)d.depth + (d.is_6dof ? 2 : 1) + 2 + (d.is_blender ? 2 : 0);
  const int32_t* shapes = typed_arg<const int32_t>(o.Get("shapes"), napi_int32_array, L * 2, "network.shapes");
  Napi::Value wv = o.Get("weights");
  if (!wv.IsArray() || wv.As<Napi::Array>().Length() != 2 * L)
    throw Napi::TypeError::New(env, "Expected an array of " + std::to_string(2 * L) + " Float32Arrays for network.weights but received " + describe(wv));
  Napi::Array wa = wv.As<Napi::Array>();
  auto linear = [&](size_t i) {
    splat::DeformNetworkDesc::Linear l;
    l.out = shapes[2 * i];
    l.in = shapes[2 * i + 1];
    if (l.out < 1 || l.in < 1 || l.out > 65536 || l.in > 65536) throw Napi::RangeError::New(env, "network.shapes: bad shape");
    const float* w = float32_arg(wa.Get((uint32_t)(2 * i)), (size_t)l.out * l.in, "network weight");
    const float* b = float32_arg(wa.Get((uint32_t)(2 * i + 1)), (size_t)l.out, "network bias");
    l.w.assign(w, w + (size_t)l.out * l.in);
    l.b.assign(b, b + l.out);
    return l;
  };
  size_t i = 0;
  for (int k = 0; k < d.depth; ++k) d.trunk.push_back(linear(i++));
  if (d.is_6dof) {
    d.branch_w = linear(i++);
    d.branch_v = linear(i++);
  } else {
    d.warp = linear(i++);
  }
  d.rotation = linear(i++);
  d.scaling = linear(i++);
  if (d.is_blender) {
    d.timenet0 = linear(i++);
    d.timenet2 = linear(i++);
  }
  return d;
}

/**
 * A promise-returning job: `run` executes on a libuv thread (pure C++), `done` builds the
 * value on the main thread. The scene's shared_ptr is captured by `run`, so a dispose() in
 * between cannot free the data under it.
 */
template <class R>
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, const char* name, std::function<R()> run, std::function<Napi::Value(Napi::Env, R&)> done)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)),
        done_(std::move(done)) {}

  static Napi::Promise Start(Napi::Env env, const char* name, std::function<R()> run,
                             std::function<Napi::Value(Napi::Env, R&)> done) {
    auto* job = new Job(env, name, std::move(run), std::move(done));
    Napi::Promise p = job->deferred_.Promise();
    job->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      result_ = run_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("native call failed");
    }
  }
  void OnOK() override { deferred_.Resolve(done_(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<R()> run_;
  std::function<Napi::Value(Napi::Env, R&)> done_;
  R result_;
};

splat::CameraSpec camera_arg(const Napi::Value& v) {
  Napi::Env env = v.Env();
  Napi::Object cam = object_arg(v, "camera");
  splat::CameraSpec c;
  c.width = int_arg(cam.Get("width"), 1, splat::kMaxImageSide, "camera.width");
  c.height = int_arg(cam.Get("height"), 1, splat::kMaxImageSide, "camera.height");
  c.fx = number_arg(cam.Get("fx"), "camera.fx");
  c.fy = number_arg(cam.Get("fy"), "camera.fy");
  c.cx = number_arg(cam.Get("cx"), "camera.cx");
  c.cy = number_arg(cam.Get("cy"), "camera.cy");
  Napi::Value w2c = cam.Get("worldToCamera");
  if (!w2c.IsArray() || w2c.As<Napi::Array>().Length() != 16)
    throw Napi::TypeError::New(env, "Expected array of 16 numbers for camera.worldToCamera but received " +
                                        describe(w2c));
  for (uint32_t i = 0; i < 16; ++i) c.w2c[i] = number_arg(w2c.As<Napi::Array>().Get(i), "camera.worldToCamera[i]");
  return c;
}

Napi::Value frame_object(Napi::Env env, RenderResult& r) {
  const size_t px = (size_t)r.width * r.height;
  Napi::Object out = Napi::Object::New(env);
  out.Set("width", r.width);
  out.Set("height", r.height);
  out.Set("rgb", Napi::Uint8Array::New(env, px * 3, adopt(env, r.rgb), 0));    // [H,W,3]
  if (r.depth) {
    out.Set("depth", Napi::Float32Array::New(env, px, adopt(env, r.depth), 0));  // [H,W]
    out.Set("alpha", Napi::Float32Array::New(env, px, adopt(env, r.alpha), 0));  // [H,W]
  } else {  // depthAlpha: false
    out.Set("depth", Napi::Float32Array::New(env, 0));
    out.Set("alpha", Napi::Float32Array::New(env, 0));
  }
  if (r.labels) out.Set("labels", Napi::Uint8Array::New(env, px, adopt(env, r.labels), 0));  // [H,W]
  out.Set("timings", timings_object(env, r.timings));
  Napi::Object s = Napi::Object::New(env);
  s.Set("visible", (double)r.stats.visible);
  s.Set("tileEntries", (double)r.stats.tile_entries);
  s.Set("evaluated", (double)r.stats.evaluated);
  out.Set("stats", s);
  return out;
}

/**
 * new Scene(count, shDegree, positions [N,3], rotations [N,4], logScales [N,3],
 *           opacityLogits [N], sh [N,K,3] Float32Array | null, shHalf [N,K,3] Uint16Array | null)
 * with exactly one of sh / shHalf.
 */
class SceneWrap : public Napi::ObjectWrap<SceneWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Scene",
                       {InstanceAccessor<&SceneWrap::Count>("count"),
                        InstanceAccessor<&SceneWrap::FeatureDim>("featureDim"),
                        InstanceAccessor<&SceneWrap::BackendName>("backend"),
                        InstanceMethod<&SceneWrap::SetDeformNetwork>("setDeformNetwork"),
                        InstanceMethod<&SceneWrap::Deform>("deform"),
                        InstanceMethod<&SceneWrap::Select>("select"),
                        InstanceMethod<&SceneWrap::SetKeyframe>("setKeyframe"),
                        InstanceMethod<&SceneWrap::RemoveKeyframe>("removeKeyframe"),
                        InstanceMethod<&SceneWrap::ClearKeyframes>("clearKeyframes"),
                        InstanceMethod<&SceneWrap::KeyframeTimes>("keyframeTimes"),
                        InstanceMethod<&SceneWrap::SetFeatures>("setFeatures"),
                        InstanceMethod<&SceneWrap::SetFeaturesFromFile>("setFeaturesFromFile"),
                        InstanceMethod<&SceneWrap::Similarity>("similarity"),
                        InstanceMethod<&SceneWrap::SetLabels>("setLabels"),
                        InstanceMethod<&SceneWrap::SetAppearance>("setAppearance"),
                        InstanceMethod<&SceneWrap::Render>("render"),
                        InstanceMethod<&SceneWrap::Pick>("pick"),
                        InstanceMethod<&SceneWrap::RegionWeights>("regionWeights"),
                        InstanceMethod<&SceneWrap::Dispose>("dispose")});
  }

  explicit SceneWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SceneWrap>(info) {
    const double count = number_arg(info[0], "count");
    const double degree = number_arg(info[1], "shDegree");
    if (!(count >= 0 && count < 4294967295.0 && count == (double)(size_t)count))
      throw Napi::RangeError::New(info.Env(), "Expected integer in [0, 2^32-1) for count but received " +
                                                  describe(info[0]));
    if (!(degree == 0 || degree == 1 || degree == 2 || degree == 3))
      throw Napi::RangeError::New(info.Env(), "Expected 0, 1, 2 or 3 for shDegree but received " + describe(info[1]));
    const size_t n = (size_t)count;
    const int deg = (int)degree;
    const size_t K = (size_t)(deg + 1) * (deg + 1);
    const float* positions = float32_arg(info[2], n * 3, "positions");
    const float* rotations = float32_arg(info[3], n * 4, "rotations");
    const float* log_scales = float32_arg(info[4], n * 3, "logScales");
    const float* opacity = float32_arg(info[5], n, "opacityLogits");
    const bool half = info.Length() > 7 && !info[7].IsNull() && !info[7].IsUndefined();
    const float* sh = half ? nullptr : float32_arg(info[6], n * K * 3, "sh");
    const uint16_t* sh_half = half ? typed_arg<const uint16_t>(info[7], napi_uint16_array, n * K * 3, "shHalf") : nullptr;
    splat::BackendKind kind = splat::BackendKind::cpu;
    if (info.Length() > 8 && info[8].IsString()) {
      const std::string b = info[8].As<Napi::String>().Utf8Value();
      if (b == "cuda")
        kind = splat::BackendKind::cuda;
      else if (b != "cpu")
        throw Napi::TypeError::New(info.Env(), "Expected \"cpu\" or \"cuda\" for backend but received " + describe(info[8]));
    }
    try {
      scene_ = std::make_shared<Scene>(n, deg, positions, rotations, log_scales, opacity, sh, sh_half, kind);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }

 private:
  Scene& live(Napi::Env env) {
    if (!scene_) throw Napi::Error::New(env, "This scene has been disposed; create a new one with createScene()");
    return *scene_;
  }

  template <class F>
  static auto guarded(Napi::Env env, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), scene_ ? (double)scene_->count() : 0.0);
  }

  Napi::Value FeatureDim(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), scene_ ? scene_->feature_dim() : 0);
  }

  Napi::Value BackendName(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), scene_ ? scene_->backend_name() : "disposed");
  }

  /** setDeformNetwork(network | null): see network_arg. */
  Napi::Value SetDeformNetwork(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    if (info[0].IsNull() || info[0].IsUndefined()) {
      s.set_deform_network(nullptr);
      return info.Env().Undefined();
    }
    const splat::DeformNetworkDesc d = network_arg(info[0]);
    guarded(info.Env(), [&] { s.set_deform_network(splat::build_deform_network(d)); });
    return info.Env().Undefined();
  }

  /** deform(t) -> Promise<{dxyz, drot, dscale, ms}>: the network at t on the scene's backend. */
  Napi::Value Deform(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    const double t = number_arg(info[0], "t");
    std::shared_ptr<const Scene> scene = scene_;
    return Job<splat::DeformOutput>::Start(
        env, "splatsync.deform", [scene, t]() { return scene->deform(t); },
        [](Napi::Env env, splat::DeformOutput& d) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("dxyz", Napi::Float32Array::New(env, d.n * 3, adopt(env, d.dxyz), 0));
          out.Set("drot", Napi::Float32Array::New(env, d.n * 4, adopt(env, d.drot), 0));
          out.Set("dscale", Napi::Float32Array::New(env, d.n * 3, adopt(env, d.dscale), 0));
          out.Set("ms", d.ms);
          return out;
        });
  }

  /** select(query [D] Float32Array, theta) -> Promise<{ids: Uint32Array, ms}> */
  Napi::Value Select(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    const float* q = typed_arg<const float>(info[0], napi_float32_array, SIZE_MAX, "query");
    std::vector<float> query(q, q + typed_length(info[0]));
    const float theta = (float)number_arg(info[1], "theta");
    std::shared_ptr<const Scene> scene = scene_;
    return Job<splat::SelectResult>::Start(
        env, "splatsync.select", [scene, query, theta]() { return scene->select(query.data(), (int)query.size(), theta); },
        [](Napi::Env env, splat::SelectResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("ids", Napi::Uint32Array::New(env, r.count, adopt(env, r.ids), 0));
          out.Set("ms", r.ms);
          return out;
        });
  }

  /** setKeyframe(t, dxyz [N,3], drot [N,4], dscale [N,3]) */
  Napi::Value SetKeyframe(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    const size_t n = s.count();
    const double t = number_arg(info[0], "t");
    const float* dxyz = float32_arg(info[1], n * 3, "dxyz");
    const float* drot = float32_arg(info[2], n * 4, "drot");
    const float* dscale = float32_arg(info[3], n * 3, "dscale");
    guarded(info.Env(), [&] { s.set_keyframe(t, dxyz, drot, dscale); });
    return info.Env().Undefined();
  }

  Napi::Value RemoveKeyframe(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), live(info.Env()).remove_keyframe(number_arg(info[0], "t")));
  }

  Napi::Value ClearKeyframes(const Napi::CallbackInfo& info) {
    live(info.Env()).clear_keyframes();
    return info.Env().Undefined();
  }

  Napi::Value KeyframeTimes(const Napi::CallbackInfo& info) {
    const std::vector<double> times = live(info.Env()).keyframe_times();
    Napi::Array out = Napi::Array::New(info.Env(), times.size());
    for (size_t i = 0; i < times.size(); ++i) out.Set((uint32_t)i, times[i]);
    return out;
  }

  /** setFeatures(half [N,D] Uint16Array, dim) */
  Napi::Value SetFeatures(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    const int dim = int_arg(info[1], 1, splat::kMaxFeatureDim, "dim");
    const uint16_t* half = typed_arg<const uint16_t>(info[0], napi_uint16_array, s.count() * dim, "features");
    guarded(info.Env(), [&] { s.set_features(half, dim); });
    return info.Env().Undefined();
  }

  /** setFeaturesFromFile(path, byteOffset, dim): [N,D] fp16 read from the file at byteOffset */
  Napi::Value SetFeaturesFromFile(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Expected a string for path");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    if (!info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "Expected a number for byteOffset");
    const double off = info[1].As<Napi::Number>().DoubleValue();
    if (!(off >= 0) || off != (double)(uint64_t)off) throw Napi::RangeError::New(info.Env(), "Expected a non-negative integer for byteOffset");
    const int dim = int_arg(info[2], 1, splat::kMaxFeatureDim, "dim");
    guarded(info.Env(), [&] { s.set_features_from_file(path, (uint64_t)off, dim); });
    return info.Env().Undefined();
  }

  /** similarity(query [D] Float32Array) -> Promise<Float32Array [N]> */
  Napi::Value Similarity(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    const float* q = typed_arg<const float>(info[0], napi_float32_array, SIZE_MAX, "query");
    std::vector<float> query(q, q + typed_length(info[0]));
    std::shared_ptr<const Scene> scene = scene_;
    struct Out {
      splat::PooledArray<float> scores;
      size_t n = 0;
    };
    return Job<Out>::Start(
        env, "splatsync.similarity",
        [scene, query]() {
          Out o;
          o.scores = scene->similarity(query.data(), (int)query.size());
          o.n = scene->count();
          return o;
        },
        [](Napi::Env env, Out& o) -> Napi::Value {
          return Napi::Float32Array::New(env, o.n, adopt(env, o.scores), 0);
        });
  }

  /** setLabels(labels [N] Uint8Array | null) */
  Napi::Value SetLabels(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    const uint8_t* labels = info[0].IsNull() ? nullptr : typed_arg<const uint8_t>(info[0], napi_uint8_array, s.count(), "labels");
    s.set_labels(labels);
    return info.Env().Undefined();
  }

  /** setAppearance(setOpacity, opacityScale [N] | null, setTint, tint [N,4] | null) */
  Napi::Value SetAppearance(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    const bool set_opacity = info[0].ToBoolean();
    const bool set_tint = info[2].ToBoolean();
    const float* opacity = set_opacity && !info[1].IsNull() ? float32_arg(info[1], s.count(), "opacityScale") : nullptr;
    const float* tint = set_tint && !info[3].IsNull() ? float32_arg(info[3], s.count() * 4, "tint") : nullptr;
    guarded(info.Env(), [&] { s.set_appearance(set_opacity, opacity, set_tint, tint); });
    return info.Env().Undefined();
  }

  /**
   * render({camera: {width, height, fx, fy, cx, cy, worldToCamera: number[16]}, t,
   *         background: number[3], labels?: boolean, labelThreshold?: number}) -> Promise<result>
   */
  Napi::Value Render(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Napi::Object opts = object_arg(info[0], "render options");
    RenderRequest req;
    req.camera = camera_arg(opts.Get("camera"));
    req.t = number_arg(opts.Get("t"), "t");
    Napi::Value bg = opts.Get("background");
    if (!bg.IsArray() || bg.As<Napi::Array>().Length() != 3)
      throw Napi::TypeError::New(env, "Expected array of 3 numbers for background but received " + describe(bg));
    for (uint32_t i = 0; i < 3; ++i)
      req.background[i] = (float)number_arg(bg.As<Napi::Array>().Get(i), "background[i]");
    req.labels = opts.Get("labels").ToBoolean();
    if (req.labels) req.label_threshold = (float)number_arg(opts.Get("labelThreshold"), "labelThreshold");
    if (opts.Has("depthAlpha")) req.depth_alpha = opts.Get("depthAlpha").ToBoolean();
    req.deform_network = opts.Get("deformNetwork").ToBoolean();
    std::shared_ptr<const Scene> scene = scene_;
    return Job<RenderResult>::Start(
        env, "splatsync.render", [scene, req]() { return scene->render(req); },
        [](Napi::Env env, RenderResult& r) { return frame_object(env, r); });
  }

  /** pick({camera, t, x, y, patch}) -> Promise<{feature, depth, alpha, worldPoint, topGaussian, ...}> */
  Napi::Value Pick(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Napi::Object opts = object_arg(info[0], "pick options");
    splat::PickRequest req;
    req.camera = camera_arg(opts.Get("camera"));
    req.t = number_arg(opts.Get("t"), "t");
    req.x = int_arg(opts.Get("x"), 0, req.camera.width - 1, "x");
    req.y = int_arg(opts.Get("y"), 0, req.camera.height - 1, "y");
    req.patch = int_arg(opts.Get("patch"), 1, 2 * splat::kMaxImageSide + 1, "patch");
    req.deform_network = opts.Get("deformNetwork").ToBoolean();
    std::shared_ptr<const Scene> scene = scene_;
    return Job<splat::PickResult>::Start(
        env, "splatsync.pick", [scene, req]() { return scene->pick(req); },
        [](Napi::Env env, splat::PickResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("feature", Napi::Float32Array::New(env, r.dim, adopt(env, r.feature, (size_t)r.dim * 4), 0));
          out.Set("depth", r.depth);
          out.Set("alpha", r.alpha);
          if (r.has_world_point) {
            Napi::Array p = Napi::Array::New(env, 3);
            for (uint32_t k = 0; k < 3; ++k) p.Set(k, r.world_point[k]);
            out.Set("worldPoint", p);
          } else {
            out.Set("worldPoint", env.Null());
          }
          out.Set("topGaussian", (double)r.top_gaussian);
          out.Set("pixels", r.pixels);
          out.Set("reused", r.reused);
          out.Set("timings", timings_object(env, r.timings));
          return out;
        });
  }

  /** regionWeights({camera, t, spans: Int32Array [S*3]}) -> Promise<{weights, pixels, reused, timings}> */
  Napi::Value RegionWeights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Napi::Object opts = object_arg(info[0], "region options");
    splat::RegionRequest req;
    req.camera = camera_arg(opts.Get("camera"));
    req.t = number_arg(opts.Get("t"), "t");
    const int32_t* spans = typed_arg<const int32_t>(opts.Get("spans"), napi_int32_array, SIZE_MAX, "spans");
    req.spans.assign(spans, spans + typed_length(opts.Get("spans")));
    req.deform_network = opts.Get("deformNetwork").ToBoolean();
    std::shared_ptr<const Scene> scene = scene_;
    return Job<splat::RegionResult>::Start(
        env, "splatsync.regionWeights", [scene, req]() { return scene->region_weights(req); },
        [](Napi::Env env, splat::RegionResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("weights", Napi::Float32Array::New(env, r.n, adopt(env, r.weights), 0));
          out.Set("pixels", (double)r.pixels);
          out.Set("reused", r.reused);
          out.Set("timings", timings_object(env, r.timings));
          return out;
        });
  }

  /** Drops this handle's reference; requests in flight keep the data until they finish. */
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    scene_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Scene> scene_;
};

/** floatToHalf(src Float32Array, dst Uint16Array | undefined) -> dst */
Napi::Value FloatToHalf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const float* src = typed_arg<const float>(info[0], napi_float32_array, SIZE_MAX, "src");
  const size_t n = typed_length(info[0]);
  Napi::Value dst = info[1];
  if (dst.IsUndefined() || dst.IsNull()) dst = Napi::Uint16Array::New(env, n, big_buffer(env, n * 2), 0);
  uint16_t* out = typed_arg<uint16_t>(dst, napi_uint16_array, n, "dst");
  splat::float_to_half_bulk(src, out, n);
  return dst;
}

/** halfToFloat(src Uint16Array, dst Float32Array | undefined) -> dst */
Napi::Value HalfToFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint16_t* src = typed_arg<const uint16_t>(info[0], napi_uint16_array, SIZE_MAX, "src");
  const size_t n = typed_length(info[0]);
  Napi::Value dst = info[1];
  if (dst.IsUndefined() || dst.IsNull()) dst = Napi::Float32Array::New(env, n, big_buffer(env, n * 4), 0);
  float* out = typed_arg<float>(dst, napi_float32_array, n, "dst");
  splat::half_to_float_bulk(src, out, n);
  return dst;
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", true);
  const splat::CudaInfo& ci = splat::cuda_info();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", ci.compiled);
  cuda.Set("devices", ci.devices);
  if (!ci.error.empty()) cuda.Set("error", ci.error);
  if (ci.compiled) {
    cuda.Set("archs", ci.archs);
    cuda.Set("runtimeVersion", ci.runtime_version);
    cuda.Set("driverVersion", ci.driver_version);
  }
  if (ci.devices > 0) {
    cuda.Set("device", ci.device_name);
    cuda.Set("computeCapability", std::to_string(ci.cc_major) + "." + std::to_string(ci.cc_minor));
    cuda.Set("memoryBytes", (double)ci.memory_bytes);
  }
  out.Set("cuda", cuda);
  out.Set("simd", splat::simd_level());
  out.Set("threads", splat::cpu_threads());
#if defined(__F16C__)
  out.Set("f16c", true);
#else
  out.Set("f16c", false);
#endif
  return out;
}

/**
 * deformReference(network, xyz [N,3] Float32Array, t) -> {dxyz, drot, dscale}: the host
 * emulation of the CUDA deformation kernel's arithmetic (deform_net.cc), synchronous.
 */
Napi::Value DeformReference(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const splat::DeformNetworkDesc d = network_arg(info[0]);
  const float* xyz = typed_arg<const float>(info[1], napi_float32_array, SIZE_MAX, "xyz");
  const size_t len = typed_length(info[1]);
  if (len % 3 != 0) throw Napi::TypeError::New(env, "Expected a Float32Array of length N*3 for xyz but received " + describe(info[1]));
  const double t = number_arg(info[2], "t");
  const size_t n = len / 3;
  Napi::Float32Array dxyz = Napi::Float32Array::New(env, n * 3);
  Napi::Float32Array drot = Napi::Float32Array::New(env, n * 4);
  Napi::Float32Array dscale = Napi::Float32Array::New(env, n * 3);
  try {
    auto net = splat::build_deform_network(d);
    splat::deform_reference(*net, xyz, n, t, dxyz.Data(), drot.Data(), dscale.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("dxyz", dxyz);
  out.Set("drot", drot);
  out.Set("dscale", dscale);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Scene", SceneWrap::Define(env));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("deformReference", Napi::Function::New(env, DeformReference, "deformReference"));
  exports.Set("floatToHalf", Napi::Function::New(env, FloatToHalf, "floatToHalf"));
  exports.Set("halfToFloat", Napi::Function::New(env, HalfToFloat, "halfToFloat"));
  return exports;
}

}  // namespace

NODE_API_MODULE(splatsync, Init)
