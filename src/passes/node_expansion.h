// Replacing one node by a few plain ONNX nodes that mean the same
// (expand_qlinear.cc, expand_contrib_ops.cc): the new nodes are collected in
// order and take the original node's place, so the graph stays sorted.
//
//   NodeExpansion e(g, qconv);
//   ir::ValueId x = e.add("DequantizeLinear", {qconv.inputs[0], s, z});
//   e.add("Conv", {x, w}, qconv.attributes, qconv.outputs[0]);
//   replacement = std::move(e.nodes);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ecoinfer/tensor.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

class NodeExpansion {
 public:
  NodeExpansion(ir::Graph& g, const ir::Node& original) : g_(g), original_(original) {}

  // Appends a default-domain `op_type` node reading `inputs` (trailing
  // kNoValue ones, omitted optional inputs, dropped); it writes
  // `output` when given, else a new value of type `dtype`, which it returns.
  // QuantizeLinear and DequantizeLinear get opset 13 at least (per-axis
  // scales), the others the model's default-domain opset.
  ir::ValueId add(const std::string& op_type, std::vector<ir::ValueId> inputs,
                  std::map<std::string, ir::Attribute> attributes = {}, ir::ValueId output = ir::kNoValue,
                  DataType dtype = DataType::kFloat32);

  // A new float32 constant of `shape`, named after the original node.
  ir::ValueId add_float_constant(const std::string& what, const Shape& shape, std::vector<float> values);

  std::vector<ir::Node> nodes;

 private:
  ir::Graph& g_;
  const ir::Node& original_;
};

ir::Attribute int_attribute(int64_t value);
ir::Attribute float_attribute(float value);

// The model's opset of the default domain (13 when it does not say).
int default_opset(const ir::Graph& g);

// Replaces every node for which `expand` returns a non-empty list by that
// list; returns how many were replaced. Producers are refreshed.
template <typename Expand>
int expand_nodes(ir::Graph& g, Expand expand) {
  std::vector<ir::Node> out;
  out.reserve(g.nodes.size());
  int expanded = 0;
  for (ir::Node& n : g.nodes) {
    std::vector<ir::Node> replacement = expand(n);
    if (replacement.empty()) {
      out.push_back(std::move(n));
      continue;
    }
    ++expanded;
    for (ir::Node& r : replacement) out.push_back(std::move(r));
  }
  g.nodes = std::move(out);
  return expanded;
}

}  // namespace ecoinfer::passes
