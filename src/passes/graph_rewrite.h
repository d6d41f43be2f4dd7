// Small graph-editing tools the passes share: who reads a value, replacing
// uses, removing nodes, keeping the graph valid.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace ecoinfer::passes {

// For each value, the indices of the nodes that read it.
std::vector<std::vector<int>> consumers_of(const ir::Graph& g);

bool is_graph_output(const ir::Graph& g, ir::ValueId v);

// Makes every node (and graph output) that read `from` read `to` instead.
void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to);

// Removes the nodes whose `remove` flag is set, then re-establishes
// producers. Nodes stay in topological order.
void remove_nodes(ir::Graph& g, const std::vector<bool>& remove);

// Removes nodes none of whose outputs are read by anyone (dead code), and
// constants nobody reads. Returns how many nodes went.
int remove_dead_nodes(ir::Graph& g);

// Recomputes Value::producer from the node list.
void refresh_producers(ir::Graph& g);

// A fresh value name that does not clash: "<base>__<n>".
ir::ValueId add_unique_value(ir::Graph& g, const std::string& base);

}  // namespace ecoinfer::passes
