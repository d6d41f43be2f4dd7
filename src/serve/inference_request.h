// The server's own request and response types. Front ends (HTTP today, gRPC
// later) translate their wire format to and from these; the repository,
// batcher, cache and metrics see only these types and know nothing of HTTP.
//
//   InferenceRequest r;
//   r.model = "cls";
//   r.inputs.push_back({"x", tensor});
//   r.outputs.push_back({"softmax_0.tmp_0", /*binary=*/true});
//   server.infer(std::move(r), [](InferenceOutcome o) { ... });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ecoinfer/session.h"
#include "serve/shared_memory.h"

namespace ecoinfer::serve {

// A request or response parameter (KServe: bool, integer, number or string).
using Parameter = std::variant<bool, int64_t, double, std::string>;
using Parameters = std::map<std::string, Parameter>;

// A BYTES tensor (KServe's string datatype: each element a byte string of
// any length). The engine has no string tensors, so the serve layer carries
// these beside the numeric NamedTensors; pipeline models (an OCR model's
// encoded images in, text out) use them.
struct BytesTensor {
  std::string name;
  Shape shape;
  std::vector<std::string> elements;  // row-major, shape_numel(shape) of them
};

// Numeric and BYTES tensors of one model run, each list in model order.
struct ModelValues {
  std::vector<NamedTensor> tensors;
  std::vector<BytesTensor> bytes;
  // Inputs only: where the caller wants numeric outputs written (a client's
  // shared memory region). A backend may honour it (the returned tensor then
  // views that memory) or ignore it; the front end copies what is not there.
  std::vector<OutputBinding> output_memory;
};

struct RequestedOutput {
  std::string name;
  bool binary = false;  // the front end should send it as raw bytes
  // Set when the client asked for it in a registered shared memory region
  // (Triton's system shared memory extension): the front end writes it there.
  std::optional<SharedMemorySlice> shared_memory;
};

struct InferenceRequest {
  std::string id;
  std::string model;
  std::string version;                   // "" = the latest loaded version
  std::vector<NamedTensor> inputs;
  std::vector<BytesTensor> bytes_inputs;  // BYTES inputs, in the order given
  std::vector<RequestedOutput> outputs;  // empty = every model output
  bool all_outputs_binary = false;       // Triton's binary_data_output
  // How long the request may wait in the queue; unset = the model's default.
  std::optional<std::chrono::microseconds> timeout;
  Parameters parameters;
};

// Where the time and energy of one request went.
struct InferenceStats {
  double queue_seconds = 0;
  double compute_seconds = 0;  // the whole batch's compute time
  int64_t batch_size = 0;      // items in the executed batch
  double energy_joules = 0;    // this request's share of its batch's energy
  std::string energy_method;   // "estimated:cpu-time", "measured:rapl"
  bool cache_hit = false;
};

struct InferenceResponse {
  std::string id;
  std::string model;
  std::string version;
  std::vector<NamedTensor> outputs;  // in the requested order
  std::vector<BytesTensor> bytes_outputs;  // BYTES outputs, in the requested order
  InferenceStats stats;
};

// Why a request failed, in terms any front end can map to its own codes.
enum class ErrorKind {
  kBadRequest,   // the request is wrong (HTTP 400)
  kNotFound,     // unknown model or version (404)
  kUnavailable,  // model not loaded, queue full, shutting down (503)
  kTimeout,      // waited longer than its timeout (HTTP 503 too; Triton uses it)
  kInternal,     // the model failed on valid input (500)
};

struct InferenceError {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

// A response, or the error that explains why there is none.
struct InferenceOutcome {
  std::optional<InferenceError> error;
  InferenceResponse response;

  static InferenceOutcome failure(ErrorKind kind, std::string message) {
    return {InferenceError{kind, std::move(message)}, {}};
  }
  bool ok() const { return !error.has_value(); }
};

// Called exactly once per request, on a worker or front-end thread.
using InferenceCallback = std::function<void(InferenceOutcome)>;

}  // namespace ecoinfer::serve
