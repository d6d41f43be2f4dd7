// x + x * s becomes x * (1 + s) when s is a gate (a HardSigmoid or Sigmoid
// output: PP-OCRv4 det's RSE layers add each squeeze-excitation product to
// its input, y = x + x * hardsigmoid(...), with s one value per channel).
// The Add over the whole feature map goes: 1 + s is computed on the small
// gate, and one Mul pass over x does the rest (det at 640x640: eight such
// Adds, the largest over 96x160x160 values). Broadcasting gives both forms
// the shape of broadcast(x, s); the results differ by float rounding only.
//
// Only where the Mul's output is read by the Add alone and is not a graph
// output. The gate's producer proves it floating (the constant 1 is float32).
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool is_gate(const ir::Graph& g, ir::ValueId v) {
  const int p = g.values[static_cast<size_t>(v)].producer;
  if (p < 0) return false;
  const ir::Node& n = g.nodes[static_cast<size_t>(p)];
  return is_op(n, "HardSigmoid") || is_op(n, "Sigmoid");
}

// The Add at `add_index` reading x and Mul(x, s): rewrites the Mul into
// s + 1 and the Add into x * (s + 1) (the Mul comes first in the order, as
// the new gate must).
bool rewrite(ir::Graph& g, const std::vector<std::vector<int>>& consumers, size_t add_index) {
  ir::Node& add = g.nodes[add_index];
  if (!is_op(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
  for (int side = 0; side < 2; ++side) {
    const ir::ValueId x = add.inputs[static_cast<size_t>(side)], product = add.inputs[static_cast<size_t>(1 - side)];
    if (x == product || x == ir::kNoValue || product == ir::kNoValue) continue;
    const int mul_index = g.values[static_cast<size_t>(product)].producer;
    if (mul_index < 0 || sole_consumer(g, consumers, product) != static_cast<int>(add_index)) continue;
    ir::Node& mul = g.nodes[static_cast<size_t>(mul_index)];
    if (!is_op(mul, "Mul") || mul.inputs.size() != 2 || mul.outputs.size() != 1) continue;
    const int x_side = mul.inputs[0] == x ? 0 : mul.inputs[1] == x ? 1 : -1;
    if (x_side < 0) continue;
    const ir::ValueId s = mul.inputs[static_cast<size_t>(1 - x_side)];
    if (s == x || !is_gate(g, s)) continue;
    const ir::ValueId one = add_constant(g, mul.name + "_one", Tensor::scalar<float>(1.0f));
    const ir::ValueId gain = add_unique_value(g, g.name_of(s) + "_plus_one");
    mul.op_type = "Add";
    mul.name += "_gain";
    mul.inputs = {s, one};
    mul.outputs = {gain};
    add.op_type = "Mul";
    add.inputs = {x, gain};
    return true;
  }
  return false;
}

}  // namespace

Expected<int> fuse_scaled_residual_pass(ir::Graph& g) {
  const auto consumers = consumers_of(g);
  int rewrites = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) rewrites += rewrite(g, consumers, i) ? 1 : 0;
  refresh_producers(g);
  return rewrites;
}

}  // namespace ecoinfer::passes
