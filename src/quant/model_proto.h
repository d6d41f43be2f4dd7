// Small helpers for editing an onnx::ModelProto in place: load and save,
// initializers in and out, extra graph outputs. The quantizer works on the
// protobuf directly so what it writes is exactly what it read, plus its edits.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::quant {

Expected<onnx::ModelProto> load_model_proto(const std::filesystem::path& path);
Status save_model_proto(const onnx::ModelProto& model, const std::filesystem::path& path);

// The default-domain opset the model imports (0 when none).
int64_t default_opset(const onnx::ModelProto& model);
void set_default_opset(onnx::ModelProto& model, int64_t version);

// The initializer called `name`, or nullptr.
const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name);
// The initializer's values as float, when it is a float tensor.
Expected<Tensor> float_initializer(const onnx::GraphProto& graph, const std::string& name);

onnx::TensorProto make_tensor_proto(const std::string& name, const Tensor& values);

// Declares `name` (a float tensor of any shape) a graph output, once.
void add_float_output(onnx::GraphProto& graph, const std::string& name);

// Turns Constant nodes holding a tensor ('value') into initializers: some
// exporters (Paddle2ONNX) store every weight that way, and the quantizer
// looks for weights among initializers.
void constants_to_initializers(onnx::GraphProto& graph);

// Drops initializers no node reads (and their graph-input entries).
void remove_unused_initializers(onnx::GraphProto& graph);

// A name no value or node in the graph uses yet: base, base_1, base_2...
class NameMaker {
 public:
  explicit NameMaker(const onnx::GraphProto& graph);
  std::string make(const std::string& base);

 private:
  std::vector<std::string> taken_sorted_;
  std::vector<std::string> made_;
  bool taken(const std::string& name) const;
};

// A file in the system temporary folder, removed when this goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& stem);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ecoinfer::quant
