// The erf GELU that exporters spell out, x * 0.5 * (1 + Erf(x / sqrt 2)),
// becomes one Gelu node (default domain, marked opset 20, Gelu's first
// version). Accepted spellings:
//
//   u = Div(x, 1.4142...)  or  Mul(x, 0.7071...)
//   p = Add(Erf(u), 1)
//   y = Mul(Mul(x, p), 0.5)       the 0.5 last
//   y = Mul(Mul(x, 0.5), p)       the 0.5 first
//   y = Mul(x, Mul(p, 0.5))       the 0.5 on the (1 + erf) side
//
// with either operand order of every Mul and Add. Every intermediate must be
// read only inside the pattern and must not be a graph output.
#include <algorithm>
#include <cmath>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

constexpr int kGeluOpset = 20;

bool near(std::optional<double> v, double target, double rel) {
  return v && std::fabs(*v - target) <= rel * std::fabs(target);
}

struct Match {
  ir::ValueId x = ir::kNoValue;
  ir::ValueId y = ir::kNoValue;
  std::vector<int> nodes;
};

// x for u = x / sqrt(2) or x * (1 / sqrt(2)), from u's producer.
ir::ValueId scaled_input(const ir::Graph& g, const ir::Node& q) {
  if (q.inputs.size() != 2) return ir::kNoValue;
  if (is_op(q, "Div") && near(scalar_constant(g, q.inputs[1]), std::sqrt(2.0), 1e-3)) return q.inputs[0];
  if (!is_op(q, "Mul")) return ir::kNoValue;
  for (int k = 0; k < 2; ++k)
    if (near(scalar_constant(g, q.inputs[static_cast<size_t>(k)]), std::sqrt(0.5), 1e-3))
      return q.inputs[static_cast<size_t>(1 - k)];
  return ir::kNoValue;
}

// Whether node n is Mul(v, 0.5) in either order.
bool is_half_of(const ir::Graph& g, const ir::Node& n, ir::ValueId v) {
  return is_op(n, "Mul") && near(scalar_constant(g, other_input(n, v)), 0.5, 1e-6);
}

std::optional<Match> match_at(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, int erf) {
  auto node = [&](int i) -> const ir::Node& { return g.nodes[static_cast<size_t>(i)]; };
  const ir::Node& e = node(erf);
  if (e.inputs.size() != 1 || e.outputs.size() != 1) return std::nullopt;
  const ir::ValueId u = e.inputs[0];
  const int q = g.values[static_cast<size_t>(u)].producer;
  if (q < 0 || sole_consumer(g, consumers, u) != erf) return std::nullopt;
  Match m;
  m.x = scaled_input(g, node(q));
  if (m.x == ir::kNoValue) return std::nullopt;
  const int add = sole_consumer(g, consumers, e.outputs[0]);
  if (add < 0 || !is_op(node(add), "Add") || !near(scalar_constant(g, other_input(node(add), e.outputs[0])), 1.0, 1e-6))
    return std::nullopt;
  const ir::ValueId p = node(add).outputs[0];
  const int m1 = sole_consumer(g, consumers, p);
  if (m1 < 0 || !is_op(node(m1), "Mul")) return std::nullopt;
  const ir::ValueId other = other_input(node(m1), p);
  if (other == ir::kNoValue) return std::nullopt;
  m.nodes = {q, erf, add, m1};
  const ir::ValueId m1_out = node(m1).outputs[0];
  if (other == m.x || is_half_of(g, node(m1), p)) {
    // 0.5 last, or on the (1 + erf) side: one more Mul by 0.5 or by x.
    const int m2 = sole_consumer(g, consumers, m1_out);
    if (m2 < 0) return std::nullopt;
    const bool ok = other == m.x ? is_half_of(g, node(m2), m1_out) : other_input(node(m2), m1_out) == m.x;
    if (!ok) return std::nullopt;
    m.nodes.push_back(m2);
    m.y = node(m2).outputs[0];
    return m;
  }
  // 0.5 first: other = Mul(x, 0.5), read only here.
  const int h = g.values[static_cast<size_t>(other)].producer;
  if (h < 0 || !is_half_of(g, node(h), m.x) || sole_consumer(g, consumers, other) != m1) return std::nullopt;
  m.nodes.push_back(h);
  m.y = m1_out;
  return m;
}

}  // namespace

Expected<int> fuse_gelu_pass(ir::Graph& g) {
  int fused = 0;
  std::vector<std::vector<int>> consumers = consumers_of(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_op(g.nodes[i], "Erf")) continue;
    std::optional<Match> m = match_at(g, consumers, static_cast<int>(i));
    if (!m) continue;
    ir::Node gelu;
    gelu.name = g.nodes[i].name + "_gelu";
    gelu.op_type = "Gelu";
    gelu.opset = kGeluOpset;
    gelu.inputs = {m->x};
    gelu.outputs = {m->y};
    replace_pattern(g, m->nodes, std::move(gelu));
    consumers = consumers_of(g);
    ++fused;
  }
  drop_erased_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
