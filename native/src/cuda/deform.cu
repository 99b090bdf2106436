// The deformation network on tensor cores (WMMA 16x16x16, fp16 inputs, fp32 accumulation).
// Weights and the activation layout come from deform_net.{h,cc} (which also emulates this
// kernel's arithmetic on the host: deform_reference); the per-Gaussian ends (x encoding, fused
// head -> d_xyz / d_rotation / d_scaling, 6-DoF screw motion) are common/deform_mlp.h.
//
// Block: 4 warps, 64 Gaussians (rows). Shared memory holds the rows' activations as fp16:
// two ping-pong buffers for h [64, W] and one for the x encoding [64, XP] (rows padded by 8
// halves against bank conflicts), a 16x16 fp32 scratch per warp for the epilogue and the head's
// fp32 outputs [64, 16]. Per layer, warp w computes the column fragments w, w+4, w+8, w+12 for
// all 4 row blocks (16 accumulators), streaming the weights' B fragments from global memory
// (L1/L2-resident: a 256x256 fp16 layer is 128 KB); the epilogue adds the bias (t folded in),
// applies ReLU and rounds to fp16 into the other buffer.
//
// NOT YET RUN ON A GPU: compiled only. Tuning left for a GPU session (docs/CUDA.md): staging
// weight tiles in shared memory with cp.async, 128-row blocks on sm_80/sm_90, wgmma on sm_90.
#include <cuda_fp16.h>
#include <mma.h>

#include "../common/deform_mlp.h"
#include "kernels.h"
#include "util.cuh"

namespace splat::cuda {
namespace {

using namespace nvcuda;

constexpr int kRows = 64;
constexpr int kWarps = 4;
constexpr int kRowBlocks = kRows / 16;
constexpr int kFragsPerPass = 4;
constexpr int kPad = 8;  // halves of padding per shared-memory row

__global__ void __launch_bounds__(kWarps * 32) deform_network_kernel(NetArgs a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int W = a.width, HS = W + kPad, XS = a.x_pad + kPad;
  __half* hbuf0 = reinterpret_cast<__half*>(smem);
  __half* hbuf1 = hbuf0 + (size_t)kRows * HS;
  __half* xbuf = hbuf1 + (size_t)kRows * HS;
  float* scratch = reinterpret_cast<float*>(xbuf + (size_t)kRows * XS);  // [kWarps][256]
  float* head = scratch + kWarps * 256;                                    // [kRows][16]
  const size_t row0 = (size_t)blockIdx.x * kRows;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

  // x encoding, fp16; padding columns and rows past N are zero.
  for (int r = threadIdx.x; r < kRows; r += blockDim.x) {
    float enc[3 + 6 * kDeformMaxXyzMultires];
    const size_t g = row0 + r;
    const bool valid = g < a.n;
    if (valid) {
      const float x[3] = {a.xyz[g * 3], a.xyz[g * 3 + 1], a.xyz[g * 3 + 2]};
      encode_xyz(x, a.xyz_multires, enc);
    }
    for (int c = 0; c < a.x_pad; ++c) xbuf[r * XS + c] = __float2half_rn(valid && c < a.x_dim ? enc[c] : 0.0f);
  }
  __syncthreads();

  __half* in_h = hbuf0;
  __half* out_h = hbuf1;
  for (int l = 0; l < a.n_layers; ++l) {
    const NetLayer L = a.layers[l];
    const __half* Wl = a.weights + L.w_off;
    const float* bl = a.biases + L.b_off;
    const int NF = L.n / 16;
    for (int f0 = warp; f0 < NF; f0 += kWarps * kFragsPerPass) {
      int nf = 0;
      while (nf < kFragsPerPass && f0 + nf * kWarps < NF) ++nf;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kRowBlocks][kFragsPerPass];
#pragma unroll
      for (int rb = 0; rb < kRowBlocks; ++rb)
#pragma unroll
        for (int q = 0; q < kFragsPerPass; ++q) wmma::fill_fragment(acc[rb][q], 0.0f);
      for (int k = 0; k < L.k; k += 16) {
        const __half* abase;
        int lda;
        if (L.input == 0) {
          abase = xbuf + k;
          lda = XS;
        } else if (k < W) {
          abase = in_h + k;
          lda = HS;
        } else {
          abase = xbuf + (k - W);
          lda = XS;
        }
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> bf[kFragsPerPass];
#pragma unroll
        for (int q = 0; q < kFragsPerPass; ++q)
          if (q < nf) wmma::load_matrix_sync(bf[q], Wl + (size_t)(f0 + q * kWarps) * 16 * L.k + k, L.k);
#pragma unroll
        for (int rb = 0; rb < kRowBlocks; ++rb) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> af;
          wmma::load_matrix_sync(af, abase + (size_t)rb * 16 * lda, lda);
#pragma unroll
          for (int q = 0; q < kFragsPerPass; ++q)
            if (q < nf) wmma::mma_sync(acc[rb][q], af, bf[q], acc[rb][q]);
        }
      }
      float* sc = scratch + warp * 256;
#pragma unroll
      for (int rb = 0; rb < kRowBlocks; ++rb) {
#pragma unroll
        for (int q = 0; q < kFragsPerPass; ++q) {
          if (q >= nf) continue;
          wmma::store_matrix_sync(sc, acc[rb][q], 16, wmma::mem_row_major);
          __syncwarp();
          const int col0 = (f0 + q * kWarps) * 16;
          for (int e = lane; e < 256; e += 32) {
            const int r = rb * 16 + e / 16, c = col0 + e % 16;
            const float v = sc[e] + bl[c];
            if (L.relu)
              out_h[r * HS + c] = __float2half_rn(v > 0.0f ? v : 0.0f);
            else
              head[r * kDeformHeadCols + c] = v;
          }
          __syncwarp();
        }
      }
    }
    __syncthreads();
    if (L.relu) {
      __half* t = in_h;
      in_h = out_h;
      out_h = t;
    }
  }

  for (int r = threadIdx.x; r < kRows; r += blockDim.x) {
    const size_t g = row0 + r;
    if (g >= a.n) continue;
    const float x[3] = {a.xyz[g * 3], a.xyz[g * 3 + 1], a.xyz[g * 3 + 2]};
    deform_head_outputs(head + r * kDeformHeadCols, a.is_6dof, x, a.dxyz + g * 3, a.drot + g * 4, a.dscale + g * 3);
  }
}

}  // namespace

size_t deform_network_smem(int width, int x_pad) {
  return 2 * (size_t)kRows * (width + kPad) * sizeof(__half) + (size_t)kRows * (x_pad + kPad) * sizeof(__half) +
         (size_t)kWarps * 256 * sizeof(float) + (size_t)kRows * kDeformHeadCols * sizeof(float);
}

void launch_deform_network(const NetArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const size_t smem = deform_network_smem(a.width, a.x_pad);
  check(cudaFuncSetAttribute(deform_network_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "cudaFuncSetAttribute(deform_network_kernel)");
  const unsigned blocks = (unsigned)((a.n + kRows - 1) / kRows);
  deform_network_kernel<<<blocks, kWarps * 32, smem, s>>>(a);
  check_launch("deform_network_kernel");
}

}  // namespace splat::cuda
