// Attention's softmax takes in the glue around it:
//
//   p = Softmax(Add(scores, mask))            p = Softmax(scores, mask)
//   [q = QuantizeLinear(p, s, z)]       ->    [writing q: uint8/int8]
//
// The Add (the attention mask's -10000 on padded positions, broadcast from
// [batch, 1, 1, seq]) becomes kSoftmaxBiasAttribute with the mask as input
// 1, added row by row as the softmax reads its input; a per-tensor
// QuantizeLinear after it (a QDQ model's scores x V product reads the
// probabilities as uint8) becomes kQuantOutputAttribute. Each saves a pass
// over the [batch, heads, seq, seq] scores (the largest tensor of a
// transformer layer at seq 128). The kernel (src/kernels/ref/normalize.cc)
// broadcasts like Add whatever the shapes, so no shape needs proving.
//
// Only a Softmax of opset 13+ over axis -1 (the rows the kernel walks),
// with each absorbed node's input read by it alone and not a graph output.
#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool last_axis_softmax(const ir::Node& n) {
  if (!is_op(n, "Softmax") || n.opset < 13 || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  if (n.attribute(kQuantOutputAttribute) != nullptr || n.attribute(kSoftmaxBiasAttribute) != nullptr) return false;
  const ir::Attribute* axis = n.attribute("axis");
  return axis == nullptr || (axis->kind == ir::Attribute::Kind::kInt && axis->i == -1);
}

bool fuse_mask(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& softmax, size_t index) {
  const ir::ValueId sum = softmax.inputs[0];
  const int a = g.values[static_cast<size_t>(sum)].producer;
  if (a < 0 || sole_consumer(g, consumers, sum) != static_cast<int>(index)) return false;
  ir::Node& add = g.nodes[static_cast<size_t>(a)];
  if (!is_op(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
  if (add.inputs[0] == ir::kNoValue || add.inputs[1] == ir::kNoValue) return false;
  // The scores first: the kernel's fast path reads the other operand as
  // rows to add. The mask is usually input 1; a constant is never the scores.
  const bool swap = g.constant(add.inputs[0]) != nullptr && g.constant(add.inputs[1]) == nullptr;
  softmax.inputs = {add.inputs[swap ? 1 : 0], add.inputs[swap ? 0 : 1]};
  ir::Attribute flag;
  flag.kind = ir::Attribute::Kind::kInt;
  flag.i = 1;
  softmax.attributes[kSoftmaxBiasAttribute] = flag;
  erase_node(add);
  return true;
}

bool fuse_quantize(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& softmax) {
  const int qi = sole_consumer(g, consumers, softmax.outputs[0]);
  if (qi < 0) return false;
  ir::Node& q = g.nodes[static_cast<size_t>(qi)];
  if (!is_op(q, "QuantizeLinear") || q.inputs.size() < 2 || q.inputs[0] != softmax.outputs[0] ||
      q.outputs.size() != 1) {
    return false;
  }
  const Tensor* scale = float_constant(g, q.inputs[1]);
  if (scale == nullptr || scale->numel() != 1 || !(scale->data<float>()[0] > 0)) return false;
  float zero = 0;
  DataType type = DataType::kUInt8;
  if (q.inputs.size() > 2 && q.inputs[2] != ir::kNoValue) {
    const Tensor* z = g.constant(q.inputs[2]);
    if (z == nullptr || z->numel() != 1) return false;
    type = z->dtype();
    if (type == DataType::kUInt8) zero = z->data<uint8_t>()[0];
    else if (type == DataType::kInt8) zero = z->data<int8_t>()[0];
    else return false;
  }
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloats;
  a.floats = {scale->data<float>()[0], zero, static_cast<float>(static_cast<int32_t>(type))};
  softmax.attributes[kQuantOutputAttribute] = a;
  softmax.outputs[0] = q.outputs[0];
  erase_node(q);
  return true;
}

}  // namespace

Expected<int> fuse_attention_softmax_pass(ir::Graph& g) {
  const auto consumers = consumers_of(g);
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!last_axis_softmax(n)) continue;
    // The QuantizeLinear first: fuse_mask changes the node's inputs, not
    // what reads its output.
    fused += fuse_quantize(g, consumers, n) ? 1 : 0;
    fused += fuse_mask(g, consumers, n, i) ? 1 : 0;
  }
  drop_erased_nodes(g);
  refresh_producers(g);
  return fused;
}

}  // namespace ecoinfer::passes
