// Fidelity of a quantized model: fp32 and int8 run side by side on held-out
// samples; per model output the cosine similarity, max abs error and top-1
// agreement, and per quantized node the same comparison of its output (the
// node keeps its output name in both models), so a bad result names the
// layers it comes from.
#pragma once

#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "quant/calibration.h"
#include "quant/qdq_rewrite.h"
#include "quant/quantize.h"

namespace ecoinfer::quant {

struct FidelityResult {
  std::string int8_runner;
  std::vector<OutputFidelity> outputs;
  std::vector<LayerFidelity> layers;  // worst first
};

Expected<FidelityResult> measure_fidelity(const onnx::ModelProto& fp32, const onnx::ModelProto& quantized,
                                          const std::vector<QuantizedNode>& layers, const std::vector<Sample>& held_out,
                                          int threads, const ProgressFn& progress);

// The comparisons, exposed for tests. cosine of two all-zero tensors is 1.
double cosine_similarity(const Tensor& a, const Tensor& b);
double max_abs_error(const Tensor& a, const Tensor& b);
// Positions (all but the last axis) where argmax over the last axis agrees,
// and how many positions there are.
std::pair<int64_t, int64_t> top1_agreement(const Tensor& a, const Tensor& b);

}  // namespace ecoinfer::quant
