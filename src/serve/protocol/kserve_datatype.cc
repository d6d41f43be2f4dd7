#include "serve/protocol/kserve_datatype.h"

#include <array>
#include <utility>

namespace ecoinfer::serve::protocol {
namespace {

constexpr std::array<std::pair<std::string_view, DataType>, 14> kTypes = {{
    {"BOOL", DataType::kBool},       {"UINT8", DataType::kUInt8},    {"UINT16", DataType::kUInt16},
    {"UINT32", DataType::kUInt32},   {"UINT64", DataType::kUInt64},  {"INT8", DataType::kInt8},
    {"INT16", DataType::kInt16},     {"INT32", DataType::kInt32},    {"INT64", DataType::kInt64},
    {"FP16", DataType::kFloat16},    {"FP32", DataType::kFloat32},   {"FP64", DataType::kFloat64},
    {"BYTES", DataType::kString},    {"BF16", DataType::kBFloat16},  // BF16: Triton's addition
}};

}  // namespace

std::optional<DataType> datatype_from_kserve(std::string_view name) {
  for (const auto& [n, t] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string_view kserve_datatype(DataType t) {
  for (const auto& [n, type] : kTypes) {
    if (type == t) return n;
  }
  return "UNDEFINED";
}

}  // namespace ecoinfer::serve::protocol
