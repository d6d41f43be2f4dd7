// KServe Open Inference Protocol v2 infer request and response bodies (REST),
// with Triton's binary tensor data extension. Translation only: JSON and
// bytes to InferenceRequest, InferenceResponse to JSON and bytes.
//
//   auto r = parse_infer_request(body, header_length, {.max_elements = 1 << 26});
//   ...
//   EncodedBody out = encode_infer_response(response, format);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/status.h"
#include "serve/inference_request.h"

namespace ecoinfer::serve::protocol {

struct ParseLimits {
  int64_t max_elements = int64_t{1} << 26;  // per request, all inputs together
};

// `json_length`: the Inference-Header-Content-Length header when present
// (the JSON is then followed by the binary tensor bytes). The model name and
// version come from the URL, not the body; the caller sets them.
Expected<InferenceRequest> parse_infer_request(std::string_view body, std::optional<size_t> json_length,
                                               const ParseLimits& limits);

struct EncodedBody {
  std::string body;
  std::string content_type;                // application/json or application/octet-stream
  std::optional<size_t> json_length;       // set when binary tensors follow the JSON
};

// Which outputs the client asked for, and which of them as binary.
struct OutputFormat {
  std::vector<RequestedOutput> outputs;
  bool all_binary = false;
  bool binary(const std::string& name) const;
};

EncodedBody encode_infer_response(const InferenceResponse& response, const OutputFormat& format);

// {"error": "..."}
std::string error_body(std::string_view message);

}  // namespace ecoinfer::serve::protocol
