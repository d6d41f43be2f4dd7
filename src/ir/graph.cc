#include "ir/graph.h"

#include <fmt/format.h>

namespace ecoinfer::ir {

std::string Node::describe() const {
  const std::string shown_domain = domain.empty() ? "" : domain + ".";
  return fmt::format("{}{} node '{}' (opset {})", shown_domain, op_type, name, opset);
}

ValueId Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNoValue : it->second;
}

ValueId Graph::add_value(const std::string& name) {
  if (ValueId existing = find_value(name); existing != kNoValue) return existing;
  const auto id = static_cast<ValueId>(values.size());
  Value v;
  v.info.name = name;
  values.push_back(std::move(v));
  by_name_.emplace(name, id);
  return id;
}

}  // namespace ecoinfer::ir
