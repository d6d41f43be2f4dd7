// The "_ecoinfer.post_ops" attribute (its contract is in pass.h) as values:
// the fusion passes write it, the oneDNN kernels read it.
//
//   add_post_op(conv, PostOp::eltwise("hardswish"));
//   add_post_op(conv, PostOp::binary("add", 3));   // input 3: the residual
//   Expected<std::vector<PostOp>> ops = read_post_ops(node);  // in a kernel
//
// Also the two attributes the channels_last_convs pass sets on Conv nodes:
// which inputs hold channels-last data (N, spatial..., C in memory, the
// logical shape staying N, C, spatial...), and whether the output is
// written that way.
#pragma once

#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

inline constexpr const char* kChannelsLastInputs = "_ecoinfer.channels_last_inputs";  // INTS: input indices
inline constexpr const char* kChannelsLastOutput = "_ecoinfer.channels_last_output";  // INT: 1 = yes
// Set by channels_last_convs on every node that reads or writes a marked
// tensor when all of them are float Convs (groups of one, 16k channels),
// MaxPools and GlobalAveragePools: the marked tensors are then laid out in
// 16-channel blocks (N, C/16, spatial..., 16), not channels-last.
inline constexpr const char* kBlocked16Layout = "_ecoinfer.blocked16";  // INT: 1 = yes
// Set by accumulate_in_place on a Conv whose binary "add" post-op reads a
// residual no later node reads: the input index, whose buffer the Conv may
// take over as its output (a oneDNN sum post-op instead of a binary add).
inline constexpr const char* kAccumulateInput = "_ecoinfer.accumulate_input";  // INT: input index

struct PostOp {
  enum class Kind { kEltwise, kBinary };
  Kind kind = Kind::kEltwise;
  // eltwise: relu clip hardsigmoid hardswish sigmoid swish tanh gelu_erf
  // gelu_tanh linear elu; binary: add sub mul div max min.
  std::string alg;
  float alpha = 0, beta = 0;  // eltwise parameters
  int input = -1;             // binary: the node's input index

  static PostOp eltwise(std::string alg, float alpha = 0, float beta = 0) {
    return {Kind::kEltwise, std::move(alg), alpha, beta, -1};
  }
  static PostOp binary(std::string alg, int input) { return {Kind::kBinary, std::move(alg), 0, 0, input}; }

  bool operator==(const PostOp&) const = default;
};

// "eltwise:clip:0:6" / "binary:add:3". Floats are written with 9 significant
// digits, so they read back bit for bit.
std::string format_post_op(const PostOp& op);
// Checks the syntax, the algorithm name and that a binary input index is
// one of the node's inputs (`input_count`).
Expected<PostOp> parse_post_op(const std::string& text, size_t input_count);

// oneDNN 2.6 gives every element-wise algorithm one (alpha, beta) per chain
// in its JIT kernels (its post-op injector keeps one injector per
// algorithm): a second linear or clip with other parameters silently
// reuses the first one's. The kernels rewrite such a repeat as binary
// post-ops by scalars (linear, clip, relu with alpha 0); a repeat of swish,
// elu or leaky relu with another alpha has no such rewrite. False for a
// chain with one of those, so the passes do not build it.
bool fits_onednn_chain(const std::vector<PostOp>& ops);

// The node's post-ops, in order; empty without the attribute.
Expected<std::vector<PostOp>> read_post_ops(const ir::Node& node);
// Appends one entry to the node's attribute (creating it).
void add_post_op(ir::Node& node, const PostOp& op);
bool has_post_ops(const ir::Node& node);

// The input indices listed in kChannelsLastInputs, and the output flag.
std::vector<int64_t> channels_last_inputs(const ir::Node& node);
bool channels_last_output(const ir::Node& node);
// Whether the node's marked tensors are 16-channel blocks (kBlocked16Layout).
bool blocked16_layout(const ir::Node& node);

}  // namespace ecoinfer::passes
