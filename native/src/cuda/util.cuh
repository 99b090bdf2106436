// Small CUDA helpers for the backend: error checks that throw (never abort: the addon must keep
// the process alive), growable device and pinned host buffers, and a stream-ordered timer.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace splat::cuda {

/** Throws std::runtime_error("CUDA <what>: <error name>: <message>") when e != cudaSuccess. */
inline void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

/** Checks the last launch (configuration errors) without synchronizing. */
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

/** Growable, uninitialised device array (never shrinks). Freed errors are ignored (process exit). */
template <class T>
class DevBuf {
 public:
  DevBuf() = default;
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  ~DevBuf() { release(); }
  /** Room for n elements (contents lost when it grows). */
  T* ensure(size_t n) {
    if (n > cap_) {
      release();
      const size_t want = n < 16 ? 16 : n + n / 8;  // a little headroom: entry counts change per frame
      check(cudaMalloc(reinterpret_cast<void**>(&p_), want * sizeof(T)), "cudaMalloc");
      cap_ = want;
    }
    return p_;
  }
  /** Exactly src [n] copied to the device (synchronous). */
  T* upload(const T* src, size_t n, cudaStream_t s) {
    T* d = ensure(n);
    if (n) check(cudaMemcpyAsync(d, src, n * sizeof(T), cudaMemcpyHostToDevice, s), "cudaMemcpyAsync H2D");
    check(cudaStreamSynchronize(s), "upload");
    return d;
  }
  T* get() const { return p_; }
  size_t capacity() const { return cap_; }
  size_t bytes() const { return cap_ * sizeof(T); }
  void release() {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    cap_ = 0;
  }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

/** Growable page-locked host buffer (readback staging). */
class PinnedBuf {
 public:
  PinnedBuf() = default;
  PinnedBuf(const PinnedBuf&) = delete;
  PinnedBuf& operator=(const PinnedBuf&) = delete;
  ~PinnedBuf() {
    if (p_) cudaFreeHost(p_);
  }
  void* ensure(size_t bytes) {
    if (bytes > cap_) {
      if (p_) cudaFreeHost(p_);
      p_ = nullptr;
      cap_ = 0;
      check(cudaMallocHost(&p_, bytes), "cudaMallocHost");
      cap_ = bytes;
    }
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

/** Events recorded on a stream; elapsed milliseconds between marks once the stream has synced. */
class StageEvents {
 public:
  static constexpr int kMax = 8;
  StageEvents() {
    for (int i = 0; i < kMax; ++i) check(cudaEventCreate(&ev_[i]), "cudaEventCreate");
  }
  ~StageEvents() {
    for (int i = 0; i < kMax; ++i) cudaEventDestroy(ev_[i]);
  }
  StageEvents(const StageEvents&) = delete;
  StageEvents& operator=(const StageEvents&) = delete;
  void mark(int i, cudaStream_t s) { check(cudaEventRecord(ev_[i], s), "cudaEventRecord"); }
  double ms(int a, int b) const {
    float f = 0;
    return cudaEventElapsedTime(&f, ev_[a], ev_[b]) == cudaSuccess ? (double)f : 0.0;
  }

 private:
  cudaEvent_t ev_[kMax];
};

inline unsigned blocks_for(size_t n, unsigned threads) { return (unsigned)((n + threads - 1) / threads); }

}  // namespace splat::cuda
