// Marks the tensors that flow only between convolutions to stay
// channels-last (N, spatial..., C) in memory: the Conv that writes one gets
// kChannelsLastOutput, the Convs that read it (as X or as a fused residual)
// list it in kChannelsLastInputs (passes/post_ops.h). oneDNN's fast direct
// convolutions take channels-last data, and without the marks every Conv
// reorders its plain NCHW input in and its output back out
// (src/kernels/cpu/conv.cc); with them a chain of convolutions reorders
// once at each end.
//
// A tensor qualifies when a Conv writes it, it is not a graph output, and
// every reader is a Conv that reads it as X or as a binary post-op operand
// (never as weights or bias). Runs last: no later pass may add a reader.
#include <algorithm>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"

namespace ecoinfer::passes {
namespace {

// The input indices at which `reader` (a Conv) reads `v` in a layout-neutral
// role; empty when it reads it as weights or bias, or is no Conv.
std::vector<int64_t> data_uses(const ir::Node& reader, ir::ValueId v) {
  if (!is_op(reader, "Conv")) return {};
  Expected<std::vector<PostOp>> ops = read_post_ops(reader);
  if (!ops) return {};
  std::vector<int64_t> uses;
  for (size_t k = 0; k < reader.inputs.size(); ++k) {
    if (reader.inputs[k] != v) continue;
    const bool operand = std::any_of(ops->begin(), ops->end(), [&](const PostOp& op) {
      return op.kind == PostOp::Kind::kBinary && op.input == static_cast<int>(k);
    });
    if (k != 0 && !operand) return {};
    uses.push_back(static_cast<int64_t>(k));
  }
  return uses;
}

}  // namespace

Expected<int> channels_last_convs_pass(ir::Graph& g) {
  const std::vector<std::vector<int>> consumers = consumers_of(g);
  int marked = 0;
  for (ir::Node& producer : g.nodes) {
    if (!is_op(producer, "Conv") || producer.outputs.size() != 1 || producer.outputs[0] == ir::kNoValue) continue;
    const ir::ValueId v = producer.outputs[0];
    const auto& readers = consumers[static_cast<size_t>(v)];
    if (readers.empty() || is_graph_output(g, v)) continue;
    std::vector<std::vector<int64_t>> uses;
    for (int r : readers) {
      uses.push_back(data_uses(g.nodes[static_cast<size_t>(r)], v));
      if (uses.back().empty()) break;
    }
    if (uses.back().empty()) continue;
    ir::Attribute flag;
    flag.kind = ir::Attribute::Kind::kInt;
    flag.i = 1;
    producer.attributes[kChannelsLastOutput] = flag;
    for (size_t k = 0; k < readers.size(); ++k) {
      ir::Attribute& list = g.nodes[static_cast<size_t>(readers[k])].attributes[kChannelsLastInputs];
      list.kind = ir::Attribute::Kind::kInts;
      list.ints.insert(list.ints.end(), uses[k].begin(), uses[k].end());
      std::sort(list.ints.begin(), list.ints.end());
    }
    ++marked;
  }
  return marked;
}

}  // namespace ecoinfer::passes
