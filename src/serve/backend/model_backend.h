// What a served model version runs: an ONNX Session, or a pipeline (the OCR
// system) behind the same small interface, so the batcher, the response
// cache and the metrics treat both alike and never ask which it is.
//
//   std::unique_ptr<ModelBackend> b = make_session_backend(session);
//   auto out = b->run({.tensors = {{"x", x}}});   // Expected<ModelValues>
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ecoinfer/session.h"
#include "serve/inference_request.h"

namespace ecoinfer::serve {

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // Model metadata's "platform": "onnx", "ecoinfer_ocr".
  virtual std::string platform() const = 0;
  // Declared inputs and outputs; a BYTES one has dtype DataType::kString.
  virtual const std::vector<ValueDescription>& inputs() const = 0;
  virtual const std::vector<ValueDescription>& outputs() const = 0;
  // Thread-safe: instance_count workers call it at once. A kInvalidArgument
  // status means the input was wrong (the client gets 400).
  virtual Expected<ModelValues> run(const ModelValues& inputs) const = 0;
};

// An ONNX model: numeric tensors only.
std::shared_ptr<const ModelBackend> make_session_backend(std::shared_ptr<const Session> session);

}  // namespace ecoinfer::serve
