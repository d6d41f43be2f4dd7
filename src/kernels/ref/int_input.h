// Reads an int64 or int32 tensor input (a shape, axes, pads, repeats...) as
// int64 values, for the kernels whose parameters arrive as tensors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::kernels {

inline Expected<std::vector<int64_t>> read_ints(const Tensor* t, const char* what) {
  if (t == nullptr) return invalid_argument(fmt::format("the '{}' input is missing", what));
  std::vector<int64_t> v(static_cast<size_t>(t->numel()));
  if (t->dtype() == DataType::kInt64) {
    std::copy_n(t->data<int64_t>(), v.size(), v.begin());
  } else if (t->dtype() == DataType::kInt32) {
    std::copy_n(t->data<int32_t>(), v.size(), v.begin());
  } else {
    return invalid_argument(fmt::format("the '{}' input must be int64 or int32, not {}", what, dtype_name(t->dtype())));
  }
  return v;
}

}  // namespace ecoinfer::kernels
