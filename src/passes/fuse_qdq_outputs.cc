// The second half of QDQ fusion (after fuse_qdq_inputs.cc and the post-op
// fusions): an int8 Conv whose float32 result (after its fused
// activations and residual) is read only by a QuantizeLinear with constant
// per-tensor scale and zero point takes that QuantizeLinear in too, and
// writes the uint8/int8 tensor itself. The next int8 Conv reads it
// directly, so activations stay int8 between quantized convs. A trailing
// post-op linear(a, 0) with a > 0 (fuse_qdq_residual's return to real
// units) folds into the requantization: round(a * v / s) = round(v / (s / a)).
#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"

namespace ecoinfer::passes {
namespace {

// The factor a of a last post-op linear(a, 0), a > 0, removed from the
// chain; 1 when there is none.
float take_trailing_scale(ir::Node& node) {
  Expected<std::vector<PostOp>> ops = read_post_ops(node);
  if (!ops || ops->empty()) return 1;
  const PostOp& last = ops->back();
  if (last.kind != PostOp::Kind::kEltwise || last.alg != "linear" || last.beta != 0 || !(last.alpha > 0)) return 1;
  std::vector<std::string>& entries = node.attributes[kPostOpsAttribute].strings;
  entries.pop_back();
  if (entries.empty()) node.attributes.erase(kPostOpsAttribute);
  return last.alpha;
}

bool fuse_output(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& conv) {
  const bool int8_op = is_op(conv, "Conv") || is_op(conv, "ConvTranspose") || is_op(conv, "MatMul") || is_op(conv, "Gemm");
  if (!int8_op || conv.attribute(kQuantInputAttribute) == nullptr ||
      conv.attribute(kQuantOutputAttribute) != nullptr || conv.outputs.empty()) {
    return false;
  }
  const int q_index = sole_consumer(g, consumers, conv.outputs[0]);
  if (q_index < 0) return false;
  ir::Node& q = g.nodes[static_cast<size_t>(q_index)];
  if (!is_op(q, "QuantizeLinear") || q.inputs.size() < 3 || q.inputs[0] != conv.outputs[0]) return false;
  const Tensor* scale = float_constant(g, q.inputs[1]);
  const Tensor* zero = q.inputs[2] == ir::kNoValue ? nullptr : g.constant(q.inputs[2]);
  if (scale == nullptr || zero == nullptr || scale->numel() != 1 || zero->numel() != 1) return false;
  float z = 0;
  if (zero->dtype() == DataType::kUInt8) z = zero->data<uint8_t>()[0];
  else if (zero->dtype() == DataType::kInt8) z = zero->data<int8_t>()[0];
  else return false;
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloats;
  const float scale_factor = is_op(conv, "Conv") ? take_trailing_scale(conv) : 1.0f;
  a.floats = {scale->data<float>()[0] / scale_factor, z, static_cast<float>(static_cast<int32_t>(zero->dtype()))};
  conv.attributes[kQuantOutputAttribute] = a;
  conv.outputs[0] = q.outputs[0];
  erase_node(q);
  return true;
}

}  // namespace

Expected<int> fuse_qdq_outputs_pass(ir::Graph& g) {
  const auto consumers = consumers_of(g);
  int fused = 0;
  for (ir::Node& n : g.nodes) fused += fuse_output(g, consumers, n) ? 1 : 0;
  drop_erased_nodes(g);
  refresh_producers(g);
  return fused;
}

}  // namespace ecoinfer::passes
