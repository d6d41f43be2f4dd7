// MaxPool -> QuantizeLinear becomes QuantizeLinear -> MaxPool, the pool then
// running on uint8/int8: quantization with a positive scale never reverses
// an order, so Q(max(x)) = max(Q(x)) exactly (MaxPool skips its padding
// rather than reading a value there). A quantized ResNet's stem
// (int8 Conv -> Relu -> MaxPool -> Q) then writes uint8 from the Conv
// itself (fuse_qdq_outputs, after this pass) and pools a quarter of the
// bytes.
//
// Only where the MaxPool's output is read by the QuantizeLinear alone and
// its Indices output is unused; the scales must be positive constants.
#include <utility>
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool positive_constant_scales(const ir::Graph& g, const ir::Node& q) {
  const Tensor* s = q.inputs.size() >= 2 ? float_constant(g, q.inputs[1]) : nullptr;
  if (s == nullptr || s->numel() == 0) return false;
  for (int64_t i = 0; i < s->numel(); ++i) {
    if (!(s->data<float>()[i] > 0)) return false;
  }
  return true;
}

// Returns the MaxPool's new index, or -1 when nothing moved.
int swap_with_quantize(ir::Graph& g, const std::vector<std::vector<int>>& consumers, size_t index) {
  const ir::Node& pool = g.nodes[index];
  if (!is_op(pool, "MaxPool") || pool.inputs.size() != 1 || pool.outputs.empty()) return -1;
  if (pool.outputs.size() > 1 && pool.outputs[1] != ir::kNoValue) return -1;
  const int q_index = sole_consumer(g, consumers, pool.outputs[0]);
  if (q_index < 0) return -1;
  ir::Node& q = g.nodes[static_cast<size_t>(q_index)];
  if (!is_op(q, "QuantizeLinear") || q.inputs[0] != pool.outputs[0] || q.outputs.size() != 1 ||
      !positive_constant_scales(g, q)) {
    return -1;
  }
  // x -> Q -> x_q -> MaxPool -> (Q's old output); Q takes the MaxPool's
  // place in the order and the MaxPool the Q's, so every reader still
  // comes after its producer.
  const ir::ValueId pooled = q.outputs[0];
  const ir::ValueId quantized = add_unique_value(g, g.name_of(pool.inputs[0]) + "_quantized");
  ir::Node moved_pool = std::move(g.nodes[index]);
  ir::Node moved_q = std::move(q);
  moved_q.inputs[0] = moved_pool.inputs[0];
  moved_q.outputs[0] = quantized;
  moved_pool.inputs[0] = quantized;
  moved_pool.outputs.resize(1);
  moved_pool.outputs[0] = pooled;
  g.nodes[index] = std::move(moved_q);
  g.nodes[static_cast<size_t>(q_index)] = std::move(moved_pool);
  return q_index;
}

}  // namespace

Expected<int> fuse_qdq_maxpool_pass(ir::Graph& g) {
  // A swap changes the readers of the two values it touches only; a
  // MaxPool already moved is not looked at again.
  const auto consumers = consumers_of(g);
  std::vector<bool> moved_here(g.nodes.size(), false);
  int moved = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (moved_here[i]) continue;
    const int to = swap_with_quantize(g, consumers, i);
    if (to < 0) continue;
    moved_here[static_cast<size_t>(to)] = true;
    ++moved;
  }
  refresh_producers(g);
  return moved;
}

}  // namespace ecoinfer::passes
