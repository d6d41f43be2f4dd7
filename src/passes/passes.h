// Declarations of every pass function; each lives in its own file.
#pragma once

#include "ecoinfer/status.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

Expected<int> remove_dead_nodes_pass(ir::Graph& g);

}  // namespace ecoinfer::passes
