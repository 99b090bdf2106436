// Appearance edits applied in preprocess (after the geometry, before compositing):
// opacity multiplied by a per-Gaussian factor (0 hides), colour mixed toward a tint after the
// SH evaluation (and its max(., 0)): c' = (1 - m) c + m tint, m in [0, 1].
#pragma once

#include "hd.h"

namespace splat {

/**
 * log2 of the effective opacity: log2(o) + log2(scale); scale 0 gives -inf, which the
 * 1/255 ellipse level (ellipse_level_log2) culls.
 */
SPLAT_HD inline float scaled_log2_opacity(float log2_opacity, float log2_scale) { return log2_opacity + log2_scale; }

/** rgb [3] in place; tint [4] = (r, g, b, mix). */
SPLAT_HD inline void apply_tint(float* rgb, const float* tint) {
  const float m = tint[3];
  for (int c = 0; c < 3; ++c) rgb[c] = rgb[c] + m * (tint[c] - rgb[c]);
}

}  // namespace splat
