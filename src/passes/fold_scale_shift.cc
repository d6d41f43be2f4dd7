// A Mul, Add, Sub or Div by a constant that is the same for every element of
// an output channel ([C,1,1], [1,C,1,1], [C] after Gemm, or a scalar), right
// after a Conv, ConvTranspose or Gemm with constant weights, folds into the
// weights and bias. PP-OCRv4's MobileOne blocks put a learnt scalar
// Mul + Add after every convolution.
//
// Only when the producer's output is read by that node alone and is not a
// graph output. x - c and x / c fold; c - x and c / x do not.
#include "passes/channel_affine.h"
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// The constant's value per channel, when it broadcasts per channel against
// an output of `rank` dimensions with the channel on axis 1 (and does not
// raise that rank).
std::optional<std::vector<double>> per_channel(const Tensor& t, int64_t rank, int64_t channels) {
  if (static_cast<int64_t>(t.rank()) > rank) return std::nullopt;
  const int64_t offset = rank - static_cast<int64_t>(t.rank());  // output axis of t's dim 0
  for (int64_t d = 0; d < static_cast<int64_t>(t.rank()); ++d) {
    const int64_t axis = d + offset, size = t.dim(static_cast<size_t>(d));
    if (size != 1 && !(axis == 1 && size == channels)) return std::nullopt;
  }
  std::vector<double> v(static_cast<size_t>(channels));
  const float* data = t.data<float>();
  for (int64_t c = 0; c < channels; ++c) v[static_cast<size_t>(c)] = data[t.numel() == 1 ? 0 : c];
  return v;
}

// The affine map (scale, shift) the node applies to `x`, when it is one.
bool node_affine(const ir::Graph& g, const ir::Node& n, ir::ValueId x, int64_t rank, int64_t channels,
                 std::vector<double>& scale, std::vector<double>& shift) {
  const bool mul = is_op(n, "Mul"), add = is_op(n, "Add"), sub = is_op(n, "Sub"), div = is_op(n, "Div");
  if (!(mul || add || sub || div) || n.outputs.size() != 1) return false;
  const ir::ValueId c = other_input(n, x);
  const Tensor* t = float_constant(g, c);
  if (t == nullptr || ((sub || div) && n.inputs[0] != x)) return false;
  std::optional<std::vector<double>> v = per_channel(*t, rank, channels);
  if (!v) return false;
  scale.assign(static_cast<size_t>(channels), 1.0);
  shift.assign(static_cast<size_t>(channels), 0.0);
  for (size_t i = 0; i < v->size(); ++i) {
    const double k = (*v)[i];
    if (mul) scale[i] = k;
    if (div) {
      if (k == 0.0) return false;
      scale[i] = 1.0 / k;
    }
    if (add) shift[i] = k;
    if (sub) shift[i] = -k;
  }
  return true;
}

}  // namespace

Expected<int> fold_scale_shift_pass(ir::Graph& g) {
  int folded = 0;
  std::vector<std::vector<int>> consumers = consumers_of(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& p = g.nodes[i];
    const std::optional<int64_t> channels = foldable_channels(g, p);
    if (!channels) continue;
    // Fold as many Mul/Add steps as follow one another.
    while (true) {
      const ir::ValueId x = p.outputs[0];
      const int next = sole_consumer(g, consumers, x);
      if (next < 0) break;
      ir::Node& n = g.nodes[static_cast<size_t>(next)];
      std::vector<double> scale, shift;
      if (!node_affine(g, n, x, producer_output_rank(g, p), *channels, scale, shift)) break;
      fold_channel_affine(g, p, scale, shift);
      const ir::ValueId y = n.outputs[0];
      p.outputs[0] = y;
      g.values[static_cast<size_t>(y)].producer = static_cast<int>(i);
      erase_node(n);
      ++folded;
    }
  }
  drop_erased_nodes(g);
  return folded;
}

}  // namespace ecoinfer::passes
