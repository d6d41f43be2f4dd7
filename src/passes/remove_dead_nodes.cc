// Drops nodes whose outputs nobody reads, and unread constants.
#include "passes/graph_rewrite.h"
#include "passes/passes.h"

namespace ecoinfer::passes {

Expected<int> remove_dead_nodes_pass(ir::Graph& g) { return remove_dead_nodes(g); }

}  // namespace ecoinfer::passes
