// A residual Add read only by a LayerNormalization joins it (ONNX Runtime's
// SkipLayerNormalization):
//
//   s = Add(a, b)            y = LayerNormalization(a, gamma, beta, b)
//   y = LayerNormalization(s, gamma, beta)        with kSkipInputAttribute
//
// A transformer layer ends twice so (post-LN BERT: LayerNorm(x + attention),
// LayerNorm(x1 + FFN)), and the embeddings once: the Add's pass over memory
// (two reads, one write of [seq, hidden]) goes, the LayerNorm kernel adds
// each row as it reads it (src/kernels/ref/normalize.cc). The kernel
// broadcasts like Add when the two shapes differ, so nothing about shapes
// has to be proven here.
//
// Only where both Add operands are computed at run time (an Add of a
// constant is a bias: post-op fusion's), the Add's result is read by the
// LayerNormalization alone and is not a graph output, and the LayerNorm
// does not write its optional mean / inverse deviation outputs.
#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

bool plain_layernorm(const ir::Node& n) {
  if (!is_op(n, "LayerNormalization") || n.attribute(kSkipInputAttribute) != nullptr) return false;
  if (n.inputs.size() < 2 || n.inputs.size() > 3) return false;
  for (size_t i = 1; i < n.outputs.size(); ++i) {
    if (n.outputs[i] != ir::kNoValue) return false;
  }
  return true;
}

bool fuse(ir::Graph& g, const std::vector<std::vector<int>>& consumers, size_t ln_index) {
  ir::Node& ln = g.nodes[ln_index];
  if (!plain_layernorm(ln)) return false;
  const ir::ValueId sum = ln.inputs[0];
  const int add_index = g.values[static_cast<size_t>(sum)].producer;
  if (add_index < 0 || sole_consumer(g, consumers, sum) != static_cast<int>(ln_index)) return false;
  ir::Node& add = g.nodes[static_cast<size_t>(add_index)];
  if (!is_op(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
  for (ir::ValueId v : add.inputs) {
    if (v == ir::kNoValue || g.constant(v) != nullptr) return false;
  }
  ln.inputs.resize(3, ir::kNoValue);  // B may be absent
  ln.inputs[0] = add.inputs[0];
  ln.inputs.push_back(add.inputs[1]);
  ir::Attribute skip;
  skip.kind = ir::Attribute::Kind::kInt;
  skip.i = 1;
  ln.attributes[kSkipInputAttribute] = skip;
  erase_node(add);
  return true;
}

}  // namespace

Expected<int> fuse_skip_layernorm_pass(ir::Graph& g) {
  const auto consumers = consumers_of(g);
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) fused += fuse(g, consumers, i) ? 1 : 0;
  drop_erased_nodes(g);
  refresh_producers(g);
  return fused;
}

}  // namespace ecoinfer::passes
