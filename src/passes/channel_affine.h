// Folding a per-output-channel affine map y' = y * scale[c] + shift[c] into
// the op that produced y, by rewriting its constant weights and bias. Shared
// by fold_batchnorm (BatchNormalization is such a map) and fold_scale_shift
// (a Mul/Add by a per-channel constant).
//
//   if (auto channels = foldable_channels(g, conv)) {
//     fold_channel_affine(g, conv, scale, shift);  // scale/shift: *channels entries
//   }
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"

namespace ecoinfer::passes {

// For a Conv, ConvTranspose or Gemm whose weights (and bias, if any) are
// float32 constants and that carries no fused post-ops: its number of output
// channels. nullopt otherwise.
std::optional<int64_t> foldable_channels(const ir::Graph& g, const ir::Node& producer);

// The rank of the producer's output (the weight's rank for convolutions, 2
// for Gemm); the channel axis is 1 for all of them.
int64_t producer_output_rank(const ir::Graph& g, const ir::Node& producer);

// Rewrites the producer's weights and bias as new constants (shared weights
// stay untouched) so that its output becomes y * scale[c] + shift[c]. Call
// only after foldable_channels() said yes; scale and shift have one entry
// per channel.
void fold_channel_affine(ir::Graph& g, ir::Node& producer, const std::vector<double>& scale,
                         const std::vector<double>& shift);

}  // namespace ecoinfer::passes
