// Reads an ONNX model file into an ir::Graph: initializers and Constant
// nodes become constants, nodes are put in topological order, declared
// input/output types and (possibly symbolic) shapes are kept.
#pragma once

#include <filesystem>

#include "ecoinfer/status.h"
#include "ir/graph.h"

namespace ecoinfer::onnx_import {

// Default-domain opsets the loader accepts. Op semantics follow each node's
// opset (Clip, Slice, Squeeze, Softmax... changed between versions).
inline constexpr int64_t kMinOpset = 7;
inline constexpr int64_t kMaxOpset = 17;

Expected<ir::Graph> load_model(const std::filesystem::path& path);

}  // namespace ecoinfer::onnx_import
