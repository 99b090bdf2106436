// Semantic features on the GPU: cosine similarity of N x D unit fp16 rows with a query (memory
// bound: N D 2 bytes read once), optionally thresholded into flags that a scan turns into the
// ascending list of selected Gaussians.
//
// NOT YET RUN ON A GPU (see docs/CUDA.md).
#include <cuda_fp16.h>

#include "kernels.h"
#include "util.cuh"

namespace splat::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

/**
 * One warp per row (grid-stride). The query lives in shared memory as fp32. Rows whose length
 * is a multiple of 8 halves are read 16 bytes per lane per step (row starts are then 16-byte
 * aligned: the array comes from cudaMalloc); others one half at a time.
 */
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    similarity_kernel(const __half* f, size_t n, int dim, const float* q, float theta, float* out, uint32_t* flags) {
  extern __shared__ float sq[];
  for (int d = threadIdx.x; d < dim; d += blockDim.x) sq[d] = q[d];
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const size_t warp = (size_t)blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  const size_t warps = (size_t)gridDim.x * kWarpsPerBlock;
  const bool vec = dim % 8 == 0;
  for (size_t row = warp; row < n; row += warps) {
    const __half* r = f + row * (size_t)dim;
    float sum = 0.0f;
    if (vec) {
      const uint4* r4 = reinterpret_cast<const uint4*>(r);
      for (int c = lane; c < dim / 8; c += 32) {
        const uint4 raw = __ldg(r4 + c);
        const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
        const float* qq = sq + c * 8;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          const float2 v = __half22float2(h2[k]);
          sum = fmaf(v.x, qq[2 * k], sum);
          sum = fmaf(v.y, qq[2 * k + 1], sum);
        }
      }
    } else {
      for (int d = lane; d < dim; d += 32) sum = fmaf(__half2float(r[d]), sq[d], sum);
    }
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) {
      out[row] = sum;
      if (flags) flags[row] = sum >= theta ? 1u : 0u;
    }
  }
}

__global__ void scatter_selected_kernel(const uint32_t* flags, const uint32_t* pos, size_t n, uint32_t* ids) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && flags[i]) ids[pos[i] - 1] = (uint32_t)i;
}

}  // namespace

void launch_similarity(const uint16_t* features, size_t n, int dim, const float* q, float theta, float* out,
                       uint32_t* flags, cudaStream_t s) {
  if (n == 0) return;
  const size_t smem = (size_t)dim * sizeof(float);
  if (smem > 48 * 1024)
    check(cudaFuncSetAttribute(similarity_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
          "cudaFuncSetAttribute(similarity)");
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const size_t want = (n + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const unsigned blocks = (unsigned)(want < (size_t)sms * 16 ? want : (size_t)sms * 16);
  similarity_kernel<<<blocks, kWarpsPerBlock * 32, smem, s>>>(reinterpret_cast<const __half*>(features), n, dim, q,
                                                              theta, out, flags);
  check_launch("similarity_kernel");
}

void launch_scatter_selected(const uint32_t* flags, const uint32_t* pos, size_t n, uint32_t* ids, cudaStream_t s) {
  if (n == 0) return;
  scatter_selected_kernel<<<blocks_for(n, 256), 256, 0, s>>>(flags, pos, n, ids);
  check_launch("scatter_selected_kernel");
}

}  // namespace splat::cuda
