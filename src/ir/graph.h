// The in-memory model: values, nodes, constants. Built by src/onnx/ from a
// ModelProto, rewritten by src/passes/, compiled into a runtime::Plan.
//
// Values are referred to by index (ValueId) so that the executor works on
// dense arrays, not name lookups.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ecoinfer/session.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::ir {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input ("")

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
  Kind kind = Kind::kOther;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  int opset = 0;       // the model's opset for this node's domain
  std::vector<ValueId> inputs;   // kNoValue for an omitted optional input
  std::vector<ValueId> outputs;  // kNoValue for an unused optional output
  std::map<std::string, Attribute> attributes;

  const Attribute* attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
  }
  // "Conv 'conv1' (opset 11)", for error messages.
  std::string describe() const;
};

struct Value {
  ValueDescription info;  // name, declared type and shape (may be partial)
  int producer = -1;      // index of the node that writes it, -1 for inputs/constants
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;  // in topological order
  std::vector<ValueId> inputs;   // graph inputs the caller provides
  std::vector<ValueId> outputs;
  std::unordered_map<ValueId, Tensor> constants;  // initializers and Constant nodes
  std::map<std::string, int64_t> opsets;  // domain -> version
  int64_t ir_version = 0;
  std::string producer;

  ValueId find_value(const std::string& name) const;
  ValueId add_value(const std::string& name);
  const std::string& name_of(ValueId id) const { return values[static_cast<size_t>(id)].info.name; }
  const Tensor* constant(ValueId id) const {
    auto it = constants.find(id);
    return it == constants.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<std::string, ValueId> by_name_;
};

}  // namespace ecoinfer::ir
