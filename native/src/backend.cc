// Host helpers both backends use: keyframe brackets, pixel masks of spans, and the host tail
// of a pick (the feature sum over the patch's Gaussians, the centre pixel's depth / world point).
#include "backend.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/deform.h"
#include "common/gaussian.h"
#include "common/tiles.h"
#include "cpu/features.h"

namespace splat {

KeyframePair bracket_keyframes(const KeyframeList& kfs, double t) {
  KeyframePair p;
  if (kfs.empty()) return p;
  std::vector<double> times;
  times.reserve(kfs.size());
  for (const auto& k : kfs) times.push_back(k->t);
  const KeyframeBracket br = keyframe_bracket(times.data(), (int)times.size(), t);
  p.a = kfs[br.lo].get();
  p.b = kfs[br.hi].get();
  p.blend = br.lo != br.hi;
  p.u = br.u;
  return p;
}

TileMasks masks_from_spans(int width, int height, const int32_t* spans, size_t count) {
  const int tiles_x = (width + kTileSize - 1) / kTileSize;
  const int tiles_y = (height + kTileSize - 1) / kTileSize;
  std::vector<uint64_t> dense((size_t)tiles_x * tiles_y * 4, 0);
  for (size_t s = 0; s < count; ++s) {
    const int y = spans[s * 3], x0 = spans[s * 3 + 1], x1 = spans[s * 3 + 2];
    for (int x = x0; x < x1; ++x) {
      const size_t t = (size_t)(y / kTileSize) * tiles_x + x / kTileSize;
      const int p = (y % kTileSize) * kTileSize + x % kTileSize;
      dense[t * 4 + (p >> 6)] |= 1ull << (p & 63);
    }
  }
  TileMasks m;
  for (size_t t = 0; t < dense.size() / 4; ++t) {
    const uint64_t* d = &dense[t * 4];
    const size_t bits = (size_t)__builtin_popcountll(d[0]) + __builtin_popcountll(d[1]) + __builtin_popcountll(d[2]) +
                        __builtin_popcountll(d[3]);
    if (bits == 0) continue;
    m.pixels += bits;
    m.tiles.push_back((uint32_t)t);
    m.masks.insert(m.masks.end(), d, d + 4);
  }
  return m;
}

std::vector<int32_t> pick_patch_spans(const PickRequest& req) {
  const CameraSpec& c = req.camera;
  const int h = req.patch / 2;
  const int px0 = std::max(0, req.x - h), px1 = std::min(c.width, req.x + h + 1);
  const int py0 = std::max(0, req.y - h), py1 = std::min(c.height, req.y + h + 1);
  std::vector<int32_t> spans;
  for (int y = py0; y < py1; ++y) spans.insert(spans.end(), {y, px0, px1});
  return spans;
}

void pick_feature(const Features& feat, std::vector<std::pair<uint32_t, float>>& gw, size_t pixels, float* out) {
  std::sort(gw.begin(), gw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<uint32_t> gid;
  std::vector<float> gsum;
  for (const auto& p : gw) {
    if (!gid.empty() && gid.back() == p.first)
      gsum.back() += p.second;
    else
      gid.push_back(p.first), gsum.push_back(p.second);
  }
  const float inv_pixels = 1.0f / (float)pixels;
  for (float& w : gsum) w *= inv_pixels;
  std::fill(out, out + feat.dim, 0.0f);
  cpu::accumulate_features(feat.unit.get(), feat.dim, gid.data(), gsum.data(), gid.size(), out);
}

void pick_centre(const CameraSpec& c, int x, int y, float T, float depth_sum, PickResult* res) {
  res->alpha = 1.0f - std::fabs(T);
  res->depth = res->alpha > 1e-6f ? depth_sum / res->alpha : 0.0f;
  if (res->alpha > 1e-6f) {
    res->has_world_point = true;
    unproject_pixel(c.fx, c.fy, c.cx, c.cy, c.w2c, x + 0.5, y + 0.5, res->depth, res->world_point);
  }
}

}  // namespace splat
