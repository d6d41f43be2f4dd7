// Matching helpers for the QDQ fusions: what a DequantizeLinear feeding an
// op says (the quantized value, its type, scales and zero points), and a
// bias converted into int32 accumulator units.
//
//   if (auto x = dequant_of(g, node.inputs[0]); x && x->per_tensor()) ...
//
// Used by fuse_qdq_inputs.cc (Conv) and fuse_qdq_matmul.cc (MatMul, Gemm).
#pragma once

#include <optional>
#include <vector>

#include "ecoinfer/tensor.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

struct Dequant {
  ir::ValueId quantized = ir::kNoValue;
  DataType type = DataType::kUndefined;  // of the quantized values
  std::vector<float> scales;
  std::vector<int32_t> zeros;
  int64_t axis = 1;

  bool per_tensor() const { return scales.size() == 1; }
  bool int8_activation() const { return type == DataType::kUInt8 || type == DataType::kInt8; }
};

// The DequantizeLinear producing `v`, when its scale and zero point are
// constants. The quantized values' type comes from the zero point, or from
// the values themselves when they are a constant (an int32 bias has no
// zero point).
std::optional<Dequant> dequant_of(const ir::Graph& g, ir::ValueId v);

// The real values of a bias with `channels` entries: a float32 constant or
// a dequantized int32 constant; nullopt otherwise.
std::optional<std::vector<float>> bias_values(const ir::Graph& g, ir::ValueId b, int64_t channels);

// `real` in accumulator units (scale s_x * s_w[m]), rounded to int32.
Tensor int32_bias(const std::vector<float>& real, float s_x, const std::vector<float>& s_w);

// A FLOATS attribute.
ir::Attribute floats_attribute(std::vector<float> values);

}  // namespace ecoinfer::passes
