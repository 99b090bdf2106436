// Node-API binding only: argument unpacking, the async render baton, result objects.
// Shapes and validation messages are owned by native/index.ts; the checks here are a last
// line of defence so a bad call can never reach C++ with a wrong-sized buffer.
#include <napi.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "scene.h"

namespace {

using splat::RenderRequest;
using splat::RenderResult;
using splat::Scene;

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    return std::string(ta.TypedArrayType() == napi_float32_array ? "Float32Array" : "another typed array") +
           " of length " + std::to_string(ta.ElementLength());
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

/** render() baton: request copied on the main thread, Execute() pure C++, result built in OnOK. */
class RenderWorker : public Napi::AsyncWorker {
 public:
  RenderWorker(Napi::Env env, std::shared_ptr<const Scene> scene, const RenderRequest& req)
      : Napi::AsyncWorker(env, "splatsync.render"),
        deferred_(Napi::Promise::Deferred::New(env)),
        scene_(std::move(scene)),
        req_(req) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = scene_->render(req_);
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("native render failed");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    RenderResult& r = result_;
    const size_t px = (size_t)r.width * r.height;
    Napi::Object out = Napi::Object::New(env);
    out.Set("width", r.width);
    out.Set("height", r.height);
    out.Set("rgb", Napi::Uint8Array::New(env, px * 3, adopt(env, r.rgb, px * 3), 0));          // [H,W,3]
    out.Set("depth", Napi::Float32Array::New(env, px, adopt(env, r.depth, px * 4), 0));        // [H,W]
    out.Set("alpha", Napi::Float32Array::New(env, px, adopt(env, r.alpha, px * 4), 0));        // [H,W]
    Napi::Object t = Napi::Object::New(env);
    t.Set("deformMs", r.timings.deform_ms);
    t.Set("preprocessMs", r.timings.preprocess_ms);
    t.Set("sortMs", r.timings.sort_ms);
    t.Set("blendMs", r.timings.blend_ms);
    t.Set("totalMs", r.timings.total_ms);
    out.Set("timings", t);
    Napi::Object s = Napi::Object::New(env);
    s.Set("visible", (double)r.stats.visible);
    s.Set("tileEntries", (double)r.stats.tile_entries);
    s.Set("evaluated", (double)r.stats.evaluated);
    out.Set("stats", s);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const Scene> scene_;
  RenderRequest req_;
  RenderResult result_;
};

/**
 * new Scene(count, shDegree, positions [N,3], rotations [N,4], logScales [N,3],
 *           opacityLogits [N], sh [N,K,3])   all Float32Array.
 */
class SceneWrap : public Napi::ObjectWrap<SceneWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Scene",
                       {InstanceAccessor<&SceneWrap::Count>("count"),
                        InstanceMethod<&SceneWrap::SetKeyframe>("setKeyframe"),
                        InstanceMethod<&SceneWrap::RemoveKeyframe>("removeKeyframe"),
                        InstanceMethod<&SceneWrap::ClearKeyframes>("clearKeyframes"),
                        InstanceMethod<&SceneWrap::KeyframeTimes>("keyframeTimes"),
                        InstanceMethod<&SceneWrap::Render>("render"),
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
    const float* sh = float32_arg(info[6], n * K * 3, "sh");
    try {
      scene_ = std::make_shared<Scene>(n, deg, positions, rotations, log_scales, opacity, sh);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }

 private:
  Scene& live(Napi::Env env) {
    if (!scene_) throw Napi::Error::New(env, "This scene has been disposed; create a new one with createScene()");
    return *scene_;
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), scene_ ? (double)scene_->count() : 0.0);
  }

  /** setKeyframe(t, dxyz [N,3], drot [N,4], dscale [N,3]) */
  Napi::Value SetKeyframe(const Napi::CallbackInfo& info) {
    Scene& s = live(info.Env());
    const size_t n = s.count();
    const double t = number_arg(info[0], "t");
    const float* dxyz = float32_arg(info[1], n * 3, "dxyz");
    const float* drot = float32_arg(info[2], n * 4, "drot");
    const float* dscale = float32_arg(info[3], n * 3, "dscale");
    try {
      s.set_keyframe(t, dxyz, drot, dscale);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
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

  /**
   * render({camera: {width, height, fx, fy, cx, cy, worldToCamera: number[16]}, t,
   *         background: number[3]}) -> Promise<result>
   */
  Napi::Value Render(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Napi::Object opts = object_arg(info[0], "render options");
    Napi::Object cam = object_arg(opts.Get("camera"), "camera");
    RenderRequest req;
    req.camera.width = int_arg(cam.Get("width"), 1, splat::kMaxImageSide, "camera.width");
    req.camera.height = int_arg(cam.Get("height"), 1, splat::kMaxImageSide, "camera.height");
    req.camera.fx = number_arg(cam.Get("fx"), "camera.fx");
    req.camera.fy = number_arg(cam.Get("fy"), "camera.fy");
    req.camera.cx = number_arg(cam.Get("cx"), "camera.cx");
    req.camera.cy = number_arg(cam.Get("cy"), "camera.cy");
    Napi::Value w2c = cam.Get("worldToCamera");
    if (!w2c.IsArray() || w2c.As<Napi::Array>().Length() != 16)
      throw Napi::TypeError::New(env, "Expected array of 16 numbers for camera.worldToCamera but received " +
                                          describe(w2c));
    for (uint32_t i = 0; i < 16; ++i)
      req.camera.w2c[i] = number_arg(w2c.As<Napi::Array>().Get(i), "camera.worldToCamera[i]");
    req.t = number_arg(opts.Get("t"), "t");
    Napi::Value bg = opts.Get("background");
    if (!bg.IsArray() || bg.As<Napi::Array>().Length() != 3)
      throw Napi::TypeError::New(env, "Expected array of 3 numbers for background but received " + describe(bg));
    for (uint32_t i = 0; i < 3; ++i)
      req.background[i] = (float)number_arg(bg.As<Napi::Array>().Get(i), "background[i]");

    auto* worker = new RenderWorker(env, scene_, req);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  /** Drops this handle's reference; renders in flight keep the data until they finish. */
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    scene_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Scene> scene_;
};

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", true);
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", false);  // no CUDA backend in this build
  cuda.Set("devices", 0);
  out.Set("cuda", cuda);
  out.Set("simd", splat::simd_level());
  out.Set("threads", splat::cpu_threads());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Scene", SceneWrap::Define(env));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  return exports;
}

}  // namespace

NODE_API_MODULE(splatsync, Init)
