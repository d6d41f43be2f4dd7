// What fuse_conv_activation and fuse_conv_residual share: which nodes can
// take post-ops, the patterns that follow them, and the rewrite that moves
// a matched pattern into the producer as "_ecoinfer.post_ops" entries
// (passes/pass.h).
//
//   for each producer p: while (auto m = match_activation(g, consumers, p)) apply(g, p, *m);
//
// Every pattern's intermediate values must be read only inside the pattern
// and must not be graph outputs; its final value becomes the producer's
// output, so it keeps its name.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "passes/post_ops.h"

namespace ecoinfer::passes {

using Consumers = std::vector<std::vector<int>>;

// The most post-op entries one node gets (oneDNN allows 32 primitive
// post-ops; hardsigmoid takes two).
inline constexpr size_t kMaxPostOps = 12;

// Conv, ConvTranspose, MatMul or Gemm in the default domain with at least
// its two inputs and one output.
bool takes_post_ops(const ir::Node& n);

struct PostOpMatch {
  std::vector<PostOp> ops;           // binary entries' `input` indexes `operands`
  std::vector<ir::ValueId> operands;  // values the binary entries read
  std::vector<int> nodes;             // the matched nodes, the last one writing `output`
  ir::ValueId output = ir::kNoValue;
};

// An activation (or an affine map by constants) reading producer p's
// output: Relu, LeakyRelu, Clip, HardSigmoid, Sigmoid, Tanh, Elu, Gelu,
// HardSwish (also x * HardSigmoid(x) and x * Clip(x + 3, 0, 6) / 6),
// Swish (x * Sigmoid(x), x * Sigmoid(k * x)), Neg, Max/Min by a scalar,
// Mul/Add/Sub/Div by a scalar or by a per-channel constant.
std::optional<PostOpMatch> match_activation(const ir::Graph& g, const Consumers& consumers, const ir::Node& p);

// Rewrites: appends the match's post-ops to nodes[p] (binary operands as new
// inputs), makes it write the match's output, and moves it to the place of
// the match's last node (so the operands exist when it runs); the matched
// nodes are erased (erase_node; drop_erased_nodes() at the end of the
// pass). Returns the producer's new index.
size_t apply_match(ir::Graph& g, size_t p, const PostOpMatch& m);

// True when the match's entries can join the node's: at most kMaxPostOps
// in all, and a chain oneDNN 2.6 runs right (fits_onednn_chain).
bool can_append(const ir::Node& n, const PostOpMatch& m);

}  // namespace ecoinfer::passes
