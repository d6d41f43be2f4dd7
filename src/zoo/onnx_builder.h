// OnnxBuilder: a small helper for writing ONNX graphs in C++ without raw
// protobuf calls everywhere. The zoo's architecture builders use it.
//
//   OnnxBuilder b("tiny", /*opset=*/17, /*seed=*/0);
//   b.input("x", onnx::TensorProto::FLOAT, {Dim("batch"), Dim(4)});
//   std::string w = b.normal_weight("fc.w", {4, 2}, 0.5f);
//   std::string y = b.op("MatMul", {"x", w});
//   b.output(y, onnx::TensorProto::FLOAT, {Dim("batch"), Dim(2)});
//   onnx::ModelProto model = b.finish();
//
// Weights come from one seeded generator, so the same seed and the same
// calls give byte-identical models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ecoinfer/status.h"

namespace ecoinfer::zoo {

// A dimension of a graph input or output: a number or a symbol ("batch").
struct Dim {
  Dim(int64_t v) : value(v) {}  // NOLINT(google-explicit-constructor)
  Dim(const char* s) : symbol(s) {}  // NOLINT(google-explicit-constructor)
  int64_t value = -1;
  std::string symbol;
};

onnx::AttributeProto attr(const std::string& name, int64_t value);
onnx::AttributeProto attr(const std::string& name, float value);
onnx::AttributeProto attr(const std::string& name, const std::vector<int64_t>& values);

class OnnxBuilder {
 public:
  OnnxBuilder(const std::string& graph_name, int64_t opset, uint64_t seed);

  void input(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims);
  void output(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims);

  // Adds a node with one output, named after `hint` (made unique); returns it.
  std::string op(const std::string& op_type, const std::vector<std::string>& inputs,
                 const std::vector<onnx::AttributeProto>& attributes = {}, const std::string& hint = "");
  // The same, with exactly this output name (for graph outputs).
  std::string op_named(const std::string& output, const std::string& op_type, const std::vector<std::string>& inputs,
                       const std::vector<onnx::AttributeProto>& attributes = {});

  // Float initializers: normal(0, stddev), a constant fill, or given values.
  std::string normal_weight(const std::string& name, const std::vector<int64_t>& dims, float stddev);
  std::string filled_weight(const std::string& name, const std::vector<int64_t>& dims, float value);
  std::string float_constant(const std::string& name, const std::vector<int64_t>& dims,
                             const std::vector<float>& values);
  // An int64 initializer (shapes, axes, indices). Empty dims: a scalar.
  std::string int64_constant(const std::string& name, const std::vector<int64_t>& dims,
                             const std::vector<int64_t>& values);

  // Elements in float initializers so far: the model's parameter count.
  int64_t parameter_count() const { return parameters_; }
  std::mt19937_64& rng() { return rng_; }

  onnx::ModelProto finish() { return std::move(model_); }

 private:
  std::string unique(const std::string& hint);
  onnx::TensorProto* add_float_tensor(const std::string& name, const std::vector<int64_t>& dims);

  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  std::mt19937_64 rng_;
  int64_t parameters_ = 0;
  int64_t counter_ = 0;
};

// Writes a model (SerializeToOstream; no 64 MB copy through a string).
Status save_model(const onnx::ModelProto& model, const std::filesystem::path& path);

}  // namespace ecoinfer::zoo
