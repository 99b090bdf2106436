// Label masks (DESIGN.md §1): a pixel's weight for label k is W_k = sum over the Gaussians of
// label k of w_i = T_i alpha_i; its label is the k with the largest W_k among those with
// W_k >= threshold, ties to the lower label id, else 0. Label 0 means "no label".
#pragma once

#include "hd.h"

namespace splat {

constexpr int kMaxLabel = 255;

/**
 * Folds label `k` with weight `w` into a pixel's running choice (best_label, best_w).
 * Visiting labels in ascending id with a strict comparison gives ties to the lower id.
 * Start from best_label = 0, best_w = 0.
 */
SPLAT_HD inline void label_fold(int k, float w, float threshold, int* best_label, float* best_w) {
  const bool take = w >= threshold && (*best_label == 0 || w > *best_w);
  *best_label = take ? k : *best_label;
  *best_w = take ? w : *best_w;
}

}  // namespace splat
