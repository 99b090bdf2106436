#include "buffers.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace splat {
namespace {

constexpr size_t kHuge = (size_t)2 << 20;
constexpr size_t kPoolBytes = (size_t)512 << 20;  // most memory kept for reuse
constexpr size_t kPerSize = 32;                   // most buffers kept per size

struct Pool {
  std::mutex m;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t bytes = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: finalizers may run during exit
  return *p;
}

void* allocate(size_t bytes) {
  if (bytes < kHuge / 2) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace

void* buffer_acquire(size_t bytes) {
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.m);
    auto it = p.free.find(bytes);
    if (it != p.free.end() && !it->second.empty()) {
      void* b = it->second.back();
      it->second.pop_back();
      p.bytes -= bytes;
      return b;
    }
  }
  return allocate(bytes);
}

void buffer_release(void* b, size_t bytes) {
  if (!b) return;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.m);
    std::vector<void*>& list = p.free[bytes];
    if (p.bytes + bytes <= kPoolBytes && list.size() < kPerSize) {
      list.push_back(b);
      p.bytes += bytes;
      return;
    }
  }
  std::free(b);
}

}  // namespace splat
