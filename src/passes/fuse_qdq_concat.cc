// Concatenation and nearest-neighbour resizing on uint8/int8, for the
// feature pyramids of detection models (PP-OCRv4 det's neck upsamples three
// maps and concatenates them with a fourth before its head's int8 Conv):
//
// 1. Resize(mode nearest) -> QuantizeLinear (per tensor) becomes
//    QuantizeLinear -> Resize: nearest resizing only copies values, so
//    Q(resize(x)) = resize(Q(x)) exactly, and the resize then moves a
//    quarter of the bytes.
// 2. Concat(DequantizeLinear(q_1, s, z), ..., DequantizeLinear(q_n, s, z))
//    read only by QuantizeLinear(s, z) with the same constant scale and zero
//    point (as the quantizer writes a Concat: quant/qdq_rewrite.cc) becomes
//    Concat(q_1, ..., q_n): Q(DQ(q)) = q with equal parameters, so the
//    result is the same integers, concatenated without a float copy.
//
// Runs after fuse_qdq_inputs, so the QuantizeLinear after the Concat is the
// one whose output an int8 Conv reads directly.
#include <optional>
#include <utility>
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// A QuantizeLinear's or DequantizeLinear's constant per-tensor scale and zero point.
struct TensorQuant {
  float scale = 0;
  int32_t zero = 0;
  DataType type = DataType::kUndefined;

  bool operator==(const TensorQuant& o) const { return scale == o.scale && zero == o.zero && type == o.type; }
};

std::optional<TensorQuant> tensor_quant(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 3 || n.inputs[2] == ir::kNoValue) return std::nullopt;
  const Tensor* s = float_constant(g, n.inputs[1]);
  const Tensor* z = g.constant(n.inputs[2]);
  if (s == nullptr || z == nullptr || s->numel() != 1 || z->numel() != 1 || !(s->data<float>()[0] > 0)) {
    return std::nullopt;
  }
  TensorQuant q{s->data<float>()[0], 0, z->dtype()};
  if (z->dtype() == DataType::kUInt8) q.zero = z->data<uint8_t>()[0];
  else if (z->dtype() == DataType::kInt8) q.zero = z->data<int8_t>()[0];
  else return std::nullopt;
  return q;
}

bool nearest_resize(const ir::Node& n) {
  const ir::Attribute* mode = n.attribute("mode");
  return is_op(n, "Resize") && (mode == nullptr || mode->s == "nearest") && !n.inputs.empty() && n.outputs.size() == 1;
}

// Step 1 for the Resize at `index`; the QuantizeLinear and the Resize swap
// places in the node order, as in fuse_qdq_maxpool.cc. Returns the Resize's
// new index, or -1.
int swap_resize_with_quantize(ir::Graph& g, const std::vector<std::vector<int>>& consumers, size_t index) {
  if (!nearest_resize(g.nodes[index])) return -1;
  const int q_index = sole_consumer(g, consumers, g.nodes[index].outputs[0]);
  if (q_index < 0) return -1;
  ir::Node& q = g.nodes[static_cast<size_t>(q_index)];
  if (!is_op(q, "QuantizeLinear") || q.inputs[0] != g.nodes[index].outputs[0] || q.outputs.size() != 1 ||
      !tensor_quant(g, q)) {
    return -1;
  }
  const ir::ValueId resized = q.outputs[0];
  const ir::ValueId quantized = add_unique_value(g, g.name_of(g.nodes[index].inputs[0]) + "_quantized");
  ir::Node moved_resize = std::move(g.nodes[index]);
  ir::Node moved_q = std::move(q);
  moved_q.inputs[0] = moved_resize.inputs[0];
  moved_q.outputs[0] = quantized;
  moved_resize.inputs[0] = quantized;
  moved_resize.outputs[0] = resized;
  g.nodes[index] = std::move(moved_q);
  g.nodes[static_cast<size_t>(q_index)] = std::move(moved_resize);
  return q_index;
}

// Step 2 for the Concat `concat`.
bool concat_integers(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& concat) {
  if (!is_op(concat, "Concat") || concat.inputs.empty() || concat.outputs.size() != 1) return false;
  const int q_index = sole_consumer(g, consumers, concat.outputs[0]);
  if (q_index < 0) return false;
  ir::Node& q = g.nodes[static_cast<size_t>(q_index)];
  if (!is_op(q, "QuantizeLinear") || q.inputs[0] != concat.outputs[0] || q.outputs.size() != 1) return false;
  const auto params = tensor_quant(g, q);
  if (!params) return false;
  std::vector<ir::ValueId> quantized;
  for (ir::ValueId v : concat.inputs) {
    const int p = v == ir::kNoValue ? -1 : g.values[static_cast<size_t>(v)].producer;
    if (p < 0) return false;
    const ir::Node& dq = g.nodes[static_cast<size_t>(p)];
    if (!is_op(dq, "DequantizeLinear") || tensor_quant(g, dq) != params) return false;
    quantized.push_back(dq.inputs[0]);
  }
  concat.inputs = std::move(quantized);
  concat.outputs[0] = q.outputs[0];
  erase_node(q);
  return true;
}

}  // namespace

Expected<int> fuse_qdq_concat_pass(ir::Graph& g) {
  int rewrites = 0;
  {
    const auto consumers = consumers_of(g);
    std::vector<bool> moved_here(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (moved_here[i]) continue;
      const int to = swap_resize_with_quantize(g, consumers, i);
      if (to < 0) continue;
      moved_here[static_cast<size_t>(to)] = true;
      ++rewrites;
    }
    refresh_producers(g);
  }
  const auto consumers = consumers_of(g);
  for (ir::Node& n : g.nodes) rewrites += concat_integers(g, consumers, n) ? 1 : 0;
  drop_erased_nodes(g);
  refresh_producers(g);
  // The DequantizeLinear nodes left without readers go with remove_dead_nodes.
  return rewrites;
}

}  // namespace ecoinfer::passes
