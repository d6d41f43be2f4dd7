// Activations after a Conv, ConvTranspose, MatMul or Gemm become post-ops of
// that node ("_ecoinfer.post_ops", pass.h), run by oneDNN inside the
// primitive while the output is still in registers: Relu, LeakyRelu, Clip
// (Relu6), HardSigmoid, Sigmoid, Tanh, Elu, Gelu, HardSwish (the op, and
// PaddleOCR's x * Clip(x + 3, 0, 6) / 6), Swish (x * Sigmoid(x)), and affine
// maps by scalar or per-channel constants after them (PP-OCRv4's learnt
// scale and shift after each activation). A chain folds as far as it goes:
// Conv -> HardSwish -> Mul 0.18 -> Add -0.2 is one Conv.
//
// Only where each intermediate value is read inside the pattern alone and
// is not a graph output. A constant scale or shift right after the op is
// fold_scale_shift's (it folds into the weights); this pass runs after it.
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_op_fusion.h"

namespace ecoinfer::passes {

Expected<int> fuse_conv_activation_pass(ir::Graph& g) {
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!takes_post_ops(g.nodes[i])) continue;
    size_t at = i;
    while (true) {
      const Consumers consumers = consumers_of(g);
      const std::optional<PostOpMatch> m = match_activation(g, consumers, g.nodes[at]);
      if (!m || !can_append(g.nodes[at], *m)) break;
      at = apply_match(g, at, *m);
      ++fused;
    }
  }
  drop_erased_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
