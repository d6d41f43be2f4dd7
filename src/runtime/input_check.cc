#include "runtime/input_check.h"

#include <fmt/format.h>

namespace ecoinfer::runtime {

std::string describe_value(const ValueDescription& v) {
  return fmt::format("{} ({}, {})", v.name, dtype_name(v.dtype), v.has_shape ? v.shape_string() : "any shape");
}

Status check_input_matches(const ValueDescription& declared, const Tensor& given) {
  if (!given.defined()) return invalid_argument(fmt::format("input '{}' is an empty tensor", declared.name));
  if (declared.dtype != DataType::kUndefined && given.dtype() != declared.dtype) {
    return invalid_argument(fmt::format("input '{}' has type {}; the model expects {}", declared.name,
                                        dtype_name(given.dtype()), dtype_name(declared.dtype)));
  }
  if (!declared.has_shape) return Status::ok();
  bool ok = given.rank() == declared.shape.size();
  for (size_t i = 0; ok && i < declared.shape.size(); ++i) {
    if (declared.shape[i].is_fixed() && declared.shape[i].value != given.dim(i)) ok = false;
  }
  for (int64_t d : given.shape()) if (d < 0) ok = false;
  if (!ok) {
    return invalid_argument(fmt::format("input '{}' has shape {}; the model expects {} (rank {}, '?' or a name is any size)",
                                        declared.name, shape_to_string(given.shape()), declared.shape_string(),
                                        declared.shape.size()));
  }
  return Status::ok();
}

}  // namespace ecoinfer::runtime
