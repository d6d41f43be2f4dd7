// The rewrites that make a quantized model: static QDQ (QuantizeLinear ->
// DequantizeLinear on activations, DequantizeLinear on int8 weights and int32
// biases) and dynamic (DynamicQuantizeLinear -> MatMulInteger).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ecoinfer/status.h"
#include "quant/quantize.h"
#include "quant/range_methods.h"

namespace ecoinfer::quant {

struct QuantizedNode {
  std::string name;
  std::string op_type;
  std::string output;  // its first output: same name in the fp32 and the quantized model
  std::vector<std::string> inputs;  // its activation inputs (also the same in both models)
};

struct RewriteResult {
  std::vector<QuantizedNode> quantized;
  int excluded = 0;  // candidates left fp32 by --exclude
};

// True when the node is named in, or its op type is in, options.exclude.
bool is_excluded(const onnx::NodeProto& node, const QuantizeOptions& options);

// The activation tensors whose ranges static quantization needs: the
// non-constant inputs of the Conv, ConvTranspose, MatMul and Gemm nodes it
// will quantize.
std::vector<std::string> tensors_to_calibrate(const onnx::GraphProto& graph, const QuantizeOptions& options);

// Static QDQ. A candidate whose activation has no range (never seen as
// float) stays fp32. Needs opset >= 10, and >= 13 with per_channel.
Expected<RewriteResult> rewrite_static(onnx::GraphProto& graph, const std::map<std::string, FloatRange>& ranges,
                                       const QuantizeOptions& options);

// Dynamic: every MatMul whose second input is a 2-D float initializer. Needs
// opset >= 11.
Expected<RewriteResult> rewrite_dynamic(onnx::GraphProto& graph, const QuantizeOptions& options);

// Symmetric int8 weights: scale max|w|/127 per slice along `axis` (-1: one
// scale for the whole tensor), zero point 0. Exposed for tests.
struct QuantizedWeight {
  Tensor values;  // int8, the weight's shape
  std::vector<float> scales;
};
QuantizedWeight quantize_weight_symmetric(const Tensor& weight, int axis);

// Asymmetric uint8 for an activation range (widened to include 0, so zero is
// exact, as padding needs).
struct UInt8Params {
  float scale = 1;
  uint8_t zero_point = 0;
};
UInt8Params uint8_params(FloatRange range);

}  // namespace ecoinfer::quant
