#include "quant/opset_upgrade.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "quant/model_proto.h"

namespace ecoinfer::quant {
namespace {

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void remove_attribute(onnx::NodeProto& node, const std::string& name) {
  auto* attrs = node.mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i) {
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
  }
}

class Upgrader {
 public:
  Upgrader(onnx::GraphProto& graph) : graph_(graph), names_(graph) {}

  // Moves an INTS attribute to a new int64 initializer input at `position`
  // (inputs before it that are missing become ""). Absent attribute: no input.
  void ints_to_input(onnx::NodeProto& node, const std::string& attr, int position) {
    const onnx::AttributeProto* a = find_attribute(node, attr);
    if (a == nullptr) return;
    std::vector<int64_t> values(a->ints().begin(), a->ints().end());
    const std::string name = names_.make(fmt::format("{}_{}", node.name().empty() ? node.op_type() : node.name(), attr));
    *graph_.add_initializer() = make_tensor_proto(
        name, Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values));
    set_input(node, position, name);
    remove_attribute(node, attr);
  }

  void float_to_input(onnx::NodeProto& node, const std::string& attr, int position) {
    const onnx::AttributeProto* a = find_attribute(node, attr);
    if (a == nullptr) return;
    const std::string name = names_.make(fmt::format("{}_{}", node.name().empty() ? node.op_type() : node.name(), attr));
    *graph_.add_initializer() = make_tensor_proto(name, Tensor::scalar<float>(a->f()));
    set_input(node, position, name);
    remove_attribute(node, attr);
  }

 private:
  static void set_input(onnx::NodeProto& node, int position, const std::string& name) {
    while (node.input_size() <= position) node.add_input("");
    node.set_input(position, name);
  }

  onnx::GraphProto& graph_;
  NameMaker names_;
};

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const onnx::AttributeProto* a = find_attribute(node, name);
  return a == nullptr ? fallback : a->i();
}

Status check_softmax(const onnx::NodeProto& node, const std::map<std::string, size_t>& input_ranks) {
  const int64_t axis = int_attribute(node, "axis", 1);
  if (axis == -1) return Status::ok();
  const auto it = input_ranks.find(node.name());
  if (it == input_ranks.end())
    return unimplemented(fmt::format("cannot raise the opset past 13: {} '{}' has axis {} and its input rank is unknown",
                                     node.op_type(), node.name(), axis));
  const auto rank = static_cast<int64_t>(it->second);
  if (axis != rank - 1)
    return unimplemented(fmt::format("cannot raise the opset past 13: {} '{}' normalizes axes {}.. of a rank-{} tensor "
                                     "(opset 13 normalizes one axis); quantize without --per-channel",
                                     node.op_type(), node.name(), axis, rank));
  return Status::ok();
}

}  // namespace

Status upgrade_opset(onnx::ModelProto& model, int64_t target, const std::map<std::string, size_t>& input_ranks) {
  const int64_t from = default_opset(model);
  if (from >= target) return Status::ok();
  onnx::GraphProto& graph = *model.mutable_graph();
  Upgrader up(graph);
  for (onnx::NodeProto& node : *graph.mutable_node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    const std::string& op = node.op_type();
    auto crosses = [&](int64_t version) { return from < version && target >= version; };
    if (op == "Upsample" && crosses(10))
      return unimplemented(fmt::format("cannot raise the opset to {}: Upsample '{}' was removed in opset 10", target, node.name()));
    if (op == "Slice" && crosses(10)) {
      up.ints_to_input(node, "starts", 1);
      up.ints_to_input(node, "ends", 2);
      up.ints_to_input(node, "axes", 3);
    } else if (op == "Clip" && crosses(11)) {
      up.float_to_input(node, "min", 1);
      up.float_to_input(node, "max", 2);
    } else if (op == "Pad" && crosses(11)) {
      up.ints_to_input(node, "pads", 1);
      up.float_to_input(node, "value", 2);
    } else if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && crosses(13)) {
      up.ints_to_input(node, "axes", 1);
    } else if (op == "Split" && crosses(13)) {
      up.ints_to_input(node, "split", 1);
    } else if (op == "Dropout" && crosses(12)) {
      node.set_op_type("Identity");
      node.clear_attribute();
      while (node.input_size() > 1) node.mutable_input()->RemoveLast();
      while (node.output_size() > 1) node.mutable_output()->RemoveLast();
    } else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && crosses(13)) {
      ECOINFER_RETURN_IF_ERROR(check_softmax(node, input_ranks));
    }
  }
  set_default_opset(model, target);
  return Status::ok();
}

}  // namespace ecoinfer::quant
