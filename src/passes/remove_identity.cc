// Identity and inference-mode Dropout removal: y = Identity(x) disappears
// and y's readers read x.
//
// When y is a graph output its name must survive (callers ask for it by
// name): then x is renamed instead, the producer of x writing y directly,
// which works when x is an ordinary intermediate (not a graph input, a
// constant, or itself a graph output). Otherwise the node stays.
#include <algorithm>

#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// Dropout is the identity on its first output unless it trains: opset 12+
// takes training_mode as an input (absent or constant false means
// inference); before opset 7, is_test = 0 meant training. A read mask
// output keeps the node.
bool is_inference_dropout(const ir::Graph& g, const ir::Node& n) {
  if (!is_op(n, "Dropout")) return false;
  if (n.outputs.size() > 1 && n.outputs[1] != ir::kNoValue) return false;
  if (const ir::Attribute* t = n.attribute("is_test"); t != nullptr && t->i == 0) return false;
  if (n.inputs.size() > 2 && n.inputs[2] != ir::kNoValue) {
    const Tensor* mode = g.constant(n.inputs[2]);
    if (mode == nullptr || mode->dtype() != DataType::kBool || mode->numel() != 1 || mode->data<bool>()[0]) return false;
  }
  return true;
}

bool is_removable(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.inputs[0] == ir::kNoValue || n.outputs.empty() || n.outputs[0] == ir::kNoValue)
    return false;
  if (is_op(n, "Identity")) return n.inputs.size() == 1 && n.outputs.size() == 1;
  return is_inference_dropout(g, n);
}

bool is_graph_input(const ir::Graph& g, ir::ValueId v) {
  return std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
}

}  // namespace

Expected<int> remove_identity_pass(ir::Graph& g) {
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!is_removable(g, n)) continue;
    const ir::ValueId x = n.inputs[0];
    const ir::ValueId y = n.outputs[0];
    if (!is_graph_output(g, y)) {
      erase_node(n);
      replace_uses(g, y, x);
    } else {
      // Rename x to y: its producer writes y, its readers read y.
      const int producer = g.values[static_cast<size_t>(x)].producer;
      if (producer < 0 || is_graph_input(g, x) || g.constant(x) != nullptr || is_graph_output(g, x)) continue;
      erase_node(n);
      for (ir::ValueId& o : g.nodes[static_cast<size_t>(producer)].outputs)
        if (o == x) o = y;
      replace_uses(g, x, y);
      g.values[static_cast<size_t>(y)].producer = producer;
    }
    ++removed;
  }
  drop_erased_nodes(g);
  return removed;
}

}  // namespace ecoinfer::passes
