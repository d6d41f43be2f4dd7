// Compact binary encoding of a response's tensors, for the response cache.
//
// Layout (little-endian): "EIT1", u32 count, then per tensor: u32 name
// length, name, i32 dtype (ONNX code), u32 rank, rank x i64 dims, u64 data
// bytes, data. decode_tensors() checks every length against what is left, so
// truncated or corrupt bytes give an error, never a crash or a huge allocation.
//
//   std::string bytes = encode_tensors(outputs);
//   auto back = decode_tensors(bytes);   // Expected<std::vector<NamedTensor>>
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/session.h"

namespace ecoinfer::serve {

std::string encode_tensors(const std::vector<NamedTensor>& tensors);
Expected<std::vector<NamedTensor>> decode_tensors(std::string_view bytes);

}  // namespace ecoinfer::serve
