// The CPU backend's stages, in call order. Each is parallel over the global thread pool.
#pragma once

#include "raster_types.h"
#include "thread_pool.h"

namespace splat::cpu {

/**
 * Deformed geometry at t: mean [N,3] = x + dx, cov [N,6] = Sigma(exp(s) + ds, normalize(r) + dr).
 * mean_out [N,3], cov_out [N,6].
 */
void deform_gaussians(ThreadPool& pool, const SceneArrays& scene, const DeformPair& d, float* mean_out,
                      float* cov_out);

/**
 * Project, colour and bound every Gaussian. splats [N] (written for visible ones only),
 * visible [N]: 1 when the Gaussian survives culling and its 1/255 box covers a pixel centre.
 */
void preprocess(ThreadPool& pool, const SceneArrays& scene, const Geometry& geo, const CameraParams& cam,
                Splat* splats, uint8_t* visible);

/**
 * Visible Gaussians sorted by depth (ties by index) and gathered into ws.sorted [M], then
 * scattered into tile bins in that order: ws.entries [E] (indices into ws.sorted),
 * ws.entry_rows [E] (rows per span column, see SpanRows) and ws.tile_start [TILES+1].
 * Returns M and sets *entries_out = E.
 */
size_t sort_and_bin(ThreadPool& pool, size_t n, const Splat* splats, const uint8_t* visible,
                    const CameraParams& cam, Workspace& ws, uint64_t* entries_out);

/**
 * Front-to-back compositing of every tile into out (out.labels written when labels != null).
 * Reads ws.sorted / tile_start / entries / entry_rows (and ws.ids with labels); m = visible
 * splats (sort_and_bin's result), background [3]. Returns the pixel x Gaussian evaluations.
 */
uint64_t blend_tiles(ThreadPool& pool, Workspace& ws, size_t m, const CameraParams& cam, const float* background,
                     const FrameOut& out, const LabelParams* labels);

/**
 * Composites only the pixels set in masks for the listed tiles (every other pixel starts
 * stopped) and writes, per tile entry, the sum over those pixels of w = T alpha into
 * ws.entry_weights [E] (at the tile's entry offsets; entries of unlisted tiles untouched).
 * tiles [count] tile indices, masks [count, 4] 256-bit pixel masks (bit p = pixel
 * (p % 16, p / 16) of the tile). tile_td, when not null: [count, 2, 256] final T (negative
 * once stopped) and depth sums per pixel. Returns the evaluations done.
 */
uint64_t composite_masked(ThreadPool& pool, Workspace& ws, const CameraParams& cam, const uint32_t* tiles,
                          const uint64_t* masks, size_t count, float* tile_td);

/**
 * Deform (when d != nullptr), preprocess, sort + bin into ws: everything a frame, a pick or a
 * region needs before compositing. Returns M (visible splats); fills the timings' first
 * three stages and stats' visible / tile_entries.
 */
size_t prepare_frame(ThreadPool& pool, const SceneArrays& scene, const DeformPair* d, const CameraParams& cam,
                     Workspace& ws, StageTimings* timings, RenderStats* stats);

/** The whole frame: prepare_frame, then blend_tiles. */
void render_frame(ThreadPool& pool, const SceneArrays& scene, const DeformPair* d, const CameraParams& cam,
                  const float* background, Workspace& ws, const FrameOut& out, const LabelParams* labels,
                  StageTimings* timings, RenderStats* stats);

}  // namespace splat::cpu
