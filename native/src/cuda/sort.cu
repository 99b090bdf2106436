// CUB device-wide primitives, in a file of their own: they are the slowest part of the CUDA
// build (several template instantiations per architecture), so keeping them apart lets make
// compile them in parallel with the other .cu files.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "kernels.h"
#include "util.cuh"

namespace splat::cuda {

size_t sort_temp_bytes(int items, int end_bit) {
  size_t bytes = 0;
  cub::DoubleBuffer<uint64_t> k(nullptr, nullptr);
  cub::DoubleBuffer<uint32_t> v(nullptr, nullptr);
  check(cub::DeviceRadixSort::SortPairs(nullptr, bytes, k, v, items, 0, end_bit), "DeviceRadixSort temp size");
  return bytes;
}

bool sort_pairs(void* temp, size_t temp_bytes, uint64_t* keys, uint64_t* keys_alt, uint32_t* vals, uint32_t* vals_alt,
                int items, int end_bit, cudaStream_t s) {
  cub::DoubleBuffer<uint64_t> k(keys, keys_alt);
  cub::DoubleBuffer<uint32_t> v(vals, vals_alt);
  check(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, k, v, items, 0, end_bit, s), "DeviceRadixSort::SortPairs");
  return k.Current() == keys_alt;
}

size_t scan_temp_bytes(int items) {
  size_t bytes = 0;
  check(cub::DeviceScan::InclusiveSum(nullptr, bytes, static_cast<const uint32_t*>(nullptr),
                                      static_cast<uint32_t*>(nullptr), items),
        "DeviceScan temp size");
  return bytes;
}

void inclusive_scan(void* temp, size_t temp_bytes, const uint32_t* in, uint32_t* out, int items, cudaStream_t s) {
  check(cub::DeviceScan::InclusiveSum(temp, temp_bytes, in, out, items, s), "DeviceScan::InclusiveSum");
}

}  // namespace splat::cuda
