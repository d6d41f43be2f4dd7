// QOperator-format models (what onnxruntime.quantization writes with
// QuantFormat.QOperator, and what ONNX Runtime saves after fusing a QDQ
// model) state their int8 ops as single nodes:
//
//   QLinearConv(x, s_x, z_x, W, s_w, z_w, s_y, z_y, B)
//   QLinearMatMul(a, s_a, z_a, b, s_b, z_b, s_y, z_y)
//
// This pass rewrites each one into the QDQ form that means the same
//
//   DequantizeLinear(x) , DequantizeLinear(W) , DequantizeLinear(B, s_x*s_w)
//     -> Conv / MatMul -> QuantizeLinear(s_y, z_y)
//
// so that fuse_qdq_inputs / fuse_qdq_matmul / fuse_qdq_outputs, which run
// after it, turn it back into one int8 oneDNN primitive (the reference
// QLinearConv kernel is scalar and 10-100x slower). The two forms agree up
// to the rounding of the float32 rescale: ONNX defines QLinearConv as
// round(acc * s_x * s_w / s_y), the fused primitive computes the same
// product in float32 in another order, so a value on a rounding tie may
// land one step away.
//
// It rewrites only what those fusions take: per-tensor uint8/int8
// activations with constant scale and zero point, constant symmetric int8
// weights (one scale, or one per output channel / column), a constant
// int32 bias. Anything else (uint8 or asymmetric weights, runtime scales)
// stays a QLinear node on the reference kernel, so no result changes.
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/node_expansion.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool is_int8_type(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

// A constant positive scalar scale and a constant uint8/int8 scalar zero point.
bool per_tensor_quantization(const ir::Graph& g, ir::ValueId scale, ir::ValueId zero) {
  const Tensor* s = float_constant(g, scale);
  const Tensor* z = zero == ir::kNoValue ? nullptr : g.constant(zero);
  return s != nullptr && s->numel() == 1 && s->data<float>()[0] > 0 && z != nullptr && z->numel() == 1 &&
         is_int8_type(z->dtype());
}

bool all_zero_int8(const Tensor* t) {
  if (t == nullptr || t->dtype() != DataType::kInt8) return false;
  for (int64_t i = 0; i < t->numel(); ++i) {
    if (t->data<int8_t>()[i] != 0) return false;
  }
  return true;
}

// Constant symmetric int8 weights whose scale has 1 or `channels` entries.
const Tensor* symmetric_weight_scale(const ir::Graph& g, ir::ValueId weights, ir::ValueId scale, ir::ValueId zero,
                                     int64_t channels) {
  const Tensor* s = float_constant(g, scale);
  if (s == nullptr || (s->numel() != 1 && s->numel() != channels)) return nullptr;
  if (zero != ir::kNoValue && !all_zero_int8(g.constant(zero))) return nullptr;
  const Tensor* w = g.constant(weights);
  return w != nullptr && w->dtype() == DataType::kInt8 ? s : nullptr;
}

using Attributes = std::map<std::string, ir::Attribute>;

Attributes axis_attribute(int64_t axis) { return {{"axis", int_attribute(axis)}}; }

std::vector<ir::Node> expand_qlinear_conv(ir::Graph& g, const ir::Node& n) {
  const std::vector<ir::ValueId>& in = n.inputs;
  if (in.size() < 8 || n.outputs.size() != 1) return {};
  if (!per_tensor_quantization(g, in[1], in[2]) || !per_tensor_quantization(g, in[6], in[7])) return {};
  const Tensor* w = g.constant(in[3]);
  if (w == nullptr || w->rank() < 3) return {};
  const int64_t channels = w->dim(0);
  const Tensor* s_w = symmetric_weight_scale(g, in[3], in[4], in[5], channels);
  if (s_w == nullptr) return {};
  const bool per_channel = s_w->numel() != 1;
  const bool has_bias = in.size() > 8 && in[8] != ir::kNoValue;
  const Tensor* bias = has_bias ? g.constant(in[8]) : nullptr;
  if (has_bias && (bias == nullptr || bias->dtype() != DataType::kInt32 || bias->numel() != channels)) return {};

  NodeExpansion e(g, n);
  const ir::ValueId x = e.add("DequantizeLinear", {in[0], in[1], in[2]});
  // The weights' zero point is all zero: left out, DequantizeLinear's default.
  std::vector<ir::ValueId> conv_inputs = {x, e.add("DequantizeLinear", {in[3], in[4]},
                                                   per_channel ? axis_attribute(0) : Attributes{})};
  if (has_bias) {
    // B is in accumulator units: real bias = B * s_x * s_w[m].
    const float s_x = float_constant(g, in[1])->data<float>()[0];
    std::vector<float> bias_scale(static_cast<size_t>(s_w->numel()));
    for (size_t m = 0; m < bias_scale.size(); ++m) bias_scale[m] = s_x * s_w->data<float>()[m];
    const Shape shape = per_channel ? Shape{channels} : Shape{};
    const ir::ValueId scale = e.add_float_constant("bias_scale", shape, std::move(bias_scale));
    conv_inputs.push_back(e.add("DequantizeLinear", {in[8], scale}, per_channel ? axis_attribute(0)
                                                                                 : Attributes{}));
  }
  const ir::ValueId y = e.add("Conv", std::move(conv_inputs), n.attributes);
  e.add("QuantizeLinear", {y, in[6], in[7]}, {}, n.outputs[0]);
  return std::move(e.nodes);
}

std::vector<ir::Node> expand_qlinear_matmul(ir::Graph& g, const ir::Node& n) {
  const std::vector<ir::ValueId>& in = n.inputs;
  if (in.size() != 8 || n.outputs.size() != 1) return {};
  if (!per_tensor_quantization(g, in[1], in[2]) || !per_tensor_quantization(g, in[6], in[7])) return {};
  Attributes b_attributes;
  std::vector<ir::ValueId> b_inputs = {in[3], in[4], in[5]};
  if (const Tensor* b = g.constant(in[3]); b != nullptr) {
    // Constant weights [K, N]: symmetric int8, per tensor or per column.
    if (b->rank() != 2) return {};
    const Tensor* s_b = symmetric_weight_scale(g, in[3], in[4], in[5], b->dim(1));
    if (s_b == nullptr) return {};
    b_inputs.pop_back();
    if (s_b->numel() != 1) b_attributes = axis_attribute(1);
  } else if (!per_tensor_quantization(g, in[4], in[5])) {
    return {};  // activation x activation: per tensor only
  }
  NodeExpansion e(g, n);
  const ir::ValueId a = e.add("DequantizeLinear", {in[0], in[1], in[2]});
  const ir::ValueId b = e.add("DequantizeLinear", std::move(b_inputs), std::move(b_attributes));
  const ir::ValueId y = e.add("MatMul", {a, b});
  e.add("QuantizeLinear", {y, in[6], in[7]}, {}, n.outputs[0]);
  return std::move(e.nodes);
}

}  // namespace

Expected<int> expand_qlinear_pass(ir::Graph& g) {
  const int expanded = expand_nodes(g, [&g](const ir::Node& n) -> std::vector<ir::Node> {
    if (is_op(n, "QLinearConv")) return expand_qlinear_conv(g, n);
    if (is_op(n, "QLinearMatMul")) return expand_qlinear_matmul(g, n);
    return {};
  });
  refresh_producers(g);
  return expanded;
}

}  // namespace ecoinfer::passes
