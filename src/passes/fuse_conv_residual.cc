// A residual Add after a Conv (or MatMul, Gemm) becomes a binary post-op of
// that node reading the other operand, and the activations after the Add
// follow it into the node (as in fuse_conv_activation): MobileNetV3's
// y = Add(x, Conv(...)) is one Conv writing y. Also Sub, Mul, Max and Min by
// a tensor, and a per-channel scale computed at run time ([N, C, 1, 1],
// e.g. a squeeze-excitation gate) when it does not depend on the output.
//
// The other operand must provably not enlarge the output (ShapeClasses: the
// same shape, or the same batch and channels with spatial dims 1), since the
// post-op writes the node's own output shape. The node moves to the Add's
// place, so the operand exists when it runs. Only where the node's output
// is read by the Add alone and is not a graph output.
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_op_fusion.h"
#include "passes/shape_classes.h"

namespace ecoinfer::passes {
namespace {

// Add/Sub/Mul/Max/Min(x, t) with t a tensor computed at run time.
std::optional<PostOpMatch> match_residual(const ir::Graph& g, const Consumers& consumers, const ShapeClasses& classes,
                                          ir::ValueId x) {
  const int index = sole_consumer(g, consumers, x);
  if (index < 0) return std::nullopt;
  const ir::Node& n = g.nodes[static_cast<size_t>(index)];
  const bool add = is_op(n, "Add"), sub = is_op(n, "Sub"), mul = is_op(n, "Mul"), max = is_op(n, "Max"),
             min = is_op(n, "Min");
  if (!(add || sub || mul || max || min) || n.outputs.size() != 1) return std::nullopt;
  const ir::ValueId t = other_input(n, x);
  if (t == ir::kNoValue || g.constant(t) != nullptr || !classes.fits_into(t, x)) return std::nullopt;
  const char* alg = add ? "add" : sub ? "sub" : mul ? "mul" : max ? "max" : "min";
  PostOpMatch m{{PostOp::binary(alg, 0)}, {t}, {index}, n.outputs[0]};
  if (sub && n.inputs[0] != x) m.ops.push_back(PostOp::eltwise("linear", -1, 0));  // t - x = -(x - t)
  return m;
}

}  // namespace

Expected<int> fuse_conv_residual_pass(ir::Graph& g) {
  const ShapeClasses classes(g);  // rewrites below keep every surviving value's shape
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!takes_post_ops(g.nodes[i])) continue;
    size_t at = i;
    bool joined = false;  // activations follow only a fused residual
    while (true) {
      const Consumers consumers = consumers_of(g);
      std::optional<PostOpMatch> m = match_residual(g, consumers, classes, g.nodes[at].outputs[0]);
      if (m) joined = true;
      else if (joined) m = match_activation(g, consumers, g.nodes[at]);
      if (!m || !can_append(g.nodes[at], *m)) break;
      at = apply_match(g, at, *m);
      ++fused;
    }
  }
  drop_erased_nodes(g);
  return fused;
}

}  // namespace ecoinfer::passes
