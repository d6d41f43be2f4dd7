// Compact binary encoding of a response's tensors, for the response cache.
//
// Layout (little-endian): "EIT1", u32 count, then per tensor: u32 name
// length, name, i32 dtype (ONNX code), u32 rank, rank x i64 dims, u64 data
// bytes, data. A BYTES tensor has dtype 8 (ONNX's STRING) and its data is
// each element as u32 length then its bytes (Triton's binary BYTES form).
// decode checks every length against what is left, so truncated or corrupt
// bytes give an error, never a crash or a huge allocation.
//
//   std::string bytes = encode_values({outputs, bytes_outputs});
//   auto back = decode_values(bytes);    // Expected<ModelValues>
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/session.h"
#include "serve/inference_request.h"

namespace ecoinfer::serve {

std::string encode_values(const ModelValues& values);
Expected<ModelValues> decode_values(std::string_view bytes);

// Numeric tensors only (decode_tensors refuses an encoding holding BYTES).
std::string encode_tensors(const std::vector<NamedTensor>& tensors);
Expected<std::vector<NamedTensor>> decode_tensors(std::string_view bytes);

}  // namespace ecoinfer::serve
