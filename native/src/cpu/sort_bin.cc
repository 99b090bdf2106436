// One 32-bit depth sort of the visible Gaussians (stable LSD radix sort on the float bits,
// which order like the floats because every depth is > 0.2), then a stable scatter into tile
// bins: each tile's list comes out in depth order, ties by Gaussian index.
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "stages.h"
#include "tiles.h"

namespace splat::cpu {
namespace {

constexpr int kRadixBits = 11;
constexpr uint32_t kBuckets = 1u << kRadixBits;

/**
 * Stable LSD sort of (keys, ids) [m] by keys, 11 bits per pass; passes where every key has the
 * same digit are skipped. keys_tmp, ids_tmp [m] are scratch; the result ends in keys / ids.
 */
void radix_sort(ThreadPool& pool, size_t m, uint32_t* keys, uint32_t* ids, uint32_t* keys_tmp, uint32_t* ids_tmp,
                Workspace& ws) {
  const size_t chunks = (size_t)pool.size() * 2;
  const size_t len = (m + chunks - 1) / chunks;
  uint32_t* hist = ws.tile_counts.ensure(chunks * kBuckets);  // [chunks, buckets]
  uint32_t *src_k = keys, *src_i = ids, *dst_k = keys_tmp, *dst_i = ids_tmp;
  for (int shift = 0; shift < 32; shift += kRadixBits) {
    pool.run(chunks, [&](size_t c) {
      uint32_t* h = hist + c * kBuckets;
      std::memset(h, 0, kBuckets * sizeof(uint32_t));
      const size_t b = c * len, e = (c + 1) * len < m ? (c + 1) * len : m;
      for (size_t i = b; i < e; ++i) ++h[(src_k[i] >> shift) & (kBuckets - 1)];
    });
    // Exclusive offsets, bucket-major then chunk; skip the pass when one bucket holds all.
    uint32_t running = 0;
    bool trivial = false;
    for (uint32_t d = 0; d < kBuckets && !trivial; ++d) {
      uint32_t total = 0;
      for (size_t c = 0; c < chunks; ++c) total += hist[c * kBuckets + d];
      if (total == m) trivial = true;
      for (size_t c = 0; c < chunks; ++c) {
        const uint32_t h = hist[c * kBuckets + d];
        hist[c * kBuckets + d] = running;
        running += h;
      }
    }
    if (trivial) continue;
    pool.run(chunks, [&](size_t c) {
      uint32_t* off = hist + c * kBuckets;
      const size_t b = c * len, e = (c + 1) * len < m ? (c + 1) * len : m;
      for (size_t i = b; i < e; ++i) {
        const uint32_t k = src_k[i];
        const uint32_t o = off[(k >> shift) & (kBuckets - 1)]++;
        dst_k[o] = k;
        dst_i[o] = src_i[i];
      }
    });
    std::swap(src_k, dst_k);
    std::swap(src_i, dst_i);
  }
  if (src_k != keys) {
    std::memcpy(keys, src_k, m * sizeof(uint32_t));
    std::memcpy(ids, src_i, m * sizeof(uint32_t));
  }
}

}  // namespace

size_t sort_and_bin(ThreadPool& pool, size_t n, const Splat* splats, const uint8_t* visible, const CameraParams& cam,
                    Workspace& ws, uint64_t* entries_out) {
  const int W = cam.width, H = cam.height;
  const int tiles_x = (W + kTile - 1) / kTile, tiles_y = (H + kTile - 1) / kTile;
  const size_t n_tiles = (size_t)tiles_x * tiles_y;

  // 1. Visible Gaussians in index order: (depth bits, index).
  const size_t cchunks = (size_t)pool.size() * 4;
  const size_t clen = (n + cchunks - 1) / cchunks;
  size_t* ccount = ws.chunk_counts.ensure(cchunks + 1);
  pool.run(cchunks, [&](size_t c) {
    size_t cnt = 0;
    const size_t b = c * clen, e = (c + 1) * clen < n ? (c + 1) * clen : n;
    for (size_t i = b; i < e; ++i) cnt += visible[i];
    ccount[c] = cnt;
  });
  size_t m = 0;
  for (size_t c = 0; c < cchunks; ++c) {
    const size_t k = ccount[c];
    ccount[c] = m;
    m += k;
  }
  uint32_t* keys = ws.keys.ensure(m + 1);
  uint32_t* ids = ws.ids.ensure(m + 1);
  pool.run(cchunks, [&](size_t c) {
    size_t o = ccount[c];
    const size_t b = c * clen, e = (c + 1) * clen < n ? (c + 1) * clen : n;
    for (size_t i = b; i < e; ++i) {
      if (!visible[i]) continue;
      keys[o] = float_to_uint_bits(splats[i].depth);
      ids[o] = (uint32_t)i;
      ++o;
    }
  });

  // 2. Depth sort.
  radix_sort(pool, m, keys, ids, ws.keys_tmp.ensure(m + 1), ws.ids_tmp.ensure(m + 1), ws);

  // 3. Gather the splats into depth order (the binning and blending then read them in order
  //    instead of jumping around an N-sized array) and enumerate each one's tiles once, in
  //    chunks of the sorted list: every chunk keeps its (tile) sequence and per-tile counts.
  Splat* sorted = ws.sorted.ensure(m + 1);
  uint32_t* ntiles = ws.ntiles.ensure(m + 1);
  const size_t bchunks = (size_t)pool.size() * 4;
  const size_t blen = (m + bchunks - 1) / bchunks;
  if (ws.chunk_tiles.size() < bchunks) ws.chunk_tiles.resize(bchunks);
  uint32_t* counts = ws.tile_counts.ensure(bchunks * n_tiles);  // [chunks, TILES]
  uint32_t* tile_start = ws.tile_start.ensure(n_tiles + 1);
  pool.run(bchunks, [&](size_t c) {
    uint32_t* cnt = counts + c * n_tiles;
    std::memset(cnt, 0, n_tiles * sizeof(uint32_t));
    GrowBuf<uint64_t>& seq = ws.chunk_tiles[c];
    seq.clear();
    const size_t b = c * blen, e = (c + 1) * blen < m ? (c + 1) * blen : m;
    for (size_t k = b; k < e; ++k) {
      if (k + 8 < e) __builtin_prefetch(&splats[ids[k + 8]]);
      const Splat& s = sorted[k] = splats[ids[k]];
      uint64_t* out = seq.reserve_more(max_tiles(s, W, H));
      uint32_t count = 0;
      for_each_tile(s, W, H, tiles_x, [&](int t, SpanRows rows) {
        out[count++] = (uint64_t)(uint32_t)t | (uint64_t)rows << 32;
        ++cnt[t];
      });
      seq.commit(count);
      ntiles[k] = count;
    }
  });

  // 4. Offsets, tile-major then chunk, so each tile's list keeps the depth order.
  uint64_t running = 0;
  for (size_t t = 0; t < n_tiles; ++t) {
    tile_start[t] = (uint32_t)running;
    for (size_t c = 0; c < bchunks; ++c) {
      const uint32_t h = counts[c * n_tiles + t];
      counts[c * n_tiles + t] = (uint32_t)running;
      running += h;
    }
    if (running > 0xffffffffull) throw std::runtime_error("too many tile entries (> 2^32)");
  }
  tile_start[n_tiles] = (uint32_t)running;

  // 5. Scatter, replaying each chunk's tile sequence.
  uint32_t* entries = ws.entries.ensure(running + 1);
  SpanRows* entry_rows = ws.entry_rows.ensure(running + 1);
  pool.run(bchunks, [&](size_t c) {
    uint32_t* off = counts + c * n_tiles;
    const uint64_t* seq = ws.chunk_tiles[c].data();
    const size_t b = c * blen, e = (c + 1) * blen < m ? (c + 1) * blen : m;
    for (size_t k = b; k < e; ++k) {
      for (uint32_t j = 0; j < ntiles[k]; ++j, ++seq) {
        const uint32_t o = off[(uint32_t)*seq]++;
        entries[o] = (uint32_t)k;
        entry_rows[o] = (SpanRows)(*seq >> 32);
      }
    }
  });
  *entries_out = running;
  return m;
}

}  // namespace splat::cpu
