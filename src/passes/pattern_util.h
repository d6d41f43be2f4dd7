// Small matching helpers the graph-side passes share (constant_folding,
// remove_identity, fold_batchnorm, fold_scale_shift, fuse_layernorm,
// fuse_gelu, fuse_elementwise): "is this a default-domain Mul", "is this
// value a scalar constant and what is it", "add a new constant".
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ecoinfer/tensor.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

// True for a node of `op_type` in the default ONNX domain.
bool is_op(const ir::Node& n, const char* op_type);

// The constant's value when `v` is a floating constant with one element.
std::optional<double> scalar_constant(const ir::Graph& g, ir::ValueId v);

// The float32 constant behind `v`, or nullptr.
const Tensor* float_constant(const ir::Graph& g, ir::ValueId v);

// The only node reading `v` when exactly one node does and `v` is not a
// graph output; -1 otherwise. `consumers` comes from consumers_of().
int sole_consumer(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::ValueId v);

// Adds `t` as a new constant value named "<base>__<n>".
ir::ValueId add_constant(ir::Graph& g, const std::string& base, Tensor t);

// The node's other input when `v` is one of its two inputs; kNoValue when
// `v` is neither (or both).
ir::ValueId other_input(const ir::Node& n, ir::ValueId v);

}  // namespace ecoinfer::passes

namespace ecoinfer::passes {

// Marks a node as removed without shifting indices: it reads and writes
// nothing afterwards, so consumers_of() and refresh_producers() ignore it.
// drop_erased_nodes() removes the marked nodes at the end of a pass.
void erase_node(ir::Node& n);
void drop_erased_nodes(ir::Graph& g);

// Replaces a matched pattern by one node: the pattern's nodes are erased and
// `replacement` takes the place of the last of them (all the pattern's
// inputs are defined before its first node, so the order stays valid).
// Producers are refreshed; indices of other nodes do not move.
void replace_pattern(ir::Graph& g, std::span<const int> matched, ir::Node replacement);

}  // namespace ecoinfer::passes
