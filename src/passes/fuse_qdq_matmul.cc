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
// Like fuse_qdq_inputs it runs before constant_folding, which would turn
// the weights' DequantizeLinear into float32 weights; the DequantizeLinear
// nodes left without readers are removed at once for the same reason. The trailing
// QuantizeLinear, when there is one, is fused later by fuse_qdq_outputs.
// What does not match (asymmetric or per-row weights, weights of rank > 2,
// transA, a C that is not one row) stays as written and runs in float32.
#include <cmath>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
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
  const bool per_column = static_cast<int64_t>(w.scales.size()) == n && (w.axis == column_axis || w.axis == column_axis - 2);
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

bool fuse(ir::Graph& g, ir::Node& n) {
  if (n.attribute(kQuantInputAttribute) != nullptr || n.inputs.size() < 2 || n.outputs.size() != 1) return false;
  if (is_op(n, "MatMul")) return fuse_matmul(g, n);
  if (is_op(n, "Gemm")) return fuse_gemm(g, n);
  return false;
}

}  // namespace

Expected<int> fuse_qdq_matmul_pass(ir::Graph& g) {
  int fused = 0;
  // By index: fuse_gemm adds constants, which may grow g.values but not g.nodes.
  for (size_t i = 0; i < g.nodes.size(); ++i) fused += fuse(g, g.nodes[i]) ? 1 : 0;
  // The weights' DequantizeLinear nodes have no readers now; drop them
  // before constant_folding would dequantize every weight to float32 at load
  // (340 MB of BERT-base's that nothing reads).
  if (fused > 0) remove_dead_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
