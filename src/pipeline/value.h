// The values that flow between pipeline stages: a tensor, a list of tensors
// (a variable number of crops, batches), or text (JSON, file paths, encoded
// file bytes). Three kinds are enough for OCR and every one of them can be
// hashed and stored byte for byte, which the stage cache needs; anything
// richer (a decoded image) travels as a tensor.
//
//   Value v = Tensor::from_vector<float>({2}, {1, 2});
//   ValueType t = value_type(v);           // ValueType::kTensor
//   std::string bytes = serialize(v);      // self-describing, see docs/PIPELINES.md
//   Expected<Value> back = deserialize(bytes);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::pipeline {

using TensorList = std::vector<Tensor>;
using Value = std::variant<Tensor, TensorList, std::string>;

enum class ValueType { kTensor, kTensorList, kText };

// A stage's inputs or outputs, by port name.
using Values = std::map<std::string, Value>;

ValueType value_type(const Value& v);
const char* value_type_name(ValueType t);

// Bytes of payload (tensor data or text), without headers: "bytes moved".
size_t payload_bytes(const Value& v);

// Self-describing encoding: a kind byte, then per tensor dtype, rank, dims
// and data; text as its length and bytes. Little endian, as the machine.
std::string serialize(const Value& v);
Expected<Value> deserialize(std::string_view bytes);

// Several named values in one blob (a stage's outputs in the cache).
std::string serialize_values(const Values& values);
Expected<Values> deserialize_values(std::string_view bytes);

// XXH3 64-bit hash of serialize(v), as 16 hex digits.
std::string value_hash(const Value& v);
std::string hash_hex(uint64_t h);

}  // namespace ecoinfer::pipeline
