// Raises a model's default-domain opset so QuantizeLinear/DequantizeLinear
// (opset 10) and their per-axis form (opset 13) can be used, rewriting the
// ops whose form changed on the way: attributes that became inputs (Slice 10,
// Clip and Pad 11, Squeeze, Unsqueeze, Split and ReduceSum 13), Dropout
// becomes Identity (inference), and Softmax/LogSoftmax, whose axis meaning
// changed in 13, are checked to act on the last axis. PaddleOCR's cls and rec
// models are opset 9.
#pragma once

#include <map>
#include <string>

#include <onnx/onnx_pb.h>

#include "ecoinfer/status.h"

namespace ecoinfer::quant {

// `input_ranks`: the rank of each Softmax/LogSoftmax node's input, by node
// name (from one traced run). An op that cannot be carried over is an error
// naming it.
Status upgrade_opset(onnx::ModelProto& model, int64_t target, const std::map<std::string, size_t>& input_ranks);

}  // namespace ecoinfer::quant
