// Type dispatch for kernels: call a generic lambda with a value of the
// tensor's element type, so one template serves every supported type.
//
//   return dispatch_type(x.dtype(), kAllNumeric, [&](auto tag) -> Status {
//     using T = decltype(tag);
//     ... x.data<T>() ...
//   }, info_or_node_description);
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::kernels {

// Which element types a kernel accepts.
enum TypeSet : unsigned {
  kFloats = 1u << 0,    // float, double
  kSigned = 1u << 1,    // int8, int16, int32, int64
  kUnsigned = 1u << 2,  // uint8, uint16, uint32, uint64
  kBoolType = 1u << 3,  // bool
  kHalfs = 1u << 4,     // float16, bfloat16 (storage types: convert through float)
  kAllNumeric = kFloats | kSigned | kUnsigned,
  kAllTypes = kAllNumeric | kBoolType | kHalfs,
};

template <class F>
Status dispatch_type(DataType t, unsigned allowed, F&& f, const std::string& who = "") {
  auto refuse = [&] {
    return unimplemented(fmt::format("{}{}element type {} is not supported here", who, who.empty() ? "" : ": ",
                                     dtype_name(t)));
  };
  switch (t) {
    case DataType::kFloat32: if (allowed & kFloats) return f(float{}); break;
    case DataType::kFloat64: if (allowed & kFloats) return f(double{}); break;
    case DataType::kInt8: if (allowed & kSigned) return f(int8_t{}); break;
    case DataType::kInt16: if (allowed & kSigned) return f(int16_t{}); break;
    case DataType::kInt32: if (allowed & kSigned) return f(int32_t{}); break;
    case DataType::kInt64: if (allowed & kSigned) return f(int64_t{}); break;
    case DataType::kUInt8: if (allowed & kUnsigned) return f(uint8_t{}); break;
    case DataType::kUInt16: if (allowed & kUnsigned) return f(uint16_t{}); break;
    case DataType::kUInt32: if (allowed & kUnsigned) return f(uint32_t{}); break;
    case DataType::kUInt64: if (allowed & kUnsigned) return f(uint64_t{}); break;
    case DataType::kBool: if (allowed & kBoolType) return f(bool{}); break;
    case DataType::kFloat16: if (allowed & kHalfs) return f(Float16{}); break;
    case DataType::kBFloat16: if (allowed & kHalfs) return f(BFloat16{}); break;
    default: break;
  }
  return refuse();
}

// Dispatch on the element size only: for ops that move bytes without
// looking at them (Transpose, Concat, Gather, Slice...).
template <class F>
Status dispatch_by_size(DataType t, F&& f) {
  switch (dtype_size(t)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: return unimplemented(fmt::format("element type {} is not supported", dtype_name(t)));
  }
}

}  // namespace ecoinfer::kernels
