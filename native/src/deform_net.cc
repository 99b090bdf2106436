#include "deform_net.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "common/deform_mlp.h"
#include "common/half.h"

namespace splat {
namespace {

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("deformation network: " + msg); }

void check_linear(const DeformNetworkDesc::Linear& l, const char* name, int out, int in) {
  if (l.out != out || l.in != in)
    bad(std::string(name) + " is [" + std::to_string(l.out) + ", " + std::to_string(l.in) + "], expected [" +
        std::to_string(out) + ", " + std::to_string(in) + "]");
  if (l.w.size() != (size_t)out * in || l.b.size() != (size_t)out)
    bad(std::string(name) + ": weight or bias array has the wrong length");
}

int round16(int x) { return (x + 15) / 16 * 16; }

uint16_t h(float v) { return float_to_half_bits(v); }

}  // namespace

std::shared_ptr<const DeformNetwork> build_deform_network(const DeformNetworkDesc& d) {
  auto net = std::make_shared<DeformNetwork>();
  DeformNetwork& N = *net;
  if (d.depth < 1 || d.depth > kDeformMaxDepth)
    bad("depth " + std::to_string(d.depth) + " (the CUDA kernel supports 1.." + std::to_string(kDeformMaxDepth) + ")");
  if (d.width < 16 || d.width > kDeformMaxWidth || d.width % 16 != 0)
    bad("width " + std::to_string(d.width) + " (the CUDA kernel supports multiples of 16 up to " +
        std::to_string(kDeformMaxWidth) + ")");
  if (d.xyz_multires < 0 || d.xyz_multires > kDeformMaxXyzMultires)
    bad("xyz multires " + std::to_string(d.xyz_multires) + " (supported: 0.." + std::to_string(kDeformMaxXyzMultires) + ")");
  if (d.t_multires < 0 || d.t_multires > 32) bad("t multires " + std::to_string(d.t_multires));
  if ((int)d.trunk.size() != d.depth) bad("trunk has " + std::to_string(d.trunk.size()) + " layers, depth " + std::to_string(d.depth));
  for (int s : d.skips)
    if (s < 0 || s >= d.depth - 1) bad("skip index " + std::to_string(s) + " out of range");
  N.depth = d.depth;
  N.width = d.width;
  N.xyz_multires = d.xyz_multires;
  N.t_multires = d.t_multires;
  N.is_blender = d.is_blender;
  N.is_6dof = d.is_6dof;
  N.x_dim = xyz_embed_dim(d.xyz_multires);
  N.x_pad = round16(N.x_dim);
  N.t_dim = 1 + 2 * d.t_multires;
  if (d.is_blender) {
    const int hidden = d.timenet0.out;
    check_linear(d.timenet0, "timenet.0", hidden, N.t_dim);
    check_linear(d.timenet2, "timenet.2", d.timenet2.out, hidden);
    if (hidden < 1 || d.timenet2.out < 1) bad("empty timenet");
    N.tn_hidden = hidden;
    N.t_feat = d.timenet2.out;
    N.tn_w0 = d.timenet0.w;
    N.tn_b0 = d.timenet0.b;
    N.tn_w1 = d.timenet2.w;
    N.tn_b1 = d.timenet2.b;
  } else {
    N.t_feat = N.t_dim;
  }
  const int X = N.x_dim, T = N.t_feat, W = N.width;
  auto is_skip = [&](int i) {
    for (int s : d.skips)
      if (s == i) return true;
    return false;
  };

  for (int i = 0; i < d.depth; ++i) {
    const DeformNetworkDesc::Linear& src = d.trunk[i];
    const std::string name = "linear." + std::to_string(i);
    DeformNetwork::Layer L;
    L.n = W;
    L.relu = true;
    L.b = src.b;
    if (i == 0) {
      check_linear(src, name.c_str(), W, X + T);
      L.input = LayerInput::x;
      L.k = N.x_pad;
      L.w.assign((size_t)W * L.k, 0);
      L.wt.assign((size_t)W * T, 0.0f);
      for (int j = 0; j < W; ++j) {
        const float* row = &src.w[(size_t)j * src.in];
        for (int c = 0; c < X; ++c) L.w[(size_t)j * L.k + c] = h(row[c]);
        for (int c = 0; c < T; ++c) L.wt[(size_t)j * T + c] = row[X + c];
      }
    } else if (is_skip(i - 1)) {
      check_linear(src, name.c_str(), W, X + T + W);
      L.input = LayerInput::hx;
      L.k = W + N.x_pad;
      L.w.assign((size_t)W * L.k, 0);
      L.wt.assign((size_t)W * T, 0.0f);
      for (int j = 0; j < W; ++j) {
        const float* row = &src.w[(size_t)j * src.in];
        for (int c = 0; c < W; ++c) L.w[(size_t)j * L.k + c] = h(row[X + T + c]);  // h first
        for (int c = 0; c < X; ++c) L.w[(size_t)j * L.k + W + c] = h(row[c]);      // then x_emb
        for (int c = 0; c < T; ++c) L.wt[(size_t)j * T + c] = row[X + c];
      }
    } else {
      check_linear(src, name.c_str(), W, W);
      L.input = LayerInput::h;
      L.k = W;
      L.w.resize((size_t)W * W);
      for (size_t e = 0; e < L.w.size(); ++e) L.w[e] = h(src.w[e]);
    }
    N.layers.push_back(std::move(L));
  }

  // Fused head.
  DeformNetwork::Layer H;
  H.input = LayerInput::h;
  H.k = W;
  H.n = kDeformHeadCols;
  H.relu = false;
  H.w.assign((size_t)H.n * W, 0);
  H.b.assign(H.n, 0.0f);
  auto put = [&](const DeformNetworkDesc::Linear& l, const char* name, int rows, int at) {
    check_linear(l, name, rows, W);
    for (int j = 0; j < rows; ++j) {
      for (int c = 0; c < W; ++c) H.w[(size_t)(at + j) * W + c] = h(l.w[(size_t)j * W + c]);
      H.b[at + j] = l.b[j];
    }
  };
  if (d.is_6dof) {
    put(d.branch_w, "branch_w", 3, kHeadWarp);
    put(d.branch_v, "branch_v", 3, kHeadBranchV);
  } else {
    put(d.warp, "gaussian_warp", 3, kHeadWarp);
  }
  put(d.rotation, "gaussian_rotation", 4, kHeadRot);
  put(d.scaling, "gaussian_scaling", 3, kHeadScale);
  N.layers.push_back(std::move(H));

  for (const auto& L : N.layers) {
    N.bias_offset.push_back(N.bias_total);
    N.weight_offset.push_back(N.weight_total);
    N.bias_total += (size_t)L.n;
    N.weight_total += L.w.size();  // a multiple of 256 (n, k multiples of 16): offsets stay 32-byte aligned
  }
  return net;
}

std::vector<float> deform_biases_at(const DeformNetwork& N, double t) {
  // feat(t): the t encoding (per frequency sin then cos), through timenet for is_blender.
  std::vector<double> enc((size_t)N.t_dim);
  enc[0] = t;
  double f = 1.0;
  for (int k = 0; k < N.t_multires; ++k, f *= 2.0) {
    enc[1 + 2 * k] = std::sin(t * f);
    enc[2 + 2 * k] = std::cos(t * f);
  }
  std::vector<double> feat;
  if (N.is_blender) {
    std::vector<double> hid((size_t)N.tn_hidden);
    for (int j = 0; j < N.tn_hidden; ++j) {
      double s = N.tn_b0[j];
      for (int c = 0; c < N.t_dim; ++c) s += (double)N.tn_w0[(size_t)j * N.t_dim + c] * enc[c];
      hid[j] = s > 0 ? s : 0;
    }
    feat.resize((size_t)N.t_feat);
    for (int j = 0; j < N.t_feat; ++j) {
      double s = N.tn_b1[j];
      for (int c = 0; c < N.tn_hidden; ++c) s += (double)N.tn_w1[(size_t)j * N.tn_hidden + c] * hid[c];
      feat[j] = s;
    }
  } else {
    feat = enc;
  }
  std::vector<float> out(N.bias_total);
  for (size_t l = 0; l < N.layers.size(); ++l) {
    const auto& L = N.layers[l];
    for (int j = 0; j < L.n; ++j) {
      double s = L.b[j];
      if (!L.wt.empty())
        for (int c = 0; c < N.t_feat; ++c) s += (double)L.wt[(size_t)j * N.t_feat + c] * feat[c];
      out[N.bias_offset[l] + j] = (float)s;
    }
  }
  return out;
}

void deform_reference(const DeformNetwork& N, const float* xyz, size_t n, double t, float* dxyz, float* drot,
                      float* dscale) {
  const std::vector<float> bias = deform_biases_at(N, t);
  const int W = N.width;
  // Activation row as the kernel lays it out: [h (W) | x_emb (XP)], values already fp16-rounded.
  std::vector<float> act((size_t)W + N.x_pad), next((size_t)W);
  std::vector<std::vector<float>> wf(N.layers.size());
  for (size_t l = 0; l < N.layers.size(); ++l) {
    wf[l].resize(N.layers[l].w.size());
    for (size_t e = 0; e < wf[l].size(); ++e) wf[l][e] = half_to_float(N.layers[l].w[e]);
  }
  float enc[3 + 6 * kDeformMaxXyzMultires];
  float head[kDeformHeadCols];
  for (size_t i = 0; i < n; ++i) {
    const float* x = xyz + i * 3;
    encode_xyz(x, N.xyz_multires, enc);
    for (int c = 0; c < N.x_pad; ++c) act[W + c] = c < N.x_dim ? half_to_float(float_to_half_bits(enc[c])) : 0.0f;
    for (size_t l = 0; l < N.layers.size(); ++l) {
      const auto& L = N.layers[l];
      const float* in = L.input == LayerInput::x ? &act[W] : &act[0];
      float* out = L.relu ? next.data() : head;
      for (int j = 0; j < L.n; ++j) {
        const float* w = &wf[l][(size_t)j * L.k];
        float s = 0.0f;
        for (int c = 0; c < L.k; ++c) s += w[c] * in[c];
        s += bias[N.bias_offset[l] + j];
        out[j] = L.relu ? half_to_float(float_to_half_bits(s > 0.0f ? s : 0.0f)) : s;
      }
      if (L.relu)
        for (int j = 0; j < W; ++j) act[j] = next[j];
    }
    deform_head_outputs(head, N.is_6dof, x, dxyz + i * 3, drot + i * 4, dscale + i * 3);
  }
}

}  // namespace splat
