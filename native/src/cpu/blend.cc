// Per-tile front-to-back compositing (docs/RENDERING.md "Per pixel"). Each tile keeps its
// 256 pixels' accumulators as structure-of-arrays; for every Gaussian of the tile's list
// (depth order) it visits, in each span column of kSpan pixels, only the rows the binning
// found its 1/255 ellipse crossing there (SpanRows), one branch-free vector pass per
// (row, span). A tile stops once every pixel has stopped (T' < 1e-4).
//
// The kernel is written with GCC vector extensions (`vf` = one AVX2 register of kSpan floats)
// instead of relying on the auto-vectorizer. Per (entry, span column) it hoists q1 = B dx and
// q0 = A dx^2 + log2 o out of the row loop; per 8 pixels it then costs t = (C dy + q1) dy + q0
// (2 FMA), exp2 (range reduction 3, degree-4 Estrin polynomial 5, scale 1), alpha mask and
// clamp 3, T update 6, colour and depth 4 FMA: ~25 vector ops plus 5 load/store pairs.
// 100K SH3 800x800 (26.9M evaluations): blend 22 -> 13.5 ms on this 2-core Zen 3, together
// with the vectorized resolve (byte shuffles for RGB) and recycled output buffers.
// Tried and dropped: a row-major walk (entries bucketed per (span, row), accumulators in
// registers): 18.6 ms, the bucketing and per-pixel-row constants cost more than the memory
// round trips they save.
//
// Three variants share it: the frame (colour, depth, alpha), the label channel (per-label
// weight planes, see blend_tile_labels) and masked compositing for pick / region weights
// (per-entry weight sums over the masked pixels).
#include <atomic>
#include <cmath>
#include <cstring>

#if defined(__AVX__) || defined(__SSSE3__)
#include <immintrin.h>
#endif

#include "../common/alpha.h"
#include "../common/label.h"
#include "stages.h"

namespace splat::cpu {
namespace {

constexpr int kPix = kTile * kTile;

// A tile's accumulators are span-major: pixel (x, y) of the tile lives at
// px_index(x, y) = (x / kSpan) * kTile * kSpan + y * kSpan + x % kSpan, so the spans of rows
// y and y + 1 in one span column are adjacent vectors. The kernel composites rows in pairs
// with every statement written for both rows in turn (two independent dependency chains
// interleaved in program order); on Zen 3 this measured the same as one row at a time.
typedef float vf __attribute__((vector_size(kSpan * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(kSpan * sizeof(float))));

inline int px_index(int x, int y) { return (x / kSpan) * kTile * kSpan + y * kSpan + x % kSpan; }

inline vf bcast(float x) {
#if defined(__AVX512F__)
  return (vf)_mm512_set1_ps(x);
#elif defined(__AVX__)
  return (vf)_mm256_set1_ps(x);
#else
  vf r;
  for (int l = 0; l < kSpan; ++l) r[l] = x;
  return r;
#endif
}
/** min(a, b) as a < b ? a : b (one instruction where the target has it). */
inline vf vmin(vf a, vf b) {
#if defined(__AVX512F__)
  return (vf)_mm512_min_ps((__m512)a, (__m512)b);
#elif defined(__AVX__)
  return (vf)_mm256_min_ps((__m256)a, (__m256)b);
#else
  return a < b ? a : b;
#endif
}
inline vf& at(float* p) { return *reinterpret_cast<vf*>(p); }  // p: kSpan-aligned

// exp2 as common/alpha.h's fast_exp2_unclamped (degree-4 Estrin polynomial).
constexpr float kE0 = kExp2P0, kE1 = kExp2P1, kE2 = kExp2P2, kE3 = kExp2P3, kE4 = kExp2P4;

struct TileAcc {
  alignas(64) float T[kPix];  // transmittance; stored negated (-T) once the pixel has stopped
  alignas(64) float R[kPix];  // colour sums
  alignas(64) float G[kPix];
  alignas(64) float B[kPix];
  alignas(64) float D[kPix];  // depth sum
};

/** Label weight planes of one tile: W[slot][pixel], one slot per distinct label of a group. */
constexpr int kLabelSlots = 16;
struct LabelAcc {
  alignas(64) float W[kLabelSlots][kPix];
};

/** Tile geometry and list. */
struct TileView {
  int x0, y0, rows, cols;       // pixel origin, size inside the image
  const Splat* sorted;          // [M]
  const uint32_t* entries;      // [count] indices into sorted, depth order
  const SpanRows* entry_rows;   // [count]
  uint32_t count;
};

/** Per-entry constants, broadcast once. */
struct EntryConsts {
  vf C, r, g, b, depth;
};

/**
 * One Gaussian on N vectors of pixels (N rows of one span column; offsets o + i kSpan in the
 * span-major accumulators): t [N] = log2 of the unclamped alpha per pixel. Branch-free form of
 * the per-pixel rule (common/alpha.h composite_step): alpha 0 where the pixel skips; a pixel
 * stops when T' < 1e-4 and then holds -T; a stopped pixel (T < 0) always stops again, so it
 * keeps -T and adds nothing. Every statement is unrolled over i (see above).
 */
template <int N, bool kLabel, bool kWeights>
inline void blend_cells(const vf* t, const EntryConsts& k, TileAcc& acc, int o, float* Wl, vf& wsum) {
  vf a[N], f[N], p[N], T[N], w[N];
  vi sh[N], stop[N];
  for (int i = 0; i < N; ++i) {  // 2^t: t = k + f, |f| <= 1/2
    const vf shifted = t[i] + kExp2Shift;
    sh[i] = (vi)shifted << 23;
    f[i] = t[i] - (shifted - kExp2Shift);
  }
  for (int i = 0; i < N; ++i) {
    const vf f2 = f[i] * f[i];
    p[i] = (f[i] * kE1 + kE0) + f2 * ((f[i] * kE3 + kE2) + f2 * kE4);
  }
  for (int i = 0; i < N; ++i) a[i] = p[i] * (vf)sh[i];
  for (int i = 0; i < N; ++i) a[i] = t[i] >= kLog2AlphaMin ? a[i] : vf{};
  for (int i = 0; i < N; ++i) a[i] = vmin(a[i], bcast(kAlphaMax));
  for (int i = 0; i < N; ++i) T[i] = at(acc.T + o + i * kSpan);
  for (int i = 0; i < N; ++i) {
    const vf aT = a[i] * T[i];
    const vf tn = T[i] - aT;
    stop[i] = tn < kTransmittanceMin;  // always true for stopped pixels (T < 0)
    w[i] = stop[i] ? vf{} : aT;
    at(acc.T + o + i * kSpan) = stop[i] ? (vf)((vi)T[i] | (int32_t)0x80000000) : tn;
  }
  for (int i = 0; i < N; ++i) at(acc.R + o + i * kSpan) += w[i] * k.r;
  for (int i = 0; i < N; ++i) at(acc.G + o + i * kSpan) += w[i] * k.g;
  for (int i = 0; i < N; ++i) at(acc.B + o + i * kSpan) += w[i] * k.b;
  for (int i = 0; i < N; ++i) at(acc.D + o + i * kSpan) += w[i] * k.depth;
  if (kLabel)
    for (int i = 0; i < N; ++i) at(Wl + o + i * kSpan) += w[i];
  if (kWeights)
    for (int i = 0; i < N; ++i) wsum += w[i];
}

/**
 * One Gaussian over the (row, span) cells of one tile it crosses. Wl: the label plane to add
 * w to (kLabel). Returns the sum of w over the cells (kWeights) and counts evaluations.
 * t = (C dy + q1) dy + q0 with q1 = B dx, q0 = A dx^2 + log2 o hoisted per span column.
 */
template <bool kLabel, bool kWeights>
inline float blend_entry(const Splat& s, SpanRows span_rows, const TileView& tv, const vf* px, TileAcc& acc,
                         float* Wl, uint64_t& evals) {
  vf wsum = {};
  const EntryConsts k{bcast(s.C), bcast(s.r), bcast(s.g), bcast(s.b), bcast(s.depth)};
  const vf v = bcast(s.v);
  for (int sp = 0; sp < kSpans; ++sp) {
    const int j0 = (span_rows >> (8 * sp)) & 15, j1 = (span_rows >> (8 * sp + 4)) & 15;
    if (j0 > j1) continue;
    const vf dx = px[sp] - s.u;
    const vf q1 = s.B * dx;
    const vf q0 = s.A * dx * dx + s.log2_opacity;
    int j = j0;
    int o = sp * kTile * kSpan + j0 * kSpan;
    vf yc = bcast((float)(tv.y0 + j0) + 0.5f);  // row centre; exact in float, stepped by 1
    for (; j + 1 <= j1; j += 2, o += 2 * kSpan, yc += 2.0f) {
      const vf dy0 = yc - v, dy1 = (yc + 1.0f) - v;
      const vf t[2] = {(k.C * dy0 + q1) * dy0 + q0, (k.C * dy1 + q1) * dy1 + q0};
      blend_cells<2, kLabel, kWeights>(t, k, acc, o, Wl, wsum);
    }
    if (j == j1) {
      const vf dy0 = yc - v;
      const vf t[1] = {(k.C * dy0 + q1) * dy0 + q0};
      blend_cells<1, kLabel, kWeights>(t, k, acc, o, Wl, wsum);
    }
    evals += (uint64_t)(j1 - j0 + 1) * kSpan;
  }
  if (!kWeights) return 0.0f;
  float sum = 0.0f;
  for (int l = 0; l < kSpan; ++l) sum += wsum[l];
  return sum;
}

/** Whether every pixel of the tile has stopped (T < 0; pixels outside the image start so). */
inline bool tile_done(const float* T) {
  vi live = {};
  for (int p = 0; p < kPix; p += kSpan) live |= at(const_cast<float*>(T) + p) > 0.0f;
  int any = 0;
  for (int l = 0; l < kSpan; ++l) any |= live[l];
  return any == 0;
}

/**
 * T = 1 for the image's pixels of the tile (or those of mask, when given: 4 x 64 bits, bit
 * y * 16 + x for pixel (x, y) of the tile), -1 elsewhere.
 */
inline void init_acc(TileAcc& acc, const TileView& tv, const uint64_t* mask) {
  for (int y = 0; y < kTile; ++y) {
    for (int x = 0; x < kTile; ++x) {
      const int q = y * kTile + x;
      const bool inside = x < tv.cols && y < tv.rows && (!mask || ((mask[q >> 6] >> (q & 63)) & 1));
      acc.T[px_index(x, y)] = inside ? 1.0f : -1.0f;
    }
  }
  std::memset(acc.R, 0, sizeof acc.R);
  std::memset(acc.G, 0, sizeof acc.G);
  std::memset(acc.B, 0, sizeof acc.B);
  std::memset(acc.D, 0, sizeof acc.D);
}

/**
 * Composites one tile's list into acc (initialised by the caller). entry_slot [count]: label
 * plane per entry (0xff: none), null without labels. entry_w [count]: per-entry weight sums
 * (kWeights). Returns the evaluations done.
 */
template <bool kWeights>
uint64_t composite_tile(const TileView& tv, TileAcc& acc, const uint8_t* entry_slot, LabelAcc* lab, float* entry_w) {
  alignas(64) vf px[kSpans];
  for (int sp = 0; sp < kSpans; ++sp)
    for (int l = 0; l < kSpan; ++l) px[sp][l] = (float)(tv.x0 + sp * kSpan + l) + 0.5f;
  uint64_t evals = 0;
  uint32_t k = 0;
  for (; k < tv.count; ++k) {
    if ((k & 7) == 7 && tile_done(acc.T)) break;
    if (k + 4 < tv.count) __builtin_prefetch(&tv.sorted[tv.entries[k + 4]]);
    const Splat& s = tv.sorted[tv.entries[k]];
    const uint8_t slot = entry_slot ? entry_slot[k] : 0xff;
    float w;
    if (slot != 0xff)
      w = blend_entry<true, kWeights>(s, tv.entry_rows[k], tv, px, acc, lab->W[slot], evals);
    else
      w = blend_entry<false, kWeights>(s, tv.entry_rows[k], tv, px, acc, nullptr, evals);
    if (kWeights) entry_w[k] = w;
  }
  if (kWeights)
    for (; k < tv.count; ++k) entry_w[k] = 0.0f;
  return evals;
}

/**
 * rgb8 = round(clamp(C + T bg, 0, 1) 255) (as floor(x 255 + 0.5)), alpha = 1 - T,
 * depth = D / alpha where alpha > 1e-6, else 0. Vector per span; the three channels are
 * interleaved with byte shuffles for full rows.
 */
void resolve_frame(const TileAcc& acc, const TileView& tv, int W, const float* bg, const FrameOut& out) {
  const vf abs_mask = (vf)(vi{} + 0x7fffffff);
  const vf bg0 = bcast(bg[0]), bg1 = bcast(bg[1]), bg2 = bcast(bg[2]);
  for (int r = 0; r < tv.rows; ++r) {
    alignas(64) int32_t ch[3][kTile];
    alignas(64) float al[kTile], dp[kTile];
    for (int sp = 0; sp < kSpans; ++sp) {
      const int o = px_index(sp * kSpan, r);
      const vf T = (vf)((vi)at(const_cast<float*>(acc.T) + o) & (vi)abs_mask);
      const vf c[3] = {at(const_cast<float*>(acc.R) + o) + T * bg0, at(const_cast<float*>(acc.G) + o) + T * bg1,
                       at(const_cast<float*>(acc.B) + o) + T * bg2};
      for (int k = 0; k < 3; ++k) {
        vf x = c[k] > 0.0f ? c[k] : vf{};
        x = vmin(x, bcast(1.0f)) * 255.0f + 0.5f;
        *reinterpret_cast<vi*>(&ch[k][sp * kSpan]) = __builtin_convertvector(x, vi);  // truncation = floor (x >= 0)
      }
      const vf a = 1.0f - T;
      const vi hit = a > 1e-6f;
      at(al + sp * kSpan) = a;
      at(dp + sp * kSpan) = hit ? at(const_cast<float*>(acc.D) + o) / (hit ? a : bcast(1.0f)) : vf{};
    }
    const size_t po = (size_t)(tv.y0 + r) * W + tv.x0;
    uint8_t* rgb = out.rgb + po * 3;
    std::memcpy(out.alpha + po, al, sizeof(float) * tv.cols);
    std::memcpy(out.depth + po, dp, sizeof(float) * tv.cols);
#if defined(__SSSE3__)
    if (tv.cols == kTile) {
      __m128i c8[3];
      for (int k = 0; k < 3; ++k) {
        const __m128i* q = reinterpret_cast<const __m128i*>(ch[k]);
        c8[k] = _mm_packus_epi16(_mm_packus_epi32(q[0], q[1]), _mm_packus_epi32(q[2], q[3]));
      }
      const __m128i R = c8[0], G = c8[1], B = c8[2];
      const __m128i o0 = _mm_or_si128(
          _mm_or_si128(_mm_shuffle_epi8(R, _mm_setr_epi8(0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1, 5)),
                       _mm_shuffle_epi8(G, _mm_setr_epi8(-1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1))),
          _mm_shuffle_epi8(B, _mm_setr_epi8(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1)));
      const __m128i o1 = _mm_or_si128(
          _mm_or_si128(_mm_shuffle_epi8(R, _mm_setr_epi8(-1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10, -1)),
                       _mm_shuffle_epi8(G, _mm_setr_epi8(5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10))),
          _mm_shuffle_epi8(B, _mm_setr_epi8(-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1)));
      const __m128i o2 = _mm_or_si128(
          _mm_or_si128(_mm_shuffle_epi8(R, _mm_setr_epi8(-1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1, -1)),
                       _mm_shuffle_epi8(G, _mm_setr_epi8(-1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1))),
          _mm_shuffle_epi8(B, _mm_setr_epi8(10, -1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(rgb), o0);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(rgb + 16), o1);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(rgb + 32), o2);
      continue;
    }
#endif
    for (int l = 0; l < tv.cols; ++l) {
      rgb[l * 3 + 0] = (uint8_t)ch[0][l];
      rgb[l * 3 + 1] = (uint8_t)ch[1][l];
      rgb[l * 3 + 2] = (uint8_t)ch[2][l];
    }
  }
}

/**
 * Frame plus label channel for one tile. The tile's distinct labels (ascending) are taken in
 * groups of kLabelSlots; each group composites the tile once more with one weight plane per
 * label (the first pass also produces the frame), so W_k is exact for any number of labels
 * (a tile crossing more than 16 labels costs one more pass per further 16). Per pixel the
 * labels are folded in ascending id (common/label.h): largest W_k >= threshold, ties to the
 * lower id. Returns the evaluations of the first pass.
 */
uint64_t blend_tile_labels(const TileView& tv, TileAcc& acc, const uint8_t* sorted_labels, float threshold, int W,
                           const float* bg, const FrameOut& out, uint8_t* entry_slot, LabelAcc& lab) {
  uint64_t present[4] = {0, 0, 0, 0};
  for (uint32_t k = 0; k < tv.count; ++k) {
    const uint8_t l = sorted_labels[tv.entries[k]];
    present[l >> 6] |= 1ull << (l & 63);
  }
  present[0] &= ~1ull;  // label 0: none
  int distinct[256], nd = 0;
  for (int l = 1; l < 256; ++l)
    if ((present[l >> 6] >> (l & 63)) & 1) distinct[nd++] = l;
  alignas(64) int32_t best_label[kPix];
  alignas(64) float best_w[kPix];
  for (int p = 0; p < kPix; ++p) best_label[p] = 0, best_w[p] = 0.0f;
  uint64_t evals = 0;
  for (int g0 = 0; g0 == 0 || g0 < nd; g0 += kLabelSlots) {
    const int ng = nd - g0 < kLabelSlots ? nd - g0 : kLabelSlots;
    uint8_t lut[256];
    std::memset(lut, 0xff, sizeof lut);
    for (int j = 0; j < ng; ++j) {
      lut[distinct[g0 + j]] = (uint8_t)j;
      std::memset(lab.W[j], 0, sizeof lab.W[j]);
    }
    for (uint32_t k = 0; k < tv.count; ++k) entry_slot[k] = lut[sorted_labels[tv.entries[k]]];
    init_acc(acc, tv, nullptr);
    const uint64_t e = composite_tile<false>(tv, acc, ng > 0 ? entry_slot : nullptr, &lab, nullptr);
    if (g0 == 0) {
      evals = e;
      resolve_frame(acc, tv, W, bg, out);
    }
    for (int j = 0; j < ng; ++j) {
      const int label = distinct[g0 + j];
      for (int p = 0; p < kPix; ++p) label_fold(label, lab.W[j][p], threshold, &best_label[p], &best_w[p]);
    }
  }
  for (int r = 0; r < tv.rows; ++r) {
    uint8_t* dst = out.labels + (size_t)(tv.y0 + r) * W + tv.x0;
    for (int l = 0; l < tv.cols; ++l) dst[l] = (uint8_t)best_label[px_index(l, r)];
  }
  return evals;
}

TileView tile_view(const Workspace& ws, const CameraParams& cam, size_t t) {
  const int tiles_x = (cam.width + kTile - 1) / kTile;
  const int tx = (int)(t % tiles_x), ty = (int)(t / tiles_x);
  TileView tv;
  tv.x0 = tx * kTile;
  tv.y0 = ty * kTile;
  tv.rows = cam.height - tv.y0 < kTile ? cam.height - tv.y0 : kTile;
  tv.cols = cam.width - tv.x0 < kTile ? cam.width - tv.x0 : kTile;
  const uint32_t* tile_start = ws.tile_start.get();
  tv.sorted = ws.sorted.get();
  tv.entries = ws.entries.get() + tile_start[t];
  tv.entry_rows = ws.entry_rows.get() + tile_start[t];
  tv.count = tile_start[t + 1] - tile_start[t];
  return tv;
}

}  // namespace

uint64_t blend_tiles(ThreadPool& pool, Workspace& ws, size_t m, const CameraParams& cam, const float* bg,
                     const FrameOut& out, const LabelParams* labels) {
  const int W = cam.width, H = cam.height;
  const size_t n_tiles = (size_t)((W + kTile - 1) / kTile) * ((H + kTile - 1) / kTile);
  std::atomic<uint64_t> evals{0};
  if (labels == nullptr) {
    pool.run(n_tiles, [&](size_t t) {
      const TileView tv = tile_view(ws, cam, t);
      TileAcc acc;
      init_acc(acc, tv, nullptr);
      const uint64_t e = composite_tile<false>(tv, acc, nullptr, nullptr, nullptr);
      resolve_frame(acc, tv, W, bg, out);
      evals.fetch_add(e, std::memory_order_relaxed);
    });
    return evals.load();
  }
  // Labels in depth order (sorted index k -> label of Gaussian ids[k]).
  uint8_t* sorted_labels = ws.sorted_labels.ensure(m + 1);
  const uint32_t* ids = ws.ids.get();
  pool.parallel_for(m, 8192, [&](size_t b, size_t e) {
    for (size_t k = b; k < e; ++k) sorted_labels[k] = labels->labels[ids[k]];
  });
  uint32_t max_count = 0;
  for (size_t t = 0; t < n_tiles; ++t) {
    const uint32_t c = ws.tile_start.get()[t + 1] - ws.tile_start.get()[t];
    max_count = c > max_count ? c : max_count;
  }
  pool.run(n_tiles, [&](size_t t) {
    thread_local Scratch<uint8_t> slots;
    thread_local std::unique_ptr<LabelAcc> lab;
    if (!lab) lab.reset(new LabelAcc);
    const TileView tv = tile_view(ws, cam, t);
    TileAcc acc;
    const uint64_t e =
        blend_tile_labels(tv, acc, sorted_labels, labels->threshold, W, bg, out, slots.ensure(max_count + 1), *lab);
    evals.fetch_add(e, std::memory_order_relaxed);
  });
  return evals.load();
}

uint64_t composite_masked(ThreadPool& pool, Workspace& ws, const CameraParams& cam, const uint32_t* tiles,
                          const uint64_t* masks, size_t count, float* tile_td) {
  std::atomic<uint64_t> evals{0};
  float* entry_w = ws.entry_weights.ensure((size_t)ws.tile_start.get()[(size_t)((cam.width + kTile - 1) / kTile) *
                                                                         ((cam.height + kTile - 1) / kTile)] +
                                           1);
  pool.run(count, [&](size_t i) {
    const size_t t = tiles[i];
    const TileView tv = tile_view(ws, cam, t);
    TileAcc acc;
    init_acc(acc, tv, masks + i * 4);
    const uint64_t e = composite_tile<true>(tv, acc, nullptr, nullptr, entry_w + ws.tile_start.get()[t]);
    if (tile_td) {  // raster order
      for (int q = 0; q < kPix; ++q) {
        tile_td[i * 2 * kPix + q] = acc.T[px_index(q % kTile, q / kTile)];
        tile_td[i * 2 * kPix + kPix + q] = acc.D[px_index(q % kTile, q / kTile)];
      }
    }
    evals.fetch_add(e, std::memory_order_relaxed);
  });
  return evals.load();
}

}  // namespace splat::cpu
