#include "passes/post_op_fusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// What is known of a producer's output shape, for checking that a constant
// broadcasts into it: rank and channel count (the channel is axis 1 for
// convolutions and Gemm, the last axis for MatMul, whose rank is unknown).
struct OutputShape {
  int64_t rank = -1;
  int64_t channels = -1;
  bool matmul = false;
};

OutputShape output_shape(const ir::Graph& g, const ir::Node& p) {
  const Tensor* w = g.constant(p.inputs[1]);
  if (w == nullptr) return {};
  const int64_t rank = static_cast<int64_t>(w->rank());
  if (is_op(p, "Conv") && rank >= 3) return {rank, w->dim(0), false};
  if (is_op(p, "ConvTranspose") && rank >= 3) {
    const ir::Attribute* group = p.attribute("group");
    return {rank, w->dim(1) * (group != nullptr && group->kind == ir::Attribute::Kind::kInt ? group->i : 1), false};
  }
  if (is_op(p, "Gemm") && rank == 2) {
    const ir::Attribute* tb = p.attribute("transB");
    const bool trans_b = tb != nullptr && tb->kind == ir::Attribute::Kind::kInt && tb->i != 0;
    return {2, w->dim(trans_b ? 0 : 1), false};
  }
  if (is_op(p, "MatMul") && rank >= 2) return {-1, w->dim(w->rank() - 1), true};
  return {};
}

// True when constant `c` broadcasts into the output without enlarging it and
// holds one value per output channel (or one value).
bool per_channel_fits(const Tensor& c, const OutputShape& s) {
  if (c.rank() == 0) return true;
  if (s.matmul) return c.rank() == 1 && (c.dim(0) == 1 || c.dim(0) == s.channels);
  if (s.rank < 0 || static_cast<int64_t>(c.rank()) > s.rank) return false;
  const int64_t offset = s.rank - static_cast<int64_t>(c.rank());
  for (size_t d = 0; d < c.rank(); ++d) {
    if (c.dim(d) != 1 && !(static_cast<int64_t>(d) + offset == 1 && c.dim(d) == s.channels)) return false;
  }
  return true;
}

float attr_float(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kFloat ? a->f : fallback;
}

bool near(std::optional<double> v, double target) {
  return v && std::fabs(*v - target) <= 1e-6 * std::max(1.0, std::fabs(target));
}

// A float32 constant scalar's value.
std::optional<double> float_scalar(const ir::Graph& g, ir::ValueId v) {
  const Tensor* t = float_constant(g, v);
  return t != nullptr && t->numel() == 1 ? std::optional<double>(t->data<float>()[0]) : std::nullopt;
}

// Clip's bounds: attributes before opset 11, optional constant inputs after.
std::optional<std::pair<float, float>> clip_bounds(const ir::Graph& g, const ir::Node& n) {
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (n.opset < 11) return std::pair{attr_float(n, "min", lo), attr_float(n, "max", hi)};
  for (size_t i : {size_t{1}, size_t{2}}) {
    if (i >= n.inputs.size() || n.inputs[i] == ir::kNoValue) continue;
    const std::optional<double> v = float_scalar(g, n.inputs[i]);
    if (!v) return std::nullopt;
    (i == 1 ? lo : hi) = static_cast<float>(*v);
  }
  return std::pair{lo, hi};
}

// The node at index `i` when it is `op` with one output; nullptr otherwise.
const ir::Node* node_if(const ir::Graph& g, int i, const char* op) {
  if (i < 0) return nullptr;
  const ir::Node& n = g.nodes[static_cast<size_t>(i)];
  return is_op(n, op) && n.outputs.size() == 1 ? &n : nullptr;
}

// Mul(a, b) in either order: the other operand when one is `v`.
ir::ValueId mul_partner(const ir::Node* n, ir::ValueId v) { return n != nullptr ? other_input(*n, v) : ir::kNoValue; }

// Division by 6 written as Div(v, 6) or Mul(v, 1/6).
bool divides_by_six(const ir::Graph& g, const ir::Node& n, ir::ValueId v) {
  if (is_op(n, "Div")) return n.inputs.size() == 2 && n.inputs[0] == v && near(float_scalar(g, n.inputs[1]), 6.0);
  return is_op(n, "Mul") && near(float_scalar(g, other_input(n, v)), 1.0 / 6.0);
}

PostOpMatch single(const PostOp& op, int node, const ir::Node& n) {
  return PostOpMatch{{op}, {}, {node}, n.outputs[0]};
}

// x * Clip(x + 3, 0, 6) / 6 in its spellings, and x * HardSigmoid(x) with
// HardSwish's constants (alpha 1/6, beta 0.5).
std::optional<PostOpMatch> match_hardswish(const ir::Graph& g, const Consumers& consumers, ir::ValueId x) {
  const auto& readers = consumers[static_cast<size_t>(x)];
  if (readers.size() != 2 || is_graph_output(g, x)) return std::nullopt;
  for (int first : readers) {
    const int other = first == readers[0] ? readers[1] : readers[0];
    const ir::Node* closing = node_if(g, other, "Mul");
    if (closing == nullptr) continue;
    const ir::Node& f = g.nodes[static_cast<size_t>(first)];
    if (is_op(f, "HardSigmoid") && f.outputs.size() == 1 && near(attr_float(f, "alpha", 0.2f), 1.0 / 6.0) &&
        near(attr_float(f, "beta", 0.5f), 0.5) && mul_partner(closing, x) == f.outputs[0] &&
        sole_consumer(g, consumers, f.outputs[0]) == other) {
      return PostOpMatch{{PostOp::eltwise("hardswish")}, {}, {first, other}, closing->outputs[0]};
    }
    if (!is_op(f, "Add") || f.outputs.size() != 1 || !near(float_scalar(g, other_input(f, x)), 3.0)) continue;
    const int ci = sole_consumer(g, consumers, f.outputs[0]);
    const ir::Node* clip = node_if(g, ci, "Clip");
    if (clip == nullptr || clip->inputs[0] != f.outputs[0]) continue;
    const auto bounds = clip_bounds(g, *clip);
    if (!bounds || bounds->first != 0.0f || bounds->second != 6.0f) continue;
    const ir::ValueId c = clip->outputs[0];
    const int next = sole_consumer(g, consumers, c);
    if (next < 0) continue;
    const ir::Node& nn = g.nodes[static_cast<size_t>(next)];
    if (next == other && mul_partner(closing, x) == c) {
      // x * clip, then / 6
      const int last = sole_consumer(g, consumers, closing->outputs[0]);
      if (last >= 0 && g.nodes[static_cast<size_t>(last)].outputs.size() == 1 &&
          divides_by_six(g, g.nodes[static_cast<size_t>(last)], closing->outputs[0])) {
        return PostOpMatch{{PostOp::eltwise("hardswish")}, {}, {first, ci, other, last},
                           g.nodes[static_cast<size_t>(last)].outputs[0]};
      }
    } else if (nn.outputs.size() == 1 && divides_by_six(g, nn, c) &&
               sole_consumer(g, consumers, nn.outputs[0]) == other && mul_partner(closing, x) == nn.outputs[0]) {
      // clip / 6, then x * that
      return PostOpMatch{{PostOp::eltwise("hardswish")}, {}, {first, ci, next, other}, closing->outputs[0]};
    }
  }
  return std::nullopt;
}

// x * Sigmoid(x) and x * Sigmoid(k * x).
std::optional<PostOpMatch> match_swish(const ir::Graph& g, const Consumers& consumers, ir::ValueId x) {
  const auto& readers = consumers[static_cast<size_t>(x)];
  if (readers.size() != 2 || is_graph_output(g, x)) return std::nullopt;
  for (int first : readers) {
    const int other = first == readers[0] ? readers[1] : readers[0];
    const ir::Node* closing = node_if(g, other, "Mul");
    const ir::Node& f = g.nodes[static_cast<size_t>(first)];
    if (closing == nullptr || f.outputs.size() != 1) continue;
    float alpha = 1.0f;
    std::vector<int> nodes = {first};
    int sig = first;
    if (is_op(f, "Mul")) {
      const std::optional<double> k = float_scalar(g, other_input(f, x));
      if (!k) continue;
      alpha = static_cast<float>(*k);
      sig = sole_consumer(g, consumers, f.outputs[0]);
      nodes.push_back(sig);
    }
    const ir::Node* s = node_if(g, sig, "Sigmoid");
    if (s == nullptr || s->inputs[0] != (sig == first ? x : f.outputs[0])) continue;
    if (sole_consumer(g, consumers, s->outputs[0]) != other || mul_partner(closing, x) != s->outputs[0]) continue;
    nodes.push_back(other);
    return PostOpMatch{{PostOp::eltwise("swish", alpha)}, {}, nodes, closing->outputs[0]};
  }
  return std::nullopt;
}

// Mul/Add/Sub/Div with a constant: a linear map for a scalar, a binary
// post-op reading the constant when it varies per channel.
std::optional<PostOpMatch> match_constant_arithmetic(const ir::Graph& g, const ir::Node& n, int index, ir::ValueId x,
                                                     const OutputShape& shape) {
  const bool mul = is_op(n, "Mul"), add = is_op(n, "Add"), sub = is_op(n, "Sub"), div = is_op(n, "Div");
  if (!(mul || add || sub || div)) return std::nullopt;
  const ir::ValueId cv = other_input(n, x);
  const Tensor* c = float_constant(g, cv);
  if (c == nullptr || !per_channel_fits(*c, shape)) return std::nullopt;
  const bool x_first = n.inputs[0] == x;
  if (div && !x_first) return std::nullopt;  // c / x is no post-op
  if (c->numel() == 1) {
    const float k = c->data<float>()[0];
    if (div && k == 0.0f) return std::nullopt;
    if (mul) return single(PostOp::eltwise("linear", k, 0), index, n);
    if (add) return single(PostOp::eltwise("linear", 1, k), index, n);
    if (div) return single(PostOp::eltwise("linear", 1.0f / k, 0), index, n);
    return single(x_first ? PostOp::eltwise("linear", 1, -k) : PostOp::eltwise("linear", -1, k), index, n);
  }
  const char* alg = mul ? "mul" : add ? "add" : sub ? "sub" : "div";
  PostOpMatch m{{PostOp::binary(alg, 0)}, {cv}, {index}, n.outputs[0]};
  if (sub && !x_first) m.ops.push_back(PostOp::eltwise("linear", -1, 0));  // c - x = -(x - c)
  return m;
}

// One node reading x alone (besides constants).
std::optional<PostOpMatch> match_unary(const ir::Graph& g, int index, ir::ValueId x, const OutputShape& shape) {
  const ir::Node& n = g.nodes[static_cast<size_t>(index)];
  if (n.outputs.size() != 1 || n.inputs.empty()) return std::nullopt;
  if (n.inputs[0] != x) {
    if (n.inputs.size() == 2 && n.inputs[1] == x) return match_constant_arithmetic(g, n, index, x, shape);
    return std::nullopt;
  }
  const bool alone = n.inputs.size() == 1;
  if (is_op(n, "Relu") && alone) return single(PostOp::eltwise("relu"), index, n);
  if (is_op(n, "LeakyRelu") && alone) return single(PostOp::eltwise("relu", attr_float(n, "alpha", 0.01f)), index, n);
  if (is_op(n, "Sigmoid") && alone) return single(PostOp::eltwise("sigmoid"), index, n);
  if (is_op(n, "Tanh") && alone) return single(PostOp::eltwise("tanh"), index, n);
  if (is_op(n, "HardSwish") && alone) return single(PostOp::eltwise("hardswish"), index, n);
  if (is_op(n, "Neg") && alone) return single(PostOp::eltwise("linear", -1, 0), index, n);
  if (is_op(n, "Elu") && alone) return single(PostOp::eltwise("elu", attr_float(n, "alpha", 1.0f)), index, n);
  if (is_op(n, "HardSigmoid") && alone) {
    return single(PostOp::eltwise("hardsigmoid", attr_float(n, "alpha", 0.2f), attr_float(n, "beta", 0.5f)), index, n);
  }
  if (is_op(n, "Gelu") && alone) {
    const ir::Attribute* a = n.attribute("approximate");
    const std::string approx = a != nullptr && a->kind == ir::Attribute::Kind::kString ? a->s : "none";
    if (approx == "none" || approx == "tanh") {
      return single(PostOp::eltwise(approx == "none" ? "gelu_erf" : "gelu_tanh"), index, n);
    }
  }
  if (is_op(n, "Clip")) {
    const auto bounds = clip_bounds(g, n);
    if (bounds) return single(PostOp::eltwise("clip", bounds->first, bounds->second), index, n);
  }
  if ((is_op(n, "Max") || is_op(n, "Min")) && n.inputs.size() == 2) {
    const std::optional<double> k = float_scalar(g, n.inputs[1]);
    const Tensor* c = float_constant(g, n.inputs[1]);
    if (!k || !per_channel_fits(*c, shape)) return std::nullopt;
    const float lo = is_op(n, "Max") ? static_cast<float>(*k) : std::numeric_limits<float>::lowest();
    const float hi = is_op(n, "Min") ? static_cast<float>(*k) : std::numeric_limits<float>::max();
    return single(PostOp::eltwise("clip", lo, hi), index, n);
  }
  if (n.inputs.size() == 2) return match_constant_arithmetic(g, n, index, x, shape);
  return std::nullopt;
}

}  // namespace

bool takes_post_ops(const ir::Node& n) {
  const bool op = is_op(n, "Conv") || is_op(n, "ConvTranspose") || is_op(n, "MatMul") || is_op(n, "Gemm");
  return op && n.inputs.size() >= 2 && n.outputs.size() == 1 && n.outputs[0] != ir::kNoValue;
}

bool can_append(const ir::Node& n, const PostOpMatch& m) {
  Expected<std::vector<PostOp>> ops = read_post_ops(n);
  if (!ops) return false;
  ops->insert(ops->end(), m.ops.begin(), m.ops.end());
  return ops->size() <= kMaxPostOps && fits_onednn_chain(*ops);
}

std::optional<PostOpMatch> match_activation(const ir::Graph& g, const Consumers& consumers, const ir::Node& p) {
  const ir::ValueId x = p.outputs[0];
  if (auto m = match_hardswish(g, consumers, x)) return m;
  if (auto m = match_swish(g, consumers, x)) return m;
  const int n = sole_consumer(g, consumers, x);
  if (n < 0) return std::nullopt;
  return match_unary(g, n, x, output_shape(g, p));
}

size_t apply_match(ir::Graph& g, size_t p, const PostOpMatch& m) {
  ir::Node fused = std::move(g.nodes[p]);
  erase_node(g.nodes[p]);
  // Operands go after the op's own optional inputs (a Conv's B, Gemm's C).
  const size_t own_inputs = is_op(fused, "MatMul") ? 2 : 3;
  for (PostOp op : m.ops) {
    if (op.kind == PostOp::Kind::kBinary) {
      while (fused.inputs.size() < own_inputs) fused.inputs.push_back(ir::kNoValue);
      fused.inputs.push_back(m.operands[static_cast<size_t>(op.input)]);
      op.input = static_cast<int>(fused.inputs.size() - 1);
    }
    add_post_op(fused, op);
  }
  fused.outputs[0] = m.output;
  const int last = *std::max_element(m.nodes.begin(), m.nodes.end());
  for (int i : m.nodes) erase_node(g.nodes[static_cast<size_t>(i)]);
  g.nodes[static_cast<size_t>(last)] = std::move(fused);
  return static_cast<size_t>(last);
}

}  // namespace ecoinfer::passes
