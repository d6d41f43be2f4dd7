// The residual half of QDQ fusion (after fuse_conv_residual, before
// fuse_qdq_outputs): an int8 Conv whose fused residual Add reads a float32
// tensor t reads t's quantized copy q instead (uint8/int8, scale s, zero z),
// so the residual stream of a quantized ResNet stays int8 from block to
// block instead of going through float32 and a QuantizeLinear per block.
//
//   conv3 (int8) -> [+ shift] -> Add(t) -> Relu -> y      t = s * (q - z)
//
// oneDNN's binary post-op adds q's raw integers, so the chain is computed
// in units of s: the output scale (kQuantWeightScales) and the constants
// added before the residual are divided by s, z is subtracted after it,
// Relu commutes with the positive scale, and a trailing linear(s, 0) comes
// back to real units (fuse_qdq_outputs folds it into the requantization).
//
// Where q comes from:
//  - t = DequantizeLinear(q, s, z) (ONNX Runtime's quantizer reads a
//    residual through DequantizeLinear): exact, the graph's own meaning;
//  - t float32 with a QuantizeLinear(t, s, z) before the Conv (what
//    `ecoinfer quantize` writes: the block output y feeds the next block's
//    convolutions through Q -> DQ and its residual Add as float32): t is
//    then read as DQ(Q(t)), off by at most s / 2 (and clipped to the
//    calibrated range, like the convolutions' own input), as if the
//    quantizer had put Q/DQ on the Add's input as ONNX Runtime's does.
//    docs/QUANTIZATION.md says so.
// Only per-tensor constant scale and zero point, a residual "add", and
// post-ops that commute with a positive scale (affine by constants, relu).
#include <cmath>
#include <optional>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_op_fusion.h"
#include "passes/post_ops.h"
#include "passes/qdq_match.h"

namespace ecoinfer::passes {
namespace {

struct QuantizedOperand {
  ir::ValueId q = ir::kNoValue;
  float scale = 1;
  int32_t zero = 0;
};

bool usable_scale(float s) { return std::isfinite(s) && s > 0; }

// A QuantizeLinear's per-tensor constant scale and uint8/int8 zero point
// (none: uint8, zero 0).
std::optional<QuantizedOperand> quantize_params(const ir::Graph& g, const ir::Node& q) {
  if (q.inputs.size() < 2 || q.outputs.size() != 1 || q.attribute("output_dtype") != nullptr) return std::nullopt;
  const Tensor* scale = float_constant(g, q.inputs[1]);
  if (scale == nullptr || scale->numel() != 1 || !usable_scale(scale->data<float>()[0])) return std::nullopt;
  QuantizedOperand out{q.outputs[0], scale->data<float>()[0], 0};
  if (q.inputs.size() < 3 || q.inputs[2] == ir::kNoValue) return out;
  const Tensor* zero = g.constant(q.inputs[2]);
  if (zero == nullptr || zero->numel() != 1) return std::nullopt;
  if (zero->dtype() == DataType::kUInt8) out.zero = zero->data<uint8_t>()[0];
  else if (zero->dtype() == DataType::kInt8) out.zero = zero->data<int8_t>()[0];
  else return std::nullopt;
  return out;
}

// The quantized tensor standing for t, for a reader at node index `reader`.
std::optional<QuantizedOperand> quantized_operand(const ir::Graph& g, const Consumers& consumers, ir::ValueId t,
                                                  int reader) {
  if (const auto d = dequant_of(g, t)) {
    if (!d->per_tensor() || !d->int8_activation() || g.constant(d->quantized) != nullptr) return std::nullopt;
    if (!usable_scale(d->scales[0])) return std::nullopt;
    return QuantizedOperand{d->quantized, d->scales[0], d->zeros[0]};
  }
  for (int r : consumers[static_cast<size_t>(t)]) {
    const ir::Node& q = g.nodes[static_cast<size_t>(r)];
    if (r >= reader || !is_op(q, "QuantizeLinear") || q.inputs.empty() || q.inputs[0] != t) continue;
    if (auto p = quantize_params(g, q)) return p;
  }
  return std::nullopt;
}

// Post-ops p(x) with p(x / s) = p(x) / s once their constants are divided by
// s: eltwise relu (leaky too) and linear (beta / s), binary add/sub/max/min
// of a constant (scaled) and mul/div by one (unchanged).
bool commutes_with_scale(const ir::Graph& g, const ir::Node& conv, const PostOp& op) {
  if (op.kind == PostOp::Kind::kEltwise) return op.alg == "relu" || op.alg == "linear";
  return float_constant(g, conv.inputs[static_cast<size_t>(op.input)]) != nullptr;
}

bool scales_constant(const PostOp& op) {
  return op.kind == PostOp::Kind::kBinary && op.alg != "mul" && op.alg != "div";
}

bool fuse_residual(ir::Graph& g, const Consumers& consumers, int index) {
  ir::Node& conv = g.nodes[static_cast<size_t>(index)];
  if (!is_op(conv, "Conv") || conv.attribute(kQuantInputAttribute) == nullptr ||
      conv.attribute(kQuantOutputAttribute) != nullptr) {
    return false;
  }
  Expected<std::vector<PostOp>> ops = read_post_ops(conv);
  if (!ops) return false;
  // The one binary post-op reading a tensor computed at run time.
  int residual = -1;
  for (size_t k = 0; k < ops->size(); ++k) {
    const PostOp& op = (*ops)[k];
    if (op.kind != PostOp::Kind::kBinary || g.constant(conv.inputs[static_cast<size_t>(op.input)]) != nullptr) continue;
    if (residual >= 0 || op.alg != "add") return false;
    residual = static_cast<int>(k);
  }
  if (residual < 0) return false;
  for (int k = 0; k < residual; ++k) {
    if (!commutes_with_scale(g, conv, (*ops)[static_cast<size_t>(k)])) return false;
  }
  for (size_t k = static_cast<size_t>(residual) + 1; k < ops->size(); ++k) {
    if ((*ops)[k].alg != "relu") return false;
  }
  const PostOp& add = (*ops)[static_cast<size_t>(residual)];
  const ir::ValueId t = conv.inputs[static_cast<size_t>(add.input)];
  const auto q = quantized_operand(g, consumers, t, index);
  if (!q) return false;

  std::vector<PostOp> chain(ops->begin(), ops->begin() + residual + 1);
  for (PostOp& op : chain) {
    if (op.kind == PostOp::Kind::kEltwise && op.alg == "linear") op.beta /= q->scale;
  }
  if (q->zero != 0) chain.push_back(PostOp::eltwise("linear", 1, static_cast<float>(-q->zero)));
  chain.insert(chain.end(), ops->begin() + residual + 1, ops->end());
  chain.push_back(PostOp::eltwise("linear", q->scale, 0));
  if (chain.size() > kMaxPostOps || !fits_onednn_chain(chain)) return false;

  for (int k = 0; k < residual; ++k) {
    const PostOp& op = (*ops)[static_cast<size_t>(k)];
    if (!scales_constant(op)) continue;
    ir::ValueId& c = conv.inputs[static_cast<size_t>(op.input)];
    Tensor scaled = float_constant(g, c)->clone();
    for (int64_t i = 0; i < scaled.numel(); ++i) scaled.data<float>()[i] /= q->scale;
    c = add_constant(g, conv.name + "_residual_units", std::move(scaled));
  }
  for (float& w : conv.attributes[kQuantWeightScalesAttribute].floats) w /= q->scale;
  conv.inputs[static_cast<size_t>(add.input)] = q->q;
  conv.attributes.erase(kPostOpsAttribute);
  for (const PostOp& op : chain) add_post_op(conv, op);
  return true;
}

}  // namespace

Expected<int> fuse_qdq_residual_pass(ir::Graph& g) {
  const Consumers consumers = consumers_of(g);  // rewrites only drop readers of float tensors
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) fused += fuse_residual(g, consumers, static_cast<int>(i)) ? 1 : 0;
  refresh_producers(g);
  // DequantizeLinear nodes left without readers go with remove_dead_nodes.
  return fused;
}

}  // namespace ecoinfer::passes
