// KServe Open Inference Protocol v2 infer request and response bodies (REST),
// with Triton's binary tensor data extension. Translation only: JSON and
// bytes to InferenceRequest, InferenceResponse to JSON and bytes. Binary
// tensors are not copied where that can be avoided: an aligned binary input
// views the request body (request_body.h), and a binary output is handed to
// the front end as the output Tensor itself, to be written from its memory.
//
//   auto r = parse_infer_request(body, header_length, {.max_elements = 1 << 26});
//   ...
//   EncodedBody out = encode_infer_response(response, format);
//   write(out.body); for (auto& c : out.binary) write(c.view());
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/status.h"
#include "serve/inference_request.h"
#include "serve/protocol/request_body.h"
#include "serve/shared_memory.h"

namespace ecoinfer::serve::protocol {

struct ParseLimits {
  int64_t max_elements = int64_t{1} << 26;  // per request, all inputs together
};

// `json_length`: the Inference-Header-Content-Length header when present
// (the JSON is then followed by the binary tensor bytes). The model name and
// version come from the URL, not the body; the caller sets them.
// `shared_memory`: the registered regions that inputs and outputs may name
// (system shared memory extension); null = none. An input in shared memory
// is copied out of its region here; an output's slice is kept in
// RequestedOutput::shared_memory, holding its region mapped until answered.
Expected<InferenceRequest> parse_infer_request(const RequestBody& body, std::optional<size_t> json_length,
                                               const ParseLimits& limits,
                                               const SharedMemoryRegistry* shared_memory = nullptr);

// Bytes sent as they are after a response's JSON: a numeric output's own
// buffer (a shared handle, no copy) or a BYTES output in Triton's binary form.
struct BinaryChunk {
  Tensor tensor;
  std::string bytes;  // used when `tensor` is undefined
  std::string_view view() const {
    return tensor.defined() ? std::string_view(static_cast<const char*>(tensor.raw_data()), tensor.nbytes()) : bytes;
  }
};

struct EncodedBody {
  std::string body;                        // the JSON; `binary` follows it on the wire
  std::vector<BinaryChunk> binary;         // in the order the JSON lists them
  std::string content_type;                // application/json or application/octet-stream
  std::optional<size_t> json_length;       // set when binary tensors follow the JSON
  size_t size() const;                     // bytes on the wire: body and binary
  std::string flattened() const;           // body and binary in one string (tests, small answers)
};

// Which outputs the client asked for, and which of them as binary.
struct OutputFormat {
  std::vector<RequestedOutput> outputs;
  bool all_binary = false;
  bool binary(const std::string& name) const;
  const SharedMemorySlice* shared_memory(const std::string& name) const;  // null: not in shared memory
};

// Outputs placed in shared memory are listed with their region parameters
// and no data: write_shared_memory_outputs (shared_memory_params.h) must
// have written them.
EncodedBody encode_infer_response(const InferenceResponse& response, const OutputFormat& format);

// {"error": "..."}
std::string error_body(std::string_view message);

}  // namespace ecoinfer::serve::protocol
