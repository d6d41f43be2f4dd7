// BatchNormalization after a Conv, ConvTranspose or Gemm with constant
// weights folds into those weights and the bias (one is added when there
// was none): BN is y * s[c] + (B[c] - mean[c] * s[c]) with
// s = scale / sqrt(var + eps), a per-channel affine map.
//
// Only when the producer's output is read by the BN alone and is not a
// graph output, and BN runs in inference mode with constant parameters.
#include <cmath>

#include "passes/channel_affine.h"
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// BN's inputs: X, scale, B, mean, var.
constexpr size_t kBnInputs = 5;

bool is_inference_bn(const ir::Graph& g, const ir::Node& bn, const std::vector<std::vector<int>>& consumers) {
  if (!is_op(bn, "BatchNormalization") || bn.inputs.size() != kBnInputs || bn.outputs.empty()) return false;
  if (const ir::Attribute* t = bn.attribute("training_mode"); t != nullptr && t->i != 0) return false;
  if (const ir::Attribute* s = bn.attribute("spatial"); s != nullptr && s->i == 0) return false;
  if (const ir::Attribute* t = bn.attribute("is_test"); t != nullptr && t->i == 0) return false;
  // The running statistics outputs (training) must not be read.
  for (size_t o = 1; o < bn.outputs.size(); ++o) {
    const ir::ValueId v = bn.outputs[o];
    if (v != ir::kNoValue && (!consumers[static_cast<size_t>(v)].empty() || is_graph_output(g, v))) return false;
  }
  return bn.outputs[0] != ir::kNoValue;
}

// The BN's per-channel (scale, shift), or false when its parameters are not
// float32 constants of `channels` elements each.
bool bn_affine(const ir::Graph& g, const ir::Node& bn, int64_t channels, std::vector<double>& scale,
               std::vector<double>& shift) {
  const Tensor* p[kBnInputs] = {};
  for (size_t i = 1; i < kBnInputs; ++i) {
    p[i] = float_constant(g, bn.inputs[i]);
    if (p[i] == nullptr || p[i]->numel() != channels) return false;
  }
  const ir::Attribute* eps_attr = bn.attribute("epsilon");
  const double eps = eps_attr != nullptr ? eps_attr->f : 1e-5;
  scale.resize(static_cast<size_t>(channels));
  shift.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double s = p[1]->data<float>()[c] / std::sqrt(static_cast<double>(p[4]->data<float>()[c]) + eps);
    scale[static_cast<size_t>(c)] = s;
    shift[static_cast<size_t>(c)] = p[2]->data<float>()[c] - p[3]->data<float>()[c] * s;
  }
  return true;
}

}  // namespace

Expected<int> fold_batchnorm_pass(ir::Graph& g) {
  int folded = 0;
  std::vector<std::vector<int>> consumers = consumers_of(g);
  for (ir::Node& bn : g.nodes) {
    if (!is_inference_bn(g, bn, consumers)) continue;
    const ir::ValueId x = bn.inputs[0];
    const int producer = g.values[static_cast<size_t>(x)].producer;
    if (producer < 0 || sole_consumer(g, consumers, x) < 0) continue;
    ir::Node& p = g.nodes[static_cast<size_t>(producer)];
    const std::optional<int64_t> channels = foldable_channels(g, p);
    if (!channels || p.outputs[0] != x) continue;
    std::vector<double> scale, shift;
    if (!bn_affine(g, bn, *channels, scale, shift)) continue;
    fold_channel_affine(g, p, scale, shift);
    // The producer now writes the BN's output.
    const ir::ValueId y = bn.outputs[0];
    p.outputs[0] = y;
    g.values[static_cast<size_t>(y)].producer = producer;
    erase_node(bn);
    ++folded;
  }
  drop_erased_nodes(g);
  return folded;
}

}  // namespace ecoinfer::passes
