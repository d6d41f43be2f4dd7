// onnx::TensorProto -> Tensor, for initializers, Constant nodes and the ONNX
// test data files (input_0.pb ...).
#pragma once

#include <filesystem>
#include <string>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace onnx { class TensorProto; }

namespace ecoinfer::onnx_import {

// `model_dir` is where external data files are looked up; a location that
// resolves outside it is refused (a model must not read arbitrary files).
// An empty model_dir refuses external data altogether.
Expected<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::filesystem::path& model_dir);

// Reads a serialized TensorProto file (the ONNX backend test format).
Expected<Tensor> read_tensor_proto_file(const std::filesystem::path& path);

}  // namespace ecoinfer::onnx_import
