// The deformation network (DeformNetwork of Deformable-3DGS / DGD, see server/deform/network.ts)
// packed for the CUDA kernel (cuda/deform.cu): fp16 weight matrices whose input columns are
// permuted and padded to the kernel's activation layout, fp32 biases, and the time path folded
// into the biases per t. Also a host emulation of the kernel's arithmetic (deform_reference) so
// the packing can be tested against the PyTorch fixtures without a GPU.
//
// Kernel activation layout per Gaussian (one row): [h (W) | x_emb (X) | 0 pad up to XP], with
// W = width, X = 3 + 6 * xyz multires, XP = X rounded up to 16. Layer inputs:
//   layer 0:                 x_emb           (K = XP)      PyTorch columns [x_emb, t]
//   layer i after a skip:    [h, x_emb]      (K = W + XP)  PyTorch columns [x_emb, t, h]
//   other layers:            h               (K = W)
//   fused head (16 outputs): h               (K = W)       [warp|branch_w 3, rotation 4, scaling 3, branch_v 3, 0 x3]
// The t columns (t encoding, or timenet's output for is_blender) are the same for every Gaussian
// at a given t, so they are multiplied out on the host (in double) and added to the bias:
// b'(t) = b + W_t feat(t). Only x_emb and h go through the tensor cores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace splat {

/** A network as the importer loaded it: PyTorch layouts, fp32 (fp16 files already widened). */
struct DeformNetworkDesc {
  struct Linear {
    int out = 0, in = 0;
    std::vector<float> w;  // [out, in]
    std::vector<float> b;  // [out]
  };
  int depth = 0, width = 0, xyz_multires = 0, t_multires = 0;
  bool is_blender = false, is_6dof = false;
  std::vector<int> skips;  // trunk indices i after whose ReLU [x_emb, t, h] is concatenated
  std::vector<Linear> trunk;  // [depth]
  Linear warp;                // plain variant
  Linear branch_w, branch_v;  // 6-DoF variant
  Linear rotation, scaling;
  Linear timenet0, timenet2;  // is_blender: Linear(1 + 2 t_multires -> hidden) -> ReLU -> Linear(hidden -> t features)
};

enum class LayerInput : int { x = 0, h = 1, hx = 2 };

/** The packed network (immutable; shared by requests and the CUDA backend's device copy). */
struct DeformNetwork {
  int depth = 0, width = 0, xyz_multires = 0, t_multires = 0;
  bool is_blender = false, is_6dof = false;
  int x_dim = 0, x_pad = 0;  // X, XP above
  int t_dim = 0;             // 1 + 2 t_multires
  int t_feat = 0;            // what the trunk sees of time: t_dim, or timenet's output width
  struct Layer {
    LayerInput input = LayerInput::h;
    int k = 0;                  // inputs as the kernel reads them (padded)
    int n = 0;                  // outputs (width, or kDeformHeadCols for the head)
    bool relu = true;           // false for the head
    std::vector<uint16_t> w;    // fp16 [n, k]: row j = output j's weights over the kernel's input order
    std::vector<float> b;       // [n]
    std::vector<float> wt;      // [n, t_feat] fp32 weights of the t features (layer 0 and after skips), else empty
  };
  std::vector<Layer> layers;  // depth trunk layers, then the head
  int tn_hidden = 0;
  std::vector<float> tn_w0, tn_b0, tn_w1, tn_b1;  // timenet (is_blender), [hidden, t_dim], [hidden], [t_feat, hidden], [t_feat]
  /** Offsets of each layer's bias in deform_biases_at's output and of its weights in one fp16 blob. */
  std::vector<size_t> bias_offset, weight_offset;
  size_t bias_total = 0, weight_total = 0;
};

/** Largest trunk width and depth the CUDA kernel supports (shared-memory layout). */
constexpr int kDeformMaxWidth = 256;
constexpr int kDeformMaxDepth = 16;

/** Packs a network; throws std::invalid_argument naming the problem (shapes, unsupported sizes). */
std::shared_ptr<const DeformNetwork> build_deform_network(const DeformNetworkDesc& d);

/** Every layer's bias at time t with the t features folded in, concatenated (net.bias_offset). */
std::vector<float> deform_biases_at(const DeformNetwork& net, double t);

/**
 * Host emulation of the CUDA kernel's arithmetic: fp16 weights and activations (x encoding and
 * every hidden layer rounded to fp16, round to nearest even), fp32 accumulation and bias, the
 * head in fp32. xyz [n,3] -> dxyz [n,3], drot [n,4], dscale [n,3]. Single-threaded; for tests.
 */
void deform_reference(const DeformNetwork& net, const float* xyz, size_t n, double t, float* dxyz, float* drot,
                      float* dscale);

}  // namespace splat
