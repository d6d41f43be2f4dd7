#include <fmt/format.h>

#include "serve/backend/model_backend.h"

namespace ecoinfer::serve {
namespace {

class SessionBackend final : public ModelBackend {
 public:
  explicit SessionBackend(std::shared_ptr<const Session> session) : session_(std::move(session)) {}
  std::string platform() const override { return "onnx"; }
  const std::vector<ValueDescription>& inputs() const override { return session_->inputs(); }
  const std::vector<ValueDescription>& outputs() const override { return session_->outputs(); }
  Expected<ModelValues> run(const ModelValues& inputs) const override {
    // The server validates inputs against inputs(), where no BYTES input of
    // an ONNX model can appear; this guards callers that skip validation.
    if (!inputs.bytes.empty())
      return invalid_argument(fmt::format("input '{}' is BYTES; an ONNX model takes numeric tensors only",
                                          inputs.bytes[0].name));
    ECOINFER_ASSIGN_OR_RETURN(std::vector<NamedTensor> out, inputs.output_memory.empty()
                                                                ? session_->run(inputs.tensors)
                                                                : session_->run_into(inputs.tensors, inputs.output_memory));
    return ModelValues{std::move(out), {}};
  }

 private:
  std::shared_ptr<const Session> session_;
};

}  // namespace

std::shared_ptr<const ModelBackend> make_session_backend(std::shared_ptr<const Session> session) {
  return std::make_shared<const SessionBackend>(std::move(session));
}

}  // namespace ecoinfer::serve
