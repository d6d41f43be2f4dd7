// The first half of QDQ fusion (the second is fuse_qdq_outputs.cc): a Conv
// whose input and weights come through DequantizeLinear
//
//   x_q -> DequantizeLinear(s_x, z_x) --+
//   W_q -> DequantizeLinear(s_w[m], 0) --> Conv -> y (float32)
//   B   (float32, or int32 -> DequantizeLinear) --+
//
// becomes one int8 Conv reading x_q, W_q and an int32 bias directly, with
// the scales as attributes (passes/pass.h kQuant*): the oneDNN int8
// primitive then does the dequantization's work inside the product.
//
// It runs first, before constant_folding would turn the weights'
// DequantizeLinear into float32 weights. What does not match (per-tensor
// zero point other than a constant scalar, asymmetric weights, a
// per-channel scale on another axis than the output channels, a grouped
// ConvTranspose) is left as written and runs in float32 as the QDQ model says. A
// BatchNormalization reading such a Conv folds into its scales and bias
// and a per-channel add (fold_batchnorm_into).
#include <cmath>
#include <optional>
#include <utility>

#include "kernels/ref/quantize_math.h"
#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"
#include "passes/qdq_match.h"

namespace ecoinfer::passes {
namespace {

// The weight axis along which a Conv's (0) or a one-group ConvTranspose's
// (1: its weight is [C, M, k...]) output channels run; -1 for a grouped
// ConvTranspose, whose per-channel scales no DequantizeLinear axis names.
int output_channel_axis(const ir::Node& conv) {
  if (is_op(conv, "Conv")) return 0;
  const ir::Attribute* group = conv.attribute("group");
  return is_op(conv, "ConvTranspose") && (group == nullptr || group->i == 1) ? 1 : -1;
}

// The values of a constant that broadcasts per channel against a rank-4 or
// smaller output ([C], [C,1,1], [1,C,1,1], a scalar), with the channel on axis 1.
std::optional<std::vector<float>> per_channel_values(const Tensor& t, size_t rank, int64_t channels) {
  if (t.rank() > rank) return std::nullopt;
  for (size_t d = 0; d < t.rank(); ++d) {
    const size_t axis = d + rank - t.rank();
    if (t.dim(d) != 1 && !(axis == 1 && t.dim(d) == channels)) return std::nullopt;
  }
  std::vector<float> v(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) v[static_cast<size_t>(c)] = t.data<float>()[t.numel() == 1 ? 0 : c];
  return v;
}

// A ConvTranspose's bias Add (Paddle2ONNX writes det's head as ConvTranspose
// -> Add(bias) -> BatchNormalization): the per-channel constant of the Add
// that alone reads the output, which then joins the int32 bias (one
// accumulator step, s_x * s_w[m], is far below the output's own step), so
// that the BatchNormalization behind it folds too. The Add is erased.
std::optional<std::vector<float>> take_bias_add(ir::Graph& g, ir::Node& conv, int64_t channels, size_t rank) {
  if (!is_op(conv, "ConvTranspose") || conv.outputs.size() != 1) return std::nullopt;
  const auto consumers = consumers_of(g);
  const int add_index = sole_consumer(g, consumers, conv.outputs[0]);
  if (add_index < 0) return std::nullopt;
  ir::Node& add = g.nodes[static_cast<size_t>(add_index)];
  if (!is_op(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return std::nullopt;
  const Tensor* c = float_constant(g, other_input(add, conv.outputs[0]));
  if (c == nullptr) return std::nullopt;
  auto values = per_channel_values(*c, rank, channels);
  if (!values) return std::nullopt;
  conv.outputs[0] = add.outputs[0];
  erase_node(add);
  return values;
}

bool fuse_conv(ir::Graph& g, ir::Node& conv) {
  const int channel_axis = output_channel_axis(conv);
  if (channel_axis < 0 || conv.attribute(kQuantInputAttribute) != nullptr || conv.inputs.size() < 2) return false;
  const auto x = dequant_of(g, conv.inputs[0]);
  const auto w = dequant_of(g, conv.inputs[1]);
  if (!x || !w || x->scales.size() != 1) return false;
  if (x->type != DataType::kUInt8 && x->type != DataType::kInt8) return false;
  const Tensor* weights = g.constant(w->quantized);
  if (weights == nullptr || weights->dtype() != DataType::kInt8 || weights->rank() < 3) return false;
  const int64_t channels = weights->dim(static_cast<size_t>(channel_axis));
  for (int32_t z : w->zeros) if (z != 0) return false;  // oneDNN takes symmetric weights only
  const auto rank = static_cast<int64_t>(weights->rank());
  if (w->scales.size() != 1 && !(static_cast<int64_t>(w->scales.size()) == channels &&
                                 (w->axis == channel_axis || w->axis == channel_axis - rank))) {
    return false;
  }
  std::optional<std::vector<float>> real_bias;
  const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] != ir::kNoValue;
  if (has_bias) {
    real_bias = bias_values(g, conv.inputs[2], channels);
    if (!real_bias) return false;
  }
  if (auto added = take_bias_add(g, conv, channels, weights->rank())) {
    if (!real_bias) real_bias = std::vector<float>(static_cast<size_t>(channels), 0.0f);
    for (size_t m = 0; m < added->size(); ++m) (*real_bias)[m] += (*added)[m];
  }
  conv.inputs[0] = x->quantized;
  conv.inputs[1] = w->quantized;
  if (real_bias) {
    if (conv.inputs.size() < 3) conv.inputs.resize(3, ir::kNoValue);
    conv.inputs[2] = add_constant(g, conv.name + "_bias_int32", int32_bias(*real_bias, x->scales[0], w->scales));
  }
  conv.attributes[kQuantInputAttribute] = floats_attribute({x->scales[0], static_cast<float>(x->zeros[0])});
  conv.attributes[kQuantWeightScalesAttribute] = floats_attribute(w->scales);
  return true;
}

// BatchNormalization's per-channel map y * k[m] + c[m] (k = scale /
// sqrt(var + eps), c = B - mean * k), when it runs in inference mode on
// float32 constants of `channels` entries.
std::optional<std::pair<std::vector<double>, std::vector<double>>> batchnorm_map(const ir::Graph& g, const ir::Node& bn,
                                                                                int64_t channels) {
  if (!is_op(bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.size() != 1) return std::nullopt;
  if (const ir::Attribute* t = bn.attribute("training_mode"); t != nullptr && t->i != 0) return std::nullopt;
  if (const ir::Attribute* s = bn.attribute("spatial"); s != nullptr && s->i == 0) return std::nullopt;
  const Tensor* p[5] = {};
  for (size_t i = 1; i < 5; ++i) {
    p[i] = float_constant(g, bn.inputs[i]);
    if (p[i] == nullptr || p[i]->numel() != channels) return std::nullopt;
  }
  const ir::Attribute* eps = bn.attribute("epsilon");
  std::vector<double> k(static_cast<size_t>(channels)), c(static_cast<size_t>(channels));
  for (int64_t m = 0; m < channels; ++m) {
    k[static_cast<size_t>(m)] = p[1]->data<float>()[m] / std::sqrt(p[4]->data<float>()[m] + (eps ? eps->f : 1e-5));
    c[static_cast<size_t>(m)] = p[2]->data<float>()[m] - p[3]->data<float>()[m] * k[static_cast<size_t>(m)];
  }
  return std::pair{std::move(k), std::move(c)};
}

// An int8 Conv whose float32 output only a BatchNormalization reads takes
// it in: y = s_x * s_w[m] * (acc + b[m]), so k[m] * y + c[m] is the same
// Conv with weight scale s_w[m] * k[m], followed by a per-channel add of
// c[m] as its first post-op. (Folding c into the int32 bias instead would
// round it to an accumulator step, enough to flip the rounding of the
// next QuantizeLinear here and there: rec's output moved to cosine 0.9987
// against the unfused graph.) Without the fold the BN runs in float32
// between two int8 primitives (det's first convolution and its head), with
// a layout reorder on each side. Declines a zero or non-finite k.
bool fold_batchnorm_into(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& conv) {
  if (conv.attribute(kQuantInputAttribute) == nullptr || conv.attribute(kPostOpsAttribute) != nullptr ||
      conv.outputs.size() != 1) {
    return false;
  }
  const int bn_index = sole_consumer(g, consumers, conv.outputs[0]);
  if (bn_index < 0) return false;
  ir::Node& bn = g.nodes[static_cast<size_t>(bn_index)];
  const Tensor* weights = g.constant(conv.inputs[1]);
  if (weights == nullptr || bn.inputs.empty() || bn.inputs[0] != conv.outputs[0]) return false;
  const int64_t channels = weights->dim(static_cast<size_t>(output_channel_axis(conv)));
  const auto map = batchnorm_map(g, bn, channels);
  if (!map) return false;
  const std::vector<float>& s_w = conv.attribute(kQuantWeightScalesAttribute)->floats;
  std::vector<float> scales(static_cast<size_t>(channels)), shifts(static_cast<size_t>(channels));
  for (size_t m = 0; m < scales.size(); ++m) {
    const double scale = static_cast<double>(s_w[s_w.size() == 1 ? 0 : m]) * map->first[m];
    if (scale == 0 || !std::isfinite(scale) || !std::isfinite(map->second[m])) return false;
    scales[m] = static_cast<float>(scale);
    shifts[m] = static_cast<float>(map->second[m]);
  }
  conv.attributes[kQuantWeightScalesAttribute] = floats_attribute(std::move(scales));
  // [1, M, 1, ...]: broadcast over the output, one value per channel.
  Shape shift_shape(weights->rank(), 1);
  shift_shape[1] = channels;
  if (conv.inputs.size() < 3) conv.inputs.resize(3, ir::kNoValue);
  conv.inputs.push_back(add_constant(g, conv.name + "_bn_shift", Tensor::from_vector<float>(shift_shape, shifts)));
  add_post_op(conv, PostOp::binary("add", static_cast<int>(conv.inputs.size() - 1)));
  conv.outputs[0] = bn.outputs[0];
  erase_node(bn);
  return true;
}

}  // namespace

Expected<int> fuse_qdq_inputs_pass(ir::Graph& g) {
  int fused = 0;
  for (ir::Node& n : g.nodes) fused += fuse_conv(g, n) ? 1 : 0;
  const auto consumers = consumers_of(g);
  for (ir::Node& n : g.nodes) fused += output_channel_axis(n) >= 0 && fold_batchnorm_into(g, consumers, n) ? 1 : 0;
  drop_erased_nodes(g);
  refresh_producers(g);
  // The DequantizeLinear nodes left without readers go with remove_dead_nodes.
  return fused;
}

}  // namespace ecoinfer::passes
