#include "passes/pattern_util.h"

#include <algorithm>

#include "passes/graph_rewrite.h"

namespace ecoinfer::passes {

bool is_op(const ir::Node& n, const char* op_type) {
  return n.op_type == op_type && (n.domain.empty() || n.domain == "ai.onnx");
}

std::optional<double> scalar_constant(const ir::Graph& g, ir::ValueId v) {
  const Tensor* t = v == ir::kNoValue ? nullptr : g.constant(v);
  if (t == nullptr || t->numel() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DataType::kFloat32: return static_cast<double>(t->data<float>()[0]);
    case DataType::kFloat64: return t->data<double>()[0];
    default: return std::nullopt;
  }
}

const Tensor* float_constant(const ir::Graph& g, ir::ValueId v) {
  const Tensor* t = v == ir::kNoValue ? nullptr : g.constant(v);
  return t != nullptr && t->dtype() == DataType::kFloat32 ? t : nullptr;
}

int sole_consumer(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::ValueId v) {
  if (v == ir::kNoValue || is_graph_output(g, v)) return -1;
  const auto& list = consumers[static_cast<size_t>(v)];
  return list.size() == 1 ? list[0] : -1;
}

ir::ValueId add_constant(ir::Graph& g, const std::string& base, Tensor t) {
  const ir::ValueId id = add_unique_value(g, base);
  g.values[static_cast<size_t>(id)].info.dtype = t.dtype();
  g.constants[id] = std::move(t);
  return id;
}

ir::ValueId other_input(const ir::Node& n, ir::ValueId v) {
  if (n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) return ir::kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return ir::kNoValue;
}

}  // namespace ecoinfer::passes

namespace ecoinfer::passes {

namespace {
constexpr const char* kErased = "";
}  // namespace

void erase_node(ir::Node& n) {
  n.op_type = kErased;
  n.inputs.clear();
  n.outputs.clear();
}

void replace_pattern(ir::Graph& g, std::span<const int> matched, ir::Node replacement) {
  const int last = *std::max_element(matched.begin(), matched.end());
  for (int n : matched) erase_node(g.nodes[static_cast<size_t>(n)]);
  g.nodes[static_cast<size_t>(last)] = std::move(replacement);
  refresh_producers(g);
}

void drop_erased_nodes(ir::Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) remove[i] = g.nodes[i].op_type == kErased;
  remove_nodes(g, remove);
}

}  // namespace ecoinfer::passes
