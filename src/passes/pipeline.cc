// The optimization pipeline: every pass, in the order it runs. Passes that
// simplify the graph come first so the fusions see the plain patterns.
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "passes/pass.h"
#include "passes/passes.h"

namespace ecoinfer::passes {

const std::vector<Pass>& optimization_pipeline() {
  static const std::vector<Pass> pipeline = {
      {"remove_identity", &remove_identity_pass},
      // Before the QDQ fusions, which take the DQ -> op -> Q form it writes.
      {"expand_qlinear", &expand_qlinear_pass},
      // Before constant_folding, which would dequantize QDQ weights to float32.
      {"fuse_qdq_inputs", &fuse_qdq_inputs_pass},
      {"fuse_qdq_matmul", &fuse_qdq_matmul_pass},
      // Before fuse_qdq_outputs: the heads' QuantizeLinear reaches the MatMul.
      {"hoist_quantize", &hoist_quantize_pass},
      {"constant_folding", &constant_folding_pass},
      {"fold_batchnorm", &fold_batchnorm_pass},
      {"fold_scale_shift", &fold_scale_shift_pass},
      // Again: folding a bias Add can make a BN foldable (det's head runs
      // ConvTranspose -> Add(bias) -> BatchNormalization).
      {"fold_batchnorm", &fold_batchnorm_pass},
      // x + x * gate -> x * (1 + gate): det's squeeze-excitation residuals.
      {"fuse_scaled_residual", &fuse_scaled_residual_pass},
      {"fuse_layernorm", &fuse_layernorm_pass},
      // Before the post-op fusions: a residual Add before a LayerNorm joins it.
      {"fuse_skip_layernorm", &fuse_skip_layernorm_pass},
      // After fuse_qdq_matmul: the probabilities' QuantizeLinear feeds an int8 MatMul.
      {"fuse_attention_softmax", &fuse_attention_softmax_pass},
      {"fuse_gelu", &fuse_gelu_pass},
      {"fuse_conv_activation", &fuse_conv_activation_pass},
      {"fuse_conv_residual", &fuse_conv_residual_pass},
      {"fuse_elementwise", &fuse_elementwise_pass},
      // After fuse_conv_residual: an int8 Conv's residual read as int8.
      {"fuse_qdq_residual", &fuse_qdq_residual_pass},
      // Before fuse_qdq_outputs: the Conv before a MaxPool -> Q writes int8.
      {"fuse_qdq_maxpool", &fuse_qdq_maxpool_pass},
      // uint8 Concat/Resize between QDQ pairs (det's neck into its head).
      {"fuse_qdq_concat", &fuse_qdq_concat_pass},
      // After the post-op fusions: the QuantizeLinear ends the fused chain.
      {"fuse_qdq_outputs", &fuse_qdq_outputs_pass},
      {"remove_dead_nodes", &remove_dead_nodes_pass},
      // Last: it marks tensors by who reads them, which no pass may change after.
      {"channels_last_convs", &channels_last_convs_pass},
      // Reads the channels-last marks: only Convs read a marked residual.
      {"accumulate_in_place", &accumulate_in_place_pass},
  };
  return pipeline;
}

// ECOINFER_SKIP_PASSES=name,name turns single passes off, to measure one
// pass against the same build (bench/builds-ab with ECOINFER_B="env
// ECOINFER_SKIP_PASSES=... build/ecoinfer"). --no-optimize turns off all.
bool skipped(const char* name) {
  static const std::string list = [] {
    const char* env = std::getenv("ECOINFER_SKIP_PASSES");
    return env != nullptr ? "," + std::string(env) + "," : std::string();
  }();
  return !list.empty() && list.find("," + std::string(name) + ",") != std::string::npos;
}

Expected<std::vector<PassReport>> optimize(ir::Graph& graph) {
  std::vector<PassReport> reports;
  for (const Pass& pass : optimization_pipeline()) {
    if (skipped(pass.name)) continue;
    Expected<int> rewrites = pass.apply(graph);
    if (!rewrites) return rewrites.status().with_context(fmt::format("optimization pass {}", pass.name));
    reports.push_back({pass.name, *rewrites});
  }
  return reports;
}

}  // namespace ecoinfer::passes
