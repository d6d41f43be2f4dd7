// Graph optimization passes, after ONNX Runtime's shape: one pass per file,
// each a small rewrite (target op types, a cheap match, apply); a pattern
// that does not match is not an error. The full order is listed once, in
// pipeline.cc.
//
// Fused nodes keep their ONNX op type (Conv, ConvTranspose, MatMul, Gemm) and
// carry the fused work in internal attributes, so the kernel that runs them
// is the one that already knows the op:
//
//   "_ecoinfer.post_ops" (STRINGS), applied in order to the op's output
//   after its bias, each entry one of
//     "eltwise:<alg>:<alpha>:<beta>"  alg: relu (alpha = negative slope),
//          clip (alpha = min, beta = max), hardsigmoid (ONNX alpha, beta),
//          hardswish, sigmoid, swish (x * sigmoid(alpha * x)), tanh,
//          gelu_erf, gelu_tanh, linear (alpha * x + beta), elu (alpha)
//     "binary:<add|sub|mul|div|max|min>:<input index>"  the node's input at
//          that index (appended by the pass), broadcast numpy-style to the
//          output shape (a residual tensor, a per-channel scale...)
//
// Internal ops that have no ONNX equivalent live in the domain
// "com.ecoinfer" (see src/ir/op_table.h).
#pragma once

#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

inline constexpr const char* kPostOpsAttribute = "_ecoinfer.post_ops";
inline constexpr const char* kInternalDomain = "com.ecoinfer";
// INT 1 on a Conv/ConvTranspose/MatMul/Gemm: compute in bfloat16 (set by
// mark_bf16_compute for SessionOptions::precision == kBf16).
inline constexpr const char* kComputeBf16Attribute = "_ecoinfer.bf16";
// Set by fuse_qdq on a Conv whose input, weights (and bias) came through
// DequantizeLinear: the Conv then reads X as uint8/int8, W as constant
// int8 and B as int32, and computes
//   y = input_scale * weight_scale[m] * (sum (x - input_zero) * w + B)
// followed by its post-ops, in float32. kQuantOutput adds the trailing
// QuantizeLinear: out = saturate(round(y / scale) + zero), typed uint8 or
// int8 (the ONNX type number in the third value).
inline constexpr const char* kQuantInputAttribute = "_ecoinfer.quant_input";                  // FLOATS {scale, zero}
inline constexpr const char* kQuantWeightScalesAttribute = "_ecoinfer.quant_weight_scales";  // FLOATS, 1 or M
inline constexpr const char* kQuantOutputAttribute = "_ecoinfer.quant_output";                // FLOATS {scale, zero, type}
// MatMul only (fuse_qdq_matmul.cc): B is a uint8/int8 activation, not
// constant weights, with this zero point (its scale is the one weight scale).
inline constexpr const char* kQuantWeightZeroAttribute = "_ecoinfer.quant_weight_zero";      // FLOATS {zero}
// MatMul only (fuse_qdq_matmul.cc, dynamic quantization's MatMulInteger ->
// Cast -> Mul): INT 1. A is uint8/int8 with its zero point in input 2, read
// on every run; the result is float32 (A - zero) x B times the
// kQuantWeightScales, and the post-ops then multiply by A's scale.
inline constexpr const char* kQuantDynamicAttribute = "_ecoinfer.quant_dynamic";
// LayerNormalization only (fuse_skip_layernorm.cc): INT 1. Input 3 is a
// residual added to X before normalizing: y = LayerNorm(X + input 3), the
// Add of the graph it replaced (numpy broadcasting).
inline constexpr const char* kSkipInputAttribute = "_ecoinfer.skip_input";
// Softmax only (fuse_attention_softmax.cc): INT 1. Input 1 is added to the
// input before the softmax (the attention mask's Add, numpy broadcasting).
// A Softmax may also carry kQuantOutputAttribute: it then writes the
// QuantizeLinear after it, uint8/int8.
inline constexpr const char* kSoftmaxBiasAttribute = "_ecoinfer.softmax_bias";

struct Pass {
  const char* name;
  // Rewrites the graph in place; returns the number of rewrites made.
  Expected<int> (*apply)(ir::Graph& graph);
};

struct PassReport {
  std::string name;
  int rewrites = 0;
};

// Every pass, in the order they run.
const std::vector<Pass>& optimization_pipeline();

// Runs the pipeline; the graph stays valid (topologically sorted, producers
// set) after every pass.
Expected<std::vector<PassReport>> optimize(ir::Graph& graph);

}  // namespace ecoinfer::passes
