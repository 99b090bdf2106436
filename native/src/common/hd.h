// SPLAT_HD marks the shared math as callable from both CPU code and CUDA kernels.
// Everything under src/common/ is header-only, inline, allocation-free and uses no std::
// containers, so the CUDA backend (src/cuda/*.cu) includes it unchanged.
//
// Under nvcc the functions are also `static`: a .cu file's host copies are then private to it.
// Otherwise the linker could keep, for the CPU backend too, an nvcc-compiled copy of an inline
// function (built without the CPU sources' -march=native, so without FMA contraction) and the
// CPU results would depend on link order.
#pragma once

#ifdef __CUDACC__
#define SPLAT_HD __host__ __device__ static
#else
#define SPLAT_HD
#endif

#include <cmath>
#include <cstdint>
#include <cstring>

namespace splat {

SPLAT_HD inline float min_f(float a, float b) { return a < b ? a : b; }
SPLAT_HD inline float max_f(float a, float b) { return a > b ? a : b; }
SPLAT_HD inline float clamp_f(float x, float lo, float hi) { return min_f(max_f(x, lo), hi); }

SPLAT_HD inline float int_bits_to_float(int32_t i) {
#ifdef __CUDA_ARCH__
  return __int_as_float(i);
#else
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
#endif
}

SPLAT_HD inline uint32_t float_to_uint_bits(float f) {
#ifdef __CUDA_ARCH__
  return static_cast<uint32_t>(__float_as_int(f));
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

}  // namespace splat
