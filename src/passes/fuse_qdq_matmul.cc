// QDQ fusion for MatMul and Gemm (the Conv one is fuse_qdq_inputs.cc):
//
//   x_q -> DequantizeLinear(s_x, z_x) --+
//   W_q -> DequantizeLinear(s_w[n], 0) --> MatMul / Gemm -> y (float32)
//
// becomes one int8 MatMul (Gemm) reading x_q and the constant int8 W_q
// directly, the scales as attributes (passes/pass.h kQuant*), so oneDNN's
// int8 matmul does the dequantization's work inside the product. Gemm's C
// (a float32 row, or a dequantized int32 row) becomes an int32 bias in
// accumulator units, and alpha joins the weight scales.
//
// Attention's activation x activation products (Q x K^T, scores x V), where
// both operands come through DequantizeLinear with per-tensor parameters,
// become an int8 MatMul too: B's zero point goes in kQuantWeightZero.
//
// Dynamic quantization's pattern (ONNX Runtime's quantize_dynamic and
// `ecoinfer quantize --mode dynamic` write it)
//
//   MatMulInteger(x_q, W_q int8, z_x, 0) -> Cast(float) -> Mul(Mul(s_x, s_w[n]))
//
// becomes one int8 MatMul (kQuantDynamic) whose zero point z_x and scale s_x
// are inputs read on every run: output scales s_w[n], then a binary post-op
// multiplying by s_x, so the bias Add and GELU after it fuse as post-ops too.
//
// Like fuse_qdq_inputs it runs before constant_folding, which would turn
// the weights' DequantizeLinear into float32 weights; the DequantizeLinear
// nodes left without readers are removed at once for the same reason. The
// trailing QuantizeLinear, when there is one, is fused later by
// fuse_qdq_outputs.
// What does not match (asymmetric or per-row weights, weights of rank > 2,
// transA, a C that is not one row) stays as written and runs in float32.
#include <cmath>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"
#include "passes/qdq_match.h"

namespace ecoinfer::passes {
namespace {

// The quantized activation input: uint8/int8, one scale and zero point.
std::optional<Dequant> activation(const ir::Graph& g, ir::ValueId v) {
  auto d = dequant_of(g, v);
  if (!d || !d->per_tensor() || !d->int8_activation()) return std::nullopt;
  return d;
}

// Constant symmetric int8 weights [K, N] (or [N, K] when `transposed`)
// with one scale, or one per output column n.
const Tensor* int8_weights(const ir::Graph& g, const Dequant& w, bool transposed) {
  const Tensor* values = g.constant(w.quantized);
  if (values == nullptr || values->dtype() != DataType::kInt8 || values->rank() != 2) return nullptr;
  for (int32_t z : w.zeros) {
    if (z != 0) return nullptr;  // oneDNN packs symmetric weights only
  }
  if (w.per_tensor()) return values;
  const int64_t column_axis = transposed ? 0 : 1;
  const int64_t n = values->dim(static_cast<size_t>(column_axis));
  const bool on_axis = w.axis == column_axis || w.axis == column_axis - 2;  // -2/-1 count from the end
  const bool per_column = static_cast<int64_t>(w.scales.size()) == n && on_axis;
  return per_column ? values : nullptr;
}

void set_input_attributes(ir::Node& n, const Dequant& x, std::vector<float> weight_scales) {
  n.attributes[kQuantInputAttribute] = floats_attribute({x.scales[0], static_cast<float>(x.zeros[0])});
  n.attributes[kQuantWeightScalesAttribute] = floats_attribute(std::move(weight_scales));
}

bool fuse_matmul(const ir::Graph& g, ir::Node& mm) {
  const auto x = activation(g, mm.inputs[0]);
  const auto w = dequant_of(g, mm.inputs[1]);
  if (!x || !w) return false;
  if (g.constant(w->quantized) != nullptr) {
    if (int8_weights(g, *w, false) == nullptr) return false;
    mm.inputs = {x->quantized, w->quantized};
    set_input_attributes(mm, *x, w->scales);
    return true;
  }
  // Activation x activation.
  if (!w->per_tensor() || !w->int8_activation()) return false;
  mm.inputs = {x->quantized, w->quantized};
  set_input_attributes(mm, *x, w->scales);
  mm.attributes[kQuantWeightZeroAttribute] = floats_attribute({static_cast<float>(w->zeros[0])});
  return true;
}

float float_attr(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kFloat ? a->f : fallback;
}

int64_t int_attr(const ir::Node& n, const char* key, int64_t fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInt ? a->i : fallback;
}

bool fuse_gemm(ir::Graph& g, ir::Node& gemm) {
  if (int_attr(gemm, "transA", 0) != 0) return false;
  const bool trans_b = int_attr(gemm, "transB", 0) != 0;
  const auto x = activation(g, gemm.inputs[0]);
  const auto w = dequant_of(g, gemm.inputs[1]);
  if (!x || !w) return false;
  const Tensor* weights = int8_weights(g, *w, trans_b);
  if (weights == nullptr) return false;
  const int64_t n = weights->dim(trans_b ? 0 : 1);
  const float alpha = float_attr(gemm, "alpha", 1.0f), beta = float_attr(gemm, "beta", 1.0f);
  if (alpha == 0.0f) return false;
  std::vector<float> scales = w->scales;
  for (float& s : scales) s *= alpha;
  ir::ValueId bias = ir::kNoValue;
  if (gemm.inputs.size() > 2 && gemm.inputs[2] != ir::kNoValue && beta != 0.0f) {
    // Only a C of one row ([N] or [1, N]) is a bias.
    const Tensor* c = g.constant(gemm.inputs[2]);
    const auto c_dq = dequant_of(g, gemm.inputs[2]);
    const Tensor* shape_of = c != nullptr ? c : c_dq ? g.constant(c_dq->quantized) : nullptr;
    if (shape_of == nullptr || shape_of->rank() < 1 || shape_of->rank() > 2 || shape_of->numel() != n) return false;
    auto real = bias_values(g, gemm.inputs[2], n);
    if (!real) return false;
    for (float& v : *real) v *= beta;
    bias = add_constant(g, gemm.name + "_bias_int32", int32_bias(*real, x->scales[0], scales));
  }
  gemm.inputs = {x->quantized, w->quantized};
  if (bias != ir::kNoValue) gemm.inputs.push_back(bias);
  gemm.attributes.erase("alpha");
  gemm.attributes.erase("beta");
  set_input_attributes(gemm, *x, std::move(scales));
  return true;
}

// The node reading `v` when it is the only one and of `op_type`.
ir::Node* sole(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::ValueId v, const char* op_type) {
  const int c = sole_consumer(g, consumers, v);
  if (c < 0 || !is_op(g.nodes[static_cast<size_t>(c)], op_type)) return nullptr;
  return &g.nodes[static_cast<size_t>(c)];
}

// A constant all-zero int8 zero point, or none.
bool zero_or_absent(const ir::Graph& g, const ir::Node& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input] == ir::kNoValue) return true;
  const Tensor* z = g.constant(n.inputs[input]);
  if (z == nullptr || z->dtype() != DataType::kInt8) return false;
  for (int64_t i = 0; i < z->numel(); ++i) {
    if (z->data<int8_t>()[i] != 0) return false;
  }
  return true;
}

bool fuse_dynamic(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& mi) {
  if (mi.inputs.size() < 2 || mi.outputs.size() != 1 || !zero_or_absent(g, mi, 3)) return false;
  const Tensor* w = g.constant(mi.inputs[1]);
  if (w == nullptr || w->dtype() != DataType::kInt8 || w->rank() != 2) return false;
  const bool has_zero = mi.inputs.size() > 2 && mi.inputs[2] != ir::kNoValue;
  if (has_zero) {
    const Tensor* z = g.constant(mi.inputs[2]);
    if (z != nullptr && z->numel() != 1) return false;  // per-row: the reference kernel's
  }
  ir::Node* cast = sole(g, consumers, mi.outputs[0], "Cast");
  const ir::Attribute* to = cast != nullptr ? cast->attribute("to") : nullptr;
  if (to == nullptr || to->i != static_cast<int64_t>(DataType::kFloat32)) return false;
  ir::Node* mul = sole(g, consumers, cast->outputs[0], "Mul");
  if (mul == nullptr || mul->inputs.size() != 2) return false;
  // The scale s_x * s_w: a Mul of the runtime scalar s_x and constant s_w.
  const ir::ValueId scale = other_input(*mul, cast->outputs[0]);
  const int sp = scale == ir::kNoValue ? -1 : g.values[static_cast<size_t>(scale)].producer;
  if (sp < 0 || !is_op(g.nodes[static_cast<size_t>(sp)], "Mul")) return false;
  const ir::Node& scales = g.nodes[static_cast<size_t>(sp)];
  if (scales.inputs.size() != 2) return false;
  const bool first_constant = float_constant(g, scales.inputs[0]) != nullptr;
  const Tensor* s_w = float_constant(g, scales.inputs[first_constant ? 0 : 1]);
  const ir::ValueId s_x = scales.inputs[first_constant ? 1 : 0];
  if (s_w == nullptr || g.constant(s_x) != nullptr || (s_w->numel() != 1 && s_w->numel() != w->dim(1)) ||
      s_w->rank() > 1) {
    return false;
  }
  ir::Node fused = mi;
  fused.op_type = "MatMul";
  fused.domain.clear();
  fused.inputs = {mi.inputs[0], mi.inputs[1], has_zero ? mi.inputs[2] : ir::kNoValue, s_x};
  fused.outputs = {mul->outputs[0]};
  fused.attributes.clear();
  ir::Attribute dynamic;
  dynamic.kind = ir::Attribute::Kind::kInt;
  dynamic.i = 1;
  fused.attributes[kQuantDynamicAttribute] = dynamic;
  fused.attributes[kQuantWeightScalesAttribute] =
      floats_attribute(std::vector<float>(s_w->data<float>(), s_w->data<float>() + s_w->numel()));
  add_post_op(fused, PostOp::binary("mul", 3));
  erase_node(*cast);
  erase_node(*mul);
  mi = std::move(fused);
  return true;
}

bool fuse(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& n) {
  if (n.attribute(kQuantInputAttribute) != nullptr || n.inputs.size() < 2 || n.outputs.size() != 1) return false;
  if (is_op(n, "MatMul")) return fuse_matmul(g, n);
  if (is_op(n, "Gemm")) return fuse_gemm(g, n);
  if (is_op(n, "MatMulInteger")) return fuse_dynamic(g, consumers, n);
  return false;
}

}  // namespace

Expected<int> fuse_qdq_matmul_pass(ir::Graph& g) {
  int fused = 0;
  const auto consumers = consumers_of(g);
  // By index: fuse_gemm adds constants, which may grow g.values but not g.nodes.
  for (size_t i = 0; i < g.nodes.size(); ++i) fused += fuse(g, consumers, g.nodes[i]) ? 1 : 0;
  drop_erased_nodes(g);
  refresh_producers(g);
  // The weights' DequantizeLinear nodes have no readers now; drop them
  // before constant_folding would dequantize every weight to float32 at load
  // (340 MB of BERT-base's that nothing reads).
  if (fused > 0) remove_dead_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
