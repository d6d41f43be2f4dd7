// A per-tensor QuantizeLinear after Reshape/Transpose (and the other pure
// data movements: Squeeze, Unsqueeze, Flatten) moves before them:
//
//   y -> Reshape -> Transpose -> QuantizeLinear(s, z) -> q
//   y -> QuantizeLinear(s, z) -> Reshape -> Transpose -> q
//
// Quantizing is elementwise with one scale and zero point, so it commutes
// with moving elements: q is the same bits. What changes is where it runs.
// In a quantized transformer's attention each projection is an int8 MatMul
// whose float32 output went through the heads' Reshape and Transpose before
// its QuantizeLinear; now the QuantizeLinear follows the MatMul (and its
// bias Add) directly, fuse_qdq_outputs makes the MatMul write uint8 itself,
// and the Transpose moves a quarter of the bytes. DistilBERT's 24 such
// standalone QuantizeLinear nodes go.
//
// Only where each moved-over node's output is read by the next node alone
// (and is not a graph output); per-axis quantization would have to follow
// the axis through the permutation, so it stays where it is.
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool moves_data_only(const ir::Node& n) {
  const bool op = is_op(n, "Reshape") || is_op(n, "Transpose") || is_op(n, "Squeeze") || is_op(n, "Unsqueeze") ||
                  is_op(n, "Flatten");
  return op && !n.inputs.empty() && n.inputs[0] != ir::kNoValue && n.outputs.size() == 1;
}

// One scale and at most one zero point, both constants.
bool per_tensor_quantize(const ir::Graph& g, const ir::Node& q) {
  if (!is_op(q, "QuantizeLinear") || q.inputs.size() < 2 || q.outputs.size() != 1) return false;
  const Tensor* scale = g.constant(q.inputs[1]);
  if (scale == nullptr || scale->numel() != 1) return false;
  if (q.inputs.size() < 3 || q.inputs[2] == ir::kNoValue) return true;
  const Tensor* zero = g.constant(q.inputs[2]);
  return zero != nullptr && zero->numel() == 1;
}

// Swaps the QuantizeLinear at q_index with the data movement that feeds it,
// when that is allowed. Both keep their places in the node list (the
// QuantizeLinear takes the earlier one), so the order stays topological.
bool hoist_once(ir::Graph& g, const std::vector<std::vector<int>>& consumers, size_t q_index) {
  ir::Node& q = g.nodes[q_index];
  if (!per_tensor_quantize(g, q)) return false;
  const ir::ValueId moved = q.inputs[0];
  const int p_index = g.values[static_cast<size_t>(moved)].producer;
  if (p_index < 0 || sole_consumer(g, consumers, moved) != static_cast<int>(q_index)) return false;
  ir::Node& p = g.nodes[static_cast<size_t>(p_index)];
  if (!moves_data_only(p)) return false;
  const ir::ValueId source = p.inputs[0];
  const ir::ValueId quantized = add_unique_value(g, g.values[static_cast<size_t>(source)].info.name + "_quantized");
  ir::Node new_q = q, new_p = p;
  new_q.inputs[0] = source;
  new_q.outputs[0] = quantized;
  new_p.inputs[0] = quantized;
  new_p.outputs[0] = q.outputs[0];
  g.nodes[static_cast<size_t>(p_index)] = std::move(new_q);
  g.nodes[q_index] = std::move(new_p);
  return true;
}

}  // namespace

Expected<int> hoist_quantize_pass(ir::Graph& g) {
  int hoisted = 0;
  for (bool changed = true; changed;) {
    changed = false;
    const auto consumers = consumers_of(g);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (!hoist_once(g, consumers, i)) continue;
      ++hoisted;
      changed = true;
      refresh_producers(g);
      break;  // consumers changed; a chain of moves takes one round each
    }
  }
  return hoisted;
}

}  // namespace ecoinfer::passes
