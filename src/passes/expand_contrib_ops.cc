// ONNX Runtime's contrib ops (domain "com.microsoft") that its own graph
// optimizer writes into the models it saves (session option
// optimizedModelFilePath, level "extended"): each is rewritten into the
// default-domain ops that define it, which ecoinfer runs and fuses.
//
//   FusedConv(X, W, B, Z) {activation}  -> Conv -> [Add(Z)] -> activation
//   MatMulIntegerToFloat(A, B, s_a, s_b, z_a, z_b, bias)
//                                       -> DequantizeLinear x2 -> MatMul -> [Add(bias)]
//   QGemm(A, s_a, z_a, B, s_b, z_b, C, s_y, z_y) {alpha, transA, transB}
//                                       -> DequantizeLinear x2 -> Gemm(C real) -> [QuantizeLinear]
//   QuickGelu(X) {alpha}                -> X * Sigmoid(alpha * X)
//   QLinearConcat(s_y, z_y, (X, s, z)...) {axis}
//                                       -> DequantizeLinear each -> Concat -> QuantizeLinear
//   QLinearAdd / QLinearMul(A, s_a, z_a, B, s_b, z_b, s_c, z_c)
//                                       -> DequantizeLinear x2 -> Add / Mul -> QuantizeLinear
//   QLinearSigmoid / QLinearLeakyRelu(X, s_x, z_x, s_y, z_y) {alpha}
//   QLinearGlobalAveragePool(X, s_x, z_x, s_y, z_y) {channels_last = 0}
//                                       -> DequantizeLinear -> op -> QuantizeLinear
// (the QLinear ones: ORT computes them in float and rounds once, as the
// expansion does; detint8's fuse_qdq_concat makes such a Concat uint8 again)
//
// Unlike the optimization passes this one always runs (Session::load, also
// under --no-optimize): there is no kernel for these ops, the expansion is
// how they run at all. The fusions then make the quantized ones int8 oneDNN
// primitives as for a QDQ file. A form it does not know (another
// activation, a runtime scale where a constant is needed) stays, and the
// session reports the op as unsupported.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/node_expansion.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";
using Attributes = std::map<std::string, ir::Attribute>;

bool is_contrib(const ir::Node& n, const char* op_type) {
  return n.domain == kMicrosoftDomain && n.op_type == op_type;
}

ir::ValueId input_or_none(const ir::Node& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : ir::kNoValue; }

// FusedConv's activation after `y`, writing `out`; false for an activation
// it does not know.
bool add_activation(NodeExpansion& e, const ir::Node& n, ir::ValueId y, ir::ValueId out, int opset) {
  const ir::Attribute* act = n.attribute("activation");
  const ir::Attribute* params = n.attribute("activation_params");
  const std::vector<float> p = params != nullptr ? params->floats : std::vector<float>{};
  const std::string name = act != nullptr ? act->s : "";
  if (name.empty() || name == "Identity") {
    e.add("Identity", {y}, {}, out);
  } else if (name == "Relu" || name == "Sigmoid" || name == "Tanh") {
    e.add(name, {y}, {}, out);
  } else if (name == "LeakyRelu" && p.size() == 1) {
    e.add(name, {y}, {{"alpha", float_attribute(p[0])}}, out);
  } else if (name == "HardSigmoid" && p.size() == 2) {
    e.add(name, {y}, {{"alpha", float_attribute(p[0])}, {"beta", float_attribute(p[1])}}, out);
  } else if (name == "Clip" && p.size() == 2 && opset < 11) {
    e.add("Clip", {y}, {{"min", float_attribute(p[0])}, {"max", float_attribute(p[1])}}, out);
  } else if (name == "Clip" && p.size() == 2) {  // opset 11 made min and max inputs
    const ir::ValueId lo = e.add_float_constant("clip_min", {}, {p[0]});
    const ir::ValueId hi = e.add_float_constant("clip_max", {}, {p[1]});
    e.add("Clip", {y, lo, hi}, {}, out);
  } else {
    return false;
  }
  return true;
}

std::vector<ir::Node> expand_fused_conv(ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 2 || n.outputs.size() != 1) return {};
  Attributes conv_attributes = n.attributes;
  conv_attributes.erase("activation");
  conv_attributes.erase("activation_params");
  NodeExpansion e(g, n);
  std::vector<ir::ValueId> conv_inputs(n.inputs.begin(), n.inputs.begin() + std::min<size_t>(3, n.inputs.size()));
  ir::ValueId y = e.add("Conv", std::move(conv_inputs), std::move(conv_attributes));
  if (const ir::ValueId z = input_or_none(n, 3); z != ir::kNoValue) y = e.add("Add", {y, z});
  if (!add_activation(e, n, y, n.outputs[0], default_opset(g))) return {};
  return std::move(e.nodes);
}

// A scale that is one number per tensor: a constant of one element, or
// DynamicQuantizeLinear's runtime scale.
bool per_tensor_scale(const ir::Graph& g, ir::ValueId s) {
  if (const Tensor* c = float_constant(g, s)) return c->numel() == 1;
  const int p = s == ir::kNoValue ? -1 : g.values[static_cast<size_t>(s)].producer;
  return p >= 0 && is_op(g.nodes[static_cast<size_t>(p)], "DynamicQuantizeLinear");
}

// DequantizeLinear of the right-hand operand [.., K, N]: per tensor, or per
// column (the last axis) with a constant scale of N entries.
ir::ValueId dequantize_columns(NodeExpansion& e, const ir::Graph& g, ir::ValueId b, ir::ValueId scale,
                               ir::ValueId zero, int64_t column_axis) {
  const Tensor* s = float_constant(g, scale);
  if (s == nullptr && !per_tensor_scale(g, scale)) return ir::kNoValue;
  Attributes attributes;
  if (s != nullptr && s->numel() != 1) attributes["axis"] = int_attribute(column_axis);
  std::vector<ir::ValueId> inputs = {b, scale};
  if (zero != ir::kNoValue) inputs.push_back(zero);
  return e.add("DequantizeLinear", std::move(inputs), std::move(attributes));
}

std::vector<ir::Node> expand_matmul_integer_to_float(ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 4 || n.outputs.size() != 1 || !per_tensor_scale(g, n.inputs[2])) return {};
  NodeExpansion e(g, n);
  std::vector<ir::ValueId> a_inputs = {n.inputs[0], n.inputs[2]};
  if (input_or_none(n, 4) != ir::kNoValue) a_inputs.push_back(n.inputs[4]);
  const ir::ValueId a = e.add("DequantizeLinear", std::move(a_inputs));
  const ir::ValueId b = dequantize_columns(e, g, n.inputs[1], n.inputs[3], input_or_none(n, 5), -1);
  if (b == ir::kNoValue) return {};
  const ir::ValueId bias = input_or_none(n, 6);
  const ir::ValueId y = e.add("MatMul", {a, b}, {}, bias == ir::kNoValue ? n.outputs[0] : ir::kNoValue);
  if (bias != ir::kNoValue) e.add("Add", {y, bias}, {}, n.outputs[0]);
  return std::move(e.nodes);
}

// QGemm's C in real units: C * alpha * s_a * s_b[n] for a C of one row (or
// a scalar) and constant scales.
std::optional<Tensor> qgemm_bias(const ir::Graph& g, const ir::Node& n, float alpha, int64_t columns) {
  const Tensor* c = g.constant(n.inputs[6]);
  const Tensor* s_a = float_constant(g, n.inputs[1]);
  const Tensor* s_b = float_constant(g, n.inputs[4]);
  if (c == nullptr || c->dtype() != DataType::kInt32 || s_a == nullptr || s_a->numel() != 1 || s_b == nullptr) {
    return std::nullopt;
  }
  if (s_b->numel() != 1 && c->numel() != columns) return std::nullopt;
  Tensor real = Tensor::zeros(DataType::kFloat32, c->shape());
  for (int64_t i = 0; i < c->numel(); ++i) {
    const float s = s_b->data<float>()[s_b->numel() == 1 ? 0 : i];
    real.data<float>()[i] = static_cast<float>(c->data<int32_t>()[i]) * alpha * s_a->data<float>()[0] * s;
  }
  return real;
}

std::vector<ir::Node> expand_qgemm(ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 6 || n.outputs.size() != 1 || !per_tensor_scale(g, n.inputs[1])) return {};
  const ir::Attribute* alpha_attr = n.attribute("alpha");
  const ir::Attribute* trans_b = n.attribute("transB");
  const float alpha = alpha_attr != nullptr ? alpha_attr->f : 1.0f;
  const bool transposed = trans_b != nullptr && trans_b->i != 0;
  const Tensor* b_values = g.constant(n.inputs[3]);
  NodeExpansion e(g, n);
  const ir::ValueId a = e.add("DequantizeLinear", {n.inputs[0], n.inputs[1], n.inputs[2]});
  const ir::ValueId b = dequantize_columns(e, g, n.inputs[3], n.inputs[4], n.inputs[5], transposed ? 0 : 1);
  if (b == ir::kNoValue) return {};
  std::vector<ir::ValueId> gemm_inputs = {a, b};
  if (input_or_none(n, 6) != ir::kNoValue) {
    if (b_values == nullptr || b_values->rank() != 2) return {};
    auto real = qgemm_bias(g, n, alpha, b_values->dim(transposed ? 0 : 1));
    if (!real) return {};
    gemm_inputs.push_back(add_constant(g, n.name + "_bias", std::move(*real)));
  }
  Attributes gemm_attributes = n.attributes;
  const ir::ValueId y_scale = input_or_none(n, 7);
  const ir::ValueId y = e.add("Gemm", std::move(gemm_inputs), std::move(gemm_attributes),
                              y_scale == ir::kNoValue ? n.outputs[0] : ir::kNoValue);
  if (y_scale != ir::kNoValue) e.add("QuantizeLinear", {y, y_scale, input_or_none(n, 8)}, {}, n.outputs[0]);
  return std::move(e.nodes);
}

std::vector<ir::Node> expand_quick_gelu(ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() != 1 || n.outputs.size() != 1) return {};
  const ir::Attribute* alpha = n.attribute("alpha");
  NodeExpansion e(g, n);
  const ir::ValueId a = e.add_float_constant("alpha", {}, {alpha != nullptr ? alpha->f : 1.702f});
  const ir::ValueId gate = e.add("Sigmoid", {e.add("Mul", {n.inputs[0], a})});
  e.add("Mul", {n.inputs[0], gate}, {}, n.outputs[0]);
  return std::move(e.nodes);
}

// DequantizeLinear(x, scale[, zero]): ORT's QLinear ops take per-tensor
// parameters, the zero point optional.
ir::ValueId dequantize(NodeExpansion& e, ir::ValueId x, ir::ValueId scale, ir::ValueId zero) {
  std::vector<ir::ValueId> inputs = {x, scale};
  if (zero != ir::kNoValue) inputs.push_back(zero);
  return e.add("DequantizeLinear", std::move(inputs));
}

void quantize_into(NodeExpansion& e, ir::ValueId y, ir::ValueId scale, ir::ValueId zero, ir::ValueId out) {
  std::vector<ir::ValueId> inputs = {y, scale};
  if (zero != ir::kNoValue) inputs.push_back(zero);
  e.add("QuantizeLinear", std::move(inputs), {}, out);
}

std::vector<ir::Node> expand_qlinear_concat(ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 5 || (n.inputs.size() - 2) % 3 != 0 || n.outputs.size() != 1) return {};
  NodeExpansion e(g, n);
  std::vector<ir::ValueId> parts;
  for (size_t i = 2; i < n.inputs.size(); i += 3) {
    parts.push_back(dequantize(e, n.inputs[i], n.inputs[i + 1], n.inputs[i + 2]));
  }
  Attributes attributes;
  if (const ir::Attribute* axis = n.attribute("axis")) attributes["axis"] = *axis;
  const ir::ValueId y = e.add("Concat", std::move(parts), std::move(attributes));
  quantize_into(e, y, n.inputs[0], n.inputs[1], n.outputs[0]);
  return std::move(e.nodes);
}

std::vector<ir::Node> expand_qlinear_binary(ir::Graph& g, const ir::Node& n, const char* op) {
  if (n.inputs.size() < 7 || n.outputs.size() != 1) return {};
  NodeExpansion e(g, n);
  const ir::ValueId a = dequantize(e, n.inputs[0], n.inputs[1], n.inputs[2]);
  const ir::ValueId b = dequantize(e, n.inputs[3], n.inputs[4], n.inputs[5]);
  quantize_into(e, e.add(op, {a, b}), n.inputs[6], input_or_none(n, 7), n.outputs[0]);
  return std::move(e.nodes);
}

std::vector<ir::Node> expand_qlinear_unary(ir::Graph& g, const ir::Node& n, const char* op) {
  if (n.inputs.size() < 4 || n.outputs.size() != 1) return {};
  Attributes attributes;
  if (std::string(op) == "LeakyRelu") {
    const ir::Attribute* alpha = n.attribute("alpha");
    attributes["alpha"] = float_attribute(alpha != nullptr ? alpha->f : 0.01f);
  }
  if (std::string(op) == "GlobalAveragePool") {
    const ir::Attribute* channels_last = n.attribute("channels_last");
    if (channels_last != nullptr && channels_last->i != 0) return {};  // NHWC: no such plain op
  }
  NodeExpansion e(g, n);
  const ir::ValueId x = dequantize(e, n.inputs[0], n.inputs[1], n.inputs[2]);
  quantize_into(e, e.add(op, {x}, std::move(attributes)), n.inputs[3], input_or_none(n, 4), n.outputs[0]);
  return std::move(e.nodes);
}

}  // namespace

Expected<int> expand_contrib_ops_pass(ir::Graph& g) {
  const int expanded = expand_nodes(g, [&g](const ir::Node& n) -> std::vector<ir::Node> {
    if (n.domain != kMicrosoftDomain) return {};
    if (is_contrib(n, "FusedConv")) return expand_fused_conv(g, n);
    if (is_contrib(n, "MatMulIntegerToFloat")) return expand_matmul_integer_to_float(g, n);
    if (is_contrib(n, "QGemm")) return expand_qgemm(g, n);
    if (is_contrib(n, "QuickGelu")) return expand_quick_gelu(g, n);
    if (is_contrib(n, "QLinearConcat")) return expand_qlinear_concat(g, n);
    if (is_contrib(n, "QLinearAdd")) return expand_qlinear_binary(g, n, "Add");
    if (is_contrib(n, "QLinearMul")) return expand_qlinear_binary(g, n, "Mul");
    if (is_contrib(n, "QLinearSigmoid")) return expand_qlinear_unary(g, n, "Sigmoid");
    if (is_contrib(n, "QLinearLeakyRelu")) return expand_qlinear_unary(g, n, "LeakyRelu");
    if (is_contrib(n, "QLinearGlobalAveragePool")) return expand_qlinear_unary(g, n, "GlobalAveragePool");
    return {};
  });
  refresh_producers(g);
  return expanded;
}

}  // namespace ecoinfer::passes
