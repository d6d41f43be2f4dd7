// Chains of element-wise ops become one FusedElementwise node (domain
// "com.ecoinfer", kernel in src/kernels/ref/fused_elementwise.cc) that runs
// the chain as a small program over blocks of elements, so the
// intermediate tensors never go to memory. Runs after the conv/matmul
// post-op fusions and takes what they left: HardSwish written as
// Add -> Clip -> Mul -> Div, Swish as Mul -> Sigmoid -> Mul, learnt scalar
// affine maps after activations.
//
// A chain starts at a node reading one value x (its other inputs scalar
// constants) and grows through the readers of the last value. Every step's
// operands are registers (x or an earlier step's output, so all of x's
// shape) or float32 scalar constants, which keeps the program free of
// broadcasting. An intermediate read outside the chain, or a graph output,
// ends the chain before it would be swallowed.
//
// The element type must be known to be floating: a float32 constant in the
// chain, a float-only op, or x declared floating. Integer chains (shape
// arithmetic) stay as they are.
#include <algorithm>
#include <limits>
#include <map>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

constexpr size_t kMaxSteps = 32;  // the kernel's limit
constexpr int64_t kScalar = -1;
constexpr int64_t kNone = -2;

struct OpInfo {
  const char* name;
  bool binary;
  bool float_only;  // the reference kernel takes only floating types
  float alpha;      // default attributes
  float beta;
};

constexpr OpInfo kFusable[] = {
    {"Add", true, false, 0, 0},          {"Sub", true, false, 0, 0},
    {"Mul", true, false, 0, 0},          {"Div", true, false, 0, 0},
    {"Pow", true, false, 0, 0},          {"Relu", false, false, 0, 0},
    {"LeakyRelu", false, true, 0.01f, 0}, {"Sigmoid", false, true, 0, 0},
    {"HardSigmoid", false, true, 0.2f, 0.5f}, {"HardSwish", false, true, 0, 0},
    {"Tanh", false, true, 0, 0},         {"Erf", false, false, 0, 0},
    {"Exp", false, true, 0, 0},          {"Log", false, true, 0, 0},
    {"Sqrt", false, true, 0, 0},         {"Neg", false, false, 0, 0},
    {"Reciprocal", false, true, 0, 0},   {"Abs", false, false, 0, 0},
    {"Clip", false, false, 0, 0},        {"Floor", false, true, 0, 0},
    {"Ceil", false, true, 0, 0},         {"Elu", false, true, 1.0f, 0},
};

struct Step {
  std::string op;
  int64_t lhs = kNone, rhs = kNone;
  float scalar = 0, alpha = 0, beta = 0;
  bool proves_float = false;
  int64_t scalar_rank = 0;
};

struct Chain {
  ir::ValueId x = ir::kNoValue;
  std::map<ir::ValueId, int64_t> registers;  // value -> register
  std::vector<int> nodes;
  std::vector<Step> steps;
};

float attr_float(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kFloat ? a->f : fallback;
}

// An operand: a register, or a float32 scalar constant.
bool operand(const ir::Graph& g, const Chain& c, ir::ValueId v, int64_t& slot, Step& s) {
  if (auto it = c.registers.find(v); it != c.registers.end()) {
    slot = it->second;
    return true;
  }
  const Tensor* t = float_constant(g, v);
  if (t == nullptr || t->numel() != 1) return false;
  slot = kScalar;
  s.scalar = t->data<float>()[0];
  s.proves_float = true;
  s.scalar_rank = static_cast<int64_t>(t->rank());
  return true;
}

// Clip's bounds: attributes before opset 11, optional scalar inputs after.
bool clip_bounds(const ir::Graph& g, const ir::Node& n, Step& s) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (n.opset < 11) {
    s.alpha = attr_float(n, "min", -kInf);
    s.beta = attr_float(n, "max", kInf);
    s.proves_float = true;
    return true;
  }
  float bound[2] = {-kInf, kInf};
  for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
    if (n.inputs[i] == ir::kNoValue) continue;
    const Tensor* t = float_constant(g, n.inputs[i]);
    if (t == nullptr || t->numel() != 1) return false;
    bound[i - 1] = t->data<float>()[0];
    s.proves_float = true;
  }
  s.alpha = bound[0];
  s.beta = bound[1];
  return n.inputs.size() <= 3;
}

// The step node n computes, when it can join chain c.
std::optional<Step> step_of(const ir::Graph& g, const Chain& c, const ir::Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return std::nullopt;
  const auto* info = std::find_if(std::begin(kFusable), std::end(kFusable),
                                  [&](const OpInfo& o) { return n.op_type == o.name; });
  if (info == std::end(kFusable) || n.outputs.size() != 1 || n.inputs.empty()) return std::nullopt;
  Step s;
  s.op = n.op_type;
  s.proves_float = info->float_only;
  s.alpha = attr_float(n, "alpha", info->alpha);
  s.beta = attr_float(n, "beta", info->beta);
  if (info->binary) {
    if (n.inputs.size() != 2) return std::nullopt;
    if (!operand(g, c, n.inputs[0], s.lhs, s) || !operand(g, c, n.inputs[1], s.rhs, s)) return std::nullopt;
    if (s.lhs == kScalar && s.rhs == kScalar) return std::nullopt;
    if (s.op == "Pow" && (s.lhs == kScalar || s.rhs != kScalar)) return std::nullopt;
    return s;
  }
  auto it = c.registers.find(n.inputs[0]);
  if (it == c.registers.end()) return std::nullopt;
  s.lhs = it->second;
  if (s.op == "Clip") {
    if (!clip_bounds(g, n, s)) return std::nullopt;
  } else if (n.inputs.size() != 1) {
    return std::nullopt;
  }
  return s;
}

// Starts a chain at node `start`: x is its one non-constant input.
std::optional<Chain> start_chain(const ir::Graph& g, int start) {
  const ir::Node& n = g.nodes[static_cast<size_t>(start)];
  Chain c;
  for (ir::ValueId v : n.inputs)
    if (v != ir::kNoValue && g.constant(v) == nullptr) {
      if (c.x != ir::kNoValue && c.x != v) return std::nullopt;
      c.x = v;
    }
  if (c.x == ir::kNoValue) return std::nullopt;
  c.registers[c.x] = 0;
  std::optional<Step> s = step_of(g, c, n);
  if (!s) return std::nullopt;
  c.nodes.push_back(start);
  c.steps.push_back(*s);
  c.registers[n.outputs[0]] = 1;
  return c;
}

// Grows the chain through the first reader of its last value.
void grow(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, Chain& c) {
  while (c.steps.size() < kMaxSteps) {
    const ir::ValueId last = g.nodes[static_cast<size_t>(c.nodes.back())].outputs[0];
    const auto& readers = consumers[static_cast<size_t>(last)];
    if (readers.empty() || is_graph_output(g, last)) return;
    const int next = *std::min_element(readers.begin(), readers.end());
    std::optional<Step> s = step_of(g, c, g.nodes[static_cast<size_t>(next)]);
    if (!s) return;
    c.nodes.push_back(next);
    c.steps.push_back(*s);
    c.registers[g.nodes[static_cast<size_t>(next)].outputs[0]] = static_cast<int64_t>(c.steps.size());
  }
}

// The longest prefix whose intermediates are read only inside it.
size_t valid_length(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, const Chain& c) {
  for (size_t len = c.nodes.size(); len >= 2; --len) {
    bool ok = true;
    for (size_t k = 0; ok && k + 1 < len; ++k) {
      const ir::ValueId v = g.nodes[static_cast<size_t>(c.nodes[k])].outputs[0];
      if (is_graph_output(g, v)) ok = false;
      for (int r : consumers[static_cast<size_t>(v)])
        ok &= std::find(c.nodes.begin(), c.nodes.begin() + static_cast<std::ptrdiff_t>(len), r) !=
              c.nodes.begin() + static_cast<std::ptrdiff_t>(len);
    }
    if (ok) return len;
  }
  return 0;
}

bool is_floating(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

ir::Node make_fused_node(const ir::Graph& g, const Chain& c, size_t len) {
  ir::Node f;
  f.name = g.nodes[static_cast<size_t>(c.nodes[0])].name + "_fused";
  f.op_type = "FusedElementwise";
  f.domain = kInternalDomain;
  f.opset = 1;
  f.inputs = {c.x};
  f.outputs = {g.nodes[static_cast<size_t>(c.nodes[len - 1])].outputs[0]};
  auto& ops = f.attributes["ops"];
  ops.kind = ir::Attribute::Kind::kStrings;
  auto& lhs = f.attributes["lhs"];
  auto& rhs = f.attributes["rhs"];
  lhs.kind = rhs.kind = ir::Attribute::Kind::kInts;
  auto& scalars = f.attributes["scalars"];
  auto& alpha = f.attributes["alpha"];
  auto& beta = f.attributes["beta"];
  scalars.kind = alpha.kind = beta.kind = ir::Attribute::Kind::kFloats;
  auto& rank = f.attributes["rank"];
  rank.kind = ir::Attribute::Kind::kInt;
  for (size_t k = 0; k < len; ++k) {
    const Step& s = c.steps[k];
    ops.strings.push_back(s.op);
    lhs.ints.push_back(s.lhs);
    rhs.ints.push_back(s.rhs);
    scalars.floats.push_back(s.scalar);
    alpha.floats.push_back(s.alpha);
    beta.floats.push_back(s.beta);
    rank.i = std::max(rank.i, s.scalar_rank);
  }
  return f;
}

}  // namespace

Expected<int> fuse_elementwise_pass(ir::Graph& g) {
  int fused = 0;
  std::vector<std::vector<int>> consumers = consumers_of(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::optional<Chain> c = start_chain(g, static_cast<int>(i));
    if (!c) continue;
    grow(g, consumers, *c);
    const size_t len = valid_length(g, consumers, *c);
    if (len < 2) continue;
    bool is_float = is_floating(g.values[static_cast<size_t>(c->x)].info.dtype);
    for (size_t k = 0; k < len; ++k) is_float |= c->steps[k].proves_float;
    if (!is_float) continue;
    ir::Node f = make_fused_node(g, *c, len);
    replace_pattern(g, std::span<const int>(c->nodes.data(), len), std::move(f));
    consumers = consumers_of(g);
    ++fused;
  }
  drop_erased_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
