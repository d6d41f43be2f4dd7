#include "passes/graph_rewrite.h"

#include <algorithm>
#include <unordered_set>

namespace ecoinfer::passes {

std::vector<std::vector<int>> consumers_of(const ir::Graph& g) {
  std::vector<std::vector<int>> consumers(g.values.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ir::ValueId v : g.nodes[i].inputs) {
      if (v == ir::kNoValue) continue;
      auto& list = consumers[static_cast<size_t>(v)];
      if (list.empty() || list.back() != static_cast<int>(i)) list.push_back(static_cast<int>(i));
    }
  }
  return consumers;
}

bool is_graph_output(const ir::Graph& g, ir::ValueId v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to) {
  for (ir::Node& n : g.nodes)
    for (ir::ValueId& v : n.inputs)
      if (v == from) v = to;
  for (ir::ValueId& v : g.outputs)
    if (v == from) v = to;
}

void refresh_producers(ir::Graph& g) {
  for (ir::Value& v : g.values) v.producer = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ir::ValueId v : g.nodes[i].outputs)
      if (v != ir::kNoValue) g.values[static_cast<size_t>(v)].producer = static_cast<int>(i);
}

void remove_nodes(ir::Graph& g, const std::vector<bool>& remove) {
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!remove[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  refresh_producers(g);
}

int remove_dead_nodes(ir::Graph& g) {
  int removed = 0;
  // Walk backwards: a node is live when a graph output or a live node reads it.
  std::vector<bool> live_value(g.values.size(), false);
  for (ir::ValueId v : g.outputs) live_value[static_cast<size_t>(v)] = true;
  std::vector<bool> remove(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const ir::Node& n = g.nodes[k];
    bool live = false;
    for (ir::ValueId o : n.outputs) live |= o != ir::kNoValue && live_value[static_cast<size_t>(o)];
    if (!live) {
      remove[k] = true;
      ++removed;
      continue;
    }
    for (ir::ValueId v : n.inputs)
      if (v != ir::kNoValue) live_value[static_cast<size_t>(v)] = true;
  }
  if (removed) remove_nodes(g, remove);
  for (auto it = g.constants.begin(); it != g.constants.end();) {
    if (!live_value[static_cast<size_t>(it->first)]) it = g.constants.erase(it);
    else ++it;
  }
  return removed;
}

ir::ValueId add_unique_value(ir::Graph& g, const std::string& base) {
  for (int n = 0;; ++n) {
    const std::string name = base + "__" + std::to_string(n);
    if (g.find_value(name) == ir::kNoValue) return g.add_value(name);
  }
}

}  // namespace ecoinfer::passes
