// The decomposed LayerNorm exporters emit (PaddleOCR's rec model has five):
//
//   mean = ReduceMean(x, axes=[-1])      d = Sub(x, mean)
//   sq = Pow(d, 2)  or  Mul(d, d)        var = ReduceMean(sq, axes=[-1])
//   std = Sqrt(Add(var, eps))            n = Div(d, std)
//   y = Add(Mul(n, gamma), beta)         (the Add is optional)
//
// becomes one LayerNormalization(x, gamma, beta) node, axis = the first
// reduced axis, epsilon from the constant. The new node is marked opset 17
// (LayerNormalization's first version) whatever the model's opset.
//
// Every intermediate must be read only inside the pattern and must not be a
// graph output. The reduced axes must be the trailing ones: negative axes
// ending at -1, or positive axes when x's rank is declared.
#include <algorithm>
#include <cmath>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

constexpr int kLayerNormOpset = 17;

struct Match {
  ir::ValueId x = ir::kNoValue;
  int64_t axis = -1;
  float epsilon = 0;
  ir::ValueId gamma = ir::kNoValue;
  ir::ValueId beta = ir::kNoValue;
  ir::ValueId y = ir::kNoValue;
  std::vector<int> nodes;  // every node of the pattern, the last one last
};

// The reduced axes of a keepdims ReduceMean as one trailing range, written
// as the LayerNormalization axis (negative when x's rank is unknown).
std::optional<int64_t> trailing_axis(const ir::Graph& g, const ir::Node& r) {
  if (!is_op(r, "ReduceMean") || r.inputs.empty() || r.outputs.size() != 1) return std::nullopt;
  if (const ir::Attribute* k = r.attribute("keepdims"); k != nullptr && k->i == 0) return std::nullopt;
  std::vector<int64_t> axes;
  if (const ir::Attribute* a = r.attribute("axes"); a != nullptr) axes = a->ints;
  else if (r.inputs.size() > 1 && r.inputs[1] != ir::kNoValue) {  // opset 18: axes input
    const Tensor* t = g.constant(r.inputs[1]);
    if (t == nullptr || t->dtype() != DataType::kInt64) return std::nullopt;
    axes.assign(t->span<int64_t>().begin(), t->span<int64_t>().end());
  }
  if (axes.empty()) return std::nullopt;
  const ValueDescription& info = g.values[static_cast<size_t>(r.inputs[0])].info;
  const auto rank = info.has_shape ? static_cast<int64_t>(info.shape.size()) : int64_t{-1};
  for (int64_t& a : axes) {
    if (a >= 0) {
      if (rank < 0) return std::nullopt;
      a -= rank;  // to the negative form
    }
  }
  std::sort(axes.begin(), axes.end());
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != -static_cast<int64_t>(axes.size() - i)) return std::nullopt;
  return axes.front();
}

// Walks forward from the first ReduceMean. Each step checks one node and
// that the value it reads has no reader outside the pattern.
std::optional<Match> match_at(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, int first) {
  const ir::Node& mean = g.nodes[static_cast<size_t>(first)];
  Match m;
  const std::optional<int64_t> axis = trailing_axis(g, mean);
  if (!axis) return std::nullopt;
  m.x = mean.inputs[0];
  m.axis = *axis;
  auto node = [&](int i) -> const ir::Node& { return g.nodes[static_cast<size_t>(i)]; };
  const int sub = sole_consumer(g, consumers, mean.outputs[0]);
  if (sub < 0 || !is_op(node(sub), "Sub") || node(sub).inputs[0] != m.x || node(sub).inputs[1] != mean.outputs[0])
    return std::nullopt;
  const ir::ValueId d = node(sub).outputs[0];
  // d feeds the square (Pow or Mul, read once or twice) and the Div.
  const auto& d_readers = consumers[static_cast<size_t>(d)];
  if (d_readers.size() != 2 || is_graph_output(g, d)) return std::nullopt;
  int square = -1, div = -1;
  for (int r : d_readers) (is_op(node(r), "Div") ? div : square) = r;
  if (square < 0 || div < 0 || node(div).inputs[0] != d) return std::nullopt;
  const ir::Node& sq = node(square);
  const bool pow2 = is_op(sq, "Pow") && sq.inputs.size() == 2 && sq.inputs[0] == d &&
                    scalar_constant(g, sq.inputs[1]) == 2.0;
  const bool mul_dd = is_op(sq, "Mul") && sq.inputs.size() == 2 && sq.inputs[0] == d && sq.inputs[1] == d;
  if (!pow2 && !mul_dd) return std::nullopt;
  const int var = sole_consumer(g, consumers, sq.outputs[0]);
  if (var < 0 || trailing_axis(g, node(var)) != m.axis) return std::nullopt;
  const int add_eps = sole_consumer(g, consumers, node(var).outputs[0]);
  if (add_eps < 0 || !is_op(node(add_eps), "Add")) return std::nullopt;
  const std::optional<double> eps = scalar_constant(g, other_input(node(add_eps), node(var).outputs[0]));
  if (!eps || *eps < 0) return std::nullopt;
  m.epsilon = static_cast<float>(*eps);
  const int sqrt = sole_consumer(g, consumers, node(add_eps).outputs[0]);
  if (sqrt < 0 || !is_op(node(sqrt), "Sqrt")) return std::nullopt;
  if (sole_consumer(g, consumers, node(sqrt).outputs[0]) != div || node(div).inputs[1] != node(sqrt).outputs[0])
    return std::nullopt;
  // Scale, then the optional bias.
  const int mul = sole_consumer(g, consumers, node(div).outputs[0]);
  if (mul < 0 || !is_op(node(mul), "Mul")) return std::nullopt;
  m.gamma = other_input(node(mul), node(div).outputs[0]);
  if (float_constant(g, m.gamma) == nullptr) return std::nullopt;
  m.nodes = {first, sub, square, var, add_eps, sqrt, div, mul};
  m.y = node(mul).outputs[0];
  const int add = sole_consumer(g, consumers, m.y);
  if (add >= 0 && is_op(node(add), "Add")) {
    const ir::ValueId b = other_input(node(add), m.y);
    if (float_constant(g, b) != nullptr) {
      m.beta = b;
      m.y = node(add).outputs[0];
      m.nodes.push_back(add);
    }
  }
  return m;
}

// LayerNormalization's Scale and B must broadcast to the normalized shape:
// after dropping leading 1s, no more dimensions than the reduced axes. And
// the Mul/Add must not have raised x's rank with those leading 1s.
bool fits_normalized_shape(const ir::Graph& g, const Tensor& t, ir::ValueId x, int64_t axis) {
  const ValueDescription& info = g.values[static_cast<size_t>(x)].info;
  const auto rank = static_cast<int64_t>(t.rank());
  if (rank > -axis && !(info.has_shape && rank <= static_cast<int64_t>(info.shape.size()))) return false;
  Shape s = t.shape();
  while (!s.empty() && s.front() == 1) s.erase(s.begin());
  return static_cast<int64_t>(s.size()) <= -axis;
}

}  // namespace

Expected<int> fuse_layernorm_pass(ir::Graph& g) {
  int fused = 0;
  std::vector<std::vector<int>> consumers = consumers_of(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "ReduceMean")) continue;
    std::optional<Match> m = match_at(g, consumers, static_cast<int>(i));
    if (!m || !fits_normalized_shape(g, *g.constant(m->gamma), m->x, m->axis)) continue;
    if (m->beta != ir::kNoValue && !fits_normalized_shape(g, *g.constant(m->beta), m->x, m->axis)) continue;
    ir::Node ln;
    ln.name = g.nodes[i].name + "_layernorm";
    ln.op_type = "LayerNormalization";
    ln.opset = kLayerNormOpset;
    ln.inputs = {m->x, m->gamma};
    if (m->beta != ir::kNoValue) ln.inputs.push_back(m->beta);
    ln.outputs = {m->y};
    ln.attributes["axis"].kind = ir::Attribute::Kind::kInt;
    ln.attributes["axis"].i = m->axis;
    ln.attributes["epsilon"].kind = ir::Attribute::Kind::kFloat;
    ln.attributes["epsilon"].f = m->epsilon;
    replace_pattern(g, m->nodes, std::move(ln));
    consumers = consumers_of(g);
    ++fused;
  }
  drop_erased_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
