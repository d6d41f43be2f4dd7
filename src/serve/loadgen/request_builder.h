// The loadgen's requests: model inputs from the server's metadata, random or
// given tensors, and KServe v2 infer bodies in JSON or with Triton's binary
// tensor extension.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "serve/loadgen/http_client.h"
#include "serve/loadgen/loadgen.h"

namespace ecoinfer::serve {

// KServe datatype spelling <-> engine types ("FP32" <-> kFloat32). Unknown: kUndefined / "".
DataType datatype_from_kserve(std::string_view name);
std::string_view kserve_datatype(DataType t);

// "/v2/models/NAME" or "/v2/models/NAME/versions/V".
std::string model_path(const std::string& model, const std::string& version);

// GET the model's metadata and resolve every input's concrete shape from
// --shape, a given tensor, or the declared shape (when fully fixed).
Expected<std::vector<LoadgenInput>> fetch_inputs(HttpClient& client, const LoadgenOptions& options);

// Random values: floats uniform in [-1, 1), integers in [0, 100), bools.
Tensor random_input(DataType dtype, const Shape& shape, uint32_t seed);

struct InferBody {
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // Inference-Header-Content-Length for binary
};

// A v2 infer request carrying `tensors`, then `bytes` (BYTES inputs of one
// element each); binary: tensor bytes after the JSON header (a BYTES element
// as Triton's 4-byte little-endian length and the bytes), and binary outputs
// asked for. In JSON a BYTES element travels as base64 text, which is what
// ecoinfer's pipeline models accept (JSON strings hold text, not bytes).
InferBody make_infer_body(const std::vector<NamedTensor>& tensors,
                          const std::vector<std::pair<std::string, std::string>>& bytes, bool binary);

}  // namespace ecoinfer::serve
