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
// One op may sit between: a 2-D MaxPool of an int8 Conv's uint8/int8 output
// (a quantized ResNet's stem) whose own readers all qualify; it then pools
// channels-last too (kernels/ref/pool.cc), one vector of channels per pixel.
#include <algorithm>
#include <utility>
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
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

// Readers of `v` and the input indices at which each reads it, when every
// reader is a Conv reading it in a layout-neutral role; empty otherwise.
std::vector<std::pair<int, std::vector<int64_t>>> conv_uses(const ir::Graph& g,
                                                             const std::vector<std::vector<int>>& consumers,
                                                             ir::ValueId v) {
  std::vector<std::pair<int, std::vector<int64_t>>> uses;
  if (consumers[static_cast<size_t>(v)].empty() || is_graph_output(g, v)) return {};
  for (int r : consumers[static_cast<size_t>(v)]) {
    std::vector<int64_t> k = data_uses(g.nodes[static_cast<size_t>(r)], v);
    if (k.empty()) return {};
    uses.emplace_back(r, std::move(k));
  }
  return uses;
}

// A 2-D MaxPool (no Indices) reading v alone as its input.
bool channels_last_pool(const ir::Graph& g, int index, ir::ValueId v) {
  const ir::Node& n = g.nodes[static_cast<size_t>(index)];
  const ir::Attribute* kernel = n.attribute("kernel_shape");
  return is_op(n, "MaxPool") && n.inputs.size() == 1 && n.inputs[0] == v && !n.outputs.empty() &&
         n.outputs[0] != ir::kNoValue && (n.outputs.size() == 1 || n.outputs[1] == ir::kNoValue) &&
         kernel != nullptr && kernel->ints.size() == 2;
}

void mark_inputs(ir::Node& reader, const std::vector<int64_t>& uses) {
  ir::Attribute& list = reader.attributes[kChannelsLastInputs];
  list.kind = ir::Attribute::Kind::kInts;
  list.ints.insert(list.ints.end(), uses.begin(), uses.end());
  std::sort(list.ints.begin(), list.ints.end());
}

void mark_output(ir::Node& producer) {
  ir::Attribute flag;
  flag.kind = ir::Attribute::Kind::kInt;
  flag.i = 1;
  producer.attributes[kChannelsLastOutput] = flag;
}

// An int8 Conv -> MaxPool -> Convs chain: marks it and returns true.
bool mark_through_pool(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& producer) {
  const ir::ValueId v = producer.outputs[0];
  const auto& readers = consumers[static_cast<size_t>(v)];
  if (producer.attribute(kQuantOutputAttribute) == nullptr || readers.size() != 1 || is_graph_output(g, v) ||
      !channels_last_pool(g, readers[0], v)) {
    return false;
  }
  ir::Node& pool = g.nodes[static_cast<size_t>(readers[0])];
  const auto uses = conv_uses(g, consumers, pool.outputs[0]);
  if (uses.empty()) return false;
  mark_output(producer);
  mark_inputs(pool, {0});
  mark_output(pool);
  for (const auto& [r, k] : uses) mark_inputs(g.nodes[static_cast<size_t>(r)], k);
  return true;
}

}  // namespace

Expected<int> channels_last_convs_pass(ir::Graph& g) {
  const std::vector<std::vector<int>> consumers = consumers_of(g);
  int marked = 0;
  for (ir::Node& producer : g.nodes) {
    if (!is_op(producer, "Conv") || producer.outputs.size() != 1 || producer.outputs[0] == ir::kNoValue) continue;
    const ir::ValueId v = producer.outputs[0];
    const auto& readers = consumers[static_cast<size_t>(v)];
    if (mark_through_pool(g, consumers, producer)) {
      ++marked;
      continue;
    }
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
