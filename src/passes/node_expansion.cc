#include "passes/node_expansion.h"

#include <algorithm>

#include "passes/graph_rewrite.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {

ir::ValueId NodeExpansion::add(const std::string& op_type, std::vector<ir::ValueId> inputs,
                               std::map<std::string, ir::Attribute> attributes, ir::ValueId output, DataType dtype) {
  if (output == ir::kNoValue) {
    output = add_unique_value(g_, original_.name + "_" + op_type);
    g_.values[static_cast<size_t>(output)].info.dtype = dtype;
  }
  ir::Node n;
  n.name = original_.name + "_" + op_type + std::to_string(nodes.size());
  n.op_type = op_type;
  const bool quantize = op_type == "QuantizeLinear" || op_type == "DequantizeLinear";
  n.opset = quantize ? std::max(13, default_opset(g_)) : default_opset(g_);
  while (!inputs.empty() && inputs.back() == ir::kNoValue) inputs.pop_back();  // omitted optional inputs
  n.inputs = std::move(inputs);
  n.outputs = {output};
  n.attributes = std::move(attributes);
  nodes.push_back(std::move(n));
  return output;
}

ir::ValueId NodeExpansion::add_float_constant(const std::string& what, const Shape& shape, std::vector<float> values) {
  return add_constant(g_, original_.name + "_" + what, Tensor::from_vector<float>(shape, values));
}

ir::Attribute int_attribute(int64_t value) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = value;
  return a;
}

ir::Attribute float_attribute(float value) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloat;
  a.f = value;
  return a;
}

int default_opset(const ir::Graph& g) {
  auto it = g.opsets.find("");
  return it == g.opsets.end() ? 13 : static_cast<int>(it->second);
}

}  // namespace ecoinfer::passes
