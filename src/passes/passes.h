// Declarations of every pass function; each lives in its own file.
#pragma once

#include "ecoinfer/status.h"
#include "ir/graph.h"

namespace ecoinfer::passes {

Expected<int> remove_dead_nodes_pass(ir::Graph& g);
// Graph simplifications and pattern recognitions (graph side).
Expected<int> remove_identity_pass(ir::Graph& g);
Expected<int> constant_folding_pass(ir::Graph& g);
Expected<int> fold_batchnorm_pass(ir::Graph& g);
Expected<int> fold_scale_shift_pass(ir::Graph& g);
Expected<int> fuse_layernorm_pass(ir::Graph& g);
Expected<int> fuse_skip_layernorm_pass(ir::Graph& g);
Expected<int> fuse_attention_softmax_pass(ir::Graph& g);
Expected<int> fuse_gelu_pass(ir::Graph& g);
Expected<int> fuse_elementwise_pass(ir::Graph& g);
Expected<int> fuse_scaled_residual_pass(ir::Graph& g);
// Post-op fusion into Conv/ConvTranspose/MatMul/Gemm, and conv layouts
// (kernel side: src/kernels/cpu/conv.cc, matmul.cc).
Expected<int> fuse_conv_activation_pass(ir::Graph& g);
Expected<int> fuse_conv_residual_pass(ir::Graph& g);
Expected<int> channels_last_convs_pass(ir::Graph& g);
Expected<int> accumulate_in_place_pass(ir::Graph& g);
// QDQ fusion into int8 Convs (kernel side: src/kernels/cpu/conv.cc).
Expected<int> fuse_qdq_inputs_pass(ir::Graph& g);
Expected<int> fuse_qdq_outputs_pass(ir::Graph& g);
Expected<int> fuse_qdq_residual_pass(ir::Graph& g);
Expected<int> fuse_qdq_maxpool_pass(ir::Graph& g);
Expected<int> fuse_qdq_concat_pass(ir::Graph& g);
// QDQ fusion into int8 MatMul/Gemm (kernel side: src/kernels/cpu/matmul.cc).
Expected<int> fuse_qdq_matmul_pass(ir::Graph& g);
// A per-tensor QuantizeLinear moved before the Reshape/Transpose feeding it.
Expected<int> hoist_quantize_pass(ir::Graph& g);
// QOperator models (expand_qlinear.cc): QLinearConv/QLinearMatMul become
// the QDQ form the fusions above take.
Expected<int> expand_qlinear_pass(ir::Graph& g);
// Not in the pipeline: ONNX Runtime's com.microsoft ops in plain ONNX ops,
// run by Session::load on every model (expand_contrib_ops.cc).
Expected<int> expand_contrib_ops_pass(ir::Graph& g);
// Not in the pipeline: applied when a session asks for bf16 precision.
Expected<int> mark_bf16_compute(ir::Graph& g);

}  // namespace ecoinfer::passes
