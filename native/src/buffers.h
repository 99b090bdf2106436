// Output buffers handed to JS (frames, scores, region weights): recycled instead of freed, so a
// render does not pay a page fault per 4 KiB of fresh output (a 800x800 frame is 7 MB: ~1700
// faults, a few ms in a VM). JS frees a buffer through its ArrayBuffer finalizer, which puts it
// back here; a later request of the same size takes it. New large buffers are 2 MiB-aligned and
// advised as transparent huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace splat {

/** bytes of uninitialised memory (never null; throws std::bad_alloc). */
void* buffer_acquire(size_t bytes);
/** Returns p (from buffer_acquire(bytes)) for reuse, or frees it when the pool is full. */
void buffer_release(void* p, size_t bytes);

struct PooledDelete {
  size_t bytes = 0;
  void operator()(void* p) const { buffer_release(p, bytes); }
};

/** An array of n T from the pool. */
template <class T>
using PooledArray = std::unique_ptr<T[], PooledDelete>;

template <class T>
PooledArray<T> pooled_array(size_t n) {
  const size_t bytes = (n ? n : 1) * sizeof(T);
  return PooledArray<T>(static_cast<T*>(buffer_acquire(bytes)), PooledDelete{bytes});
}

}  // namespace splat
