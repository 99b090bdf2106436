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
 * Front-to-back compositing of every tile into out. sorted [M], tile_start [TILES+1],
 * entries [E], entry_rows [E], background [3]; returns the pixel x Gaussian evaluations.
 */
uint64_t blend_tiles(ThreadPool& pool, const Splat* sorted, const uint32_t* tile_start, const uint32_t* entries,
                     const SpanRows* entry_rows, const CameraParams& cam, const float* background,
                     const FrameOut& out);

/** The whole frame: deform (when d != nullptr), preprocess, sort + bin, blend. */
void render_frame(ThreadPool& pool, const SceneArrays& scene, const DeformPair* d, const CameraParams& cam,
                  const float* background, Workspace& ws, const FrameOut& out, StageTimings* timings,
                  RenderStats* stats);

}  // namespace splat::cpu
