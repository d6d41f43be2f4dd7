// Lets a Conv add its residual in place: when a fused binary "add" reads a
// residual that no later node reads, the Conv may write its output into
// the residual's buffer and run oneDNN's sum post-op (dst += acc) instead
// of a binary add. oneDNN 2.6 has no fast 1x1 kernel for a channels-last
// binary add (jit_1x1, 1.2-1.9x slower than brgconv_1x1 with a sum at
// MobileNetV3's and ResNet-50's projection shapes), and the sum reads one
// tensor fewer. The Conv gets kAccumulateInput (passes/post_ops.h); its
// kernel falls back to the binary add where the layouts do not allow it.
//
// The residual qualifies when the channels_last_convs pass marked it as
// channels-last in this Conv, as the Conv's output is (so a Conv wrote it,
// only Convs and a squeeze-excitation's pool and Mul read it, none of which
// makes a view of it, and it is no graph output),
// the Conv reads it once, is its last reader in node order (the execution
// order), and is no int8 Conv.
#include <algorithm>

#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"

namespace ecoinfer::passes {
namespace {

// The input index of `conv`'s residual add when the Conv may accumulate
// into it; -1 otherwise.
int64_t accumulable_residual(const ir::Graph& g, const std::vector<int>& last_reader, int index) {
  const ir::Node& conv = g.nodes[static_cast<size_t>(index)];
  if (!is_op(conv, "Conv") || !channels_last_output(conv) || conv.attribute(kQuantInputAttribute) != nullptr) {
    return -1;
  }
  Expected<std::vector<PostOp>> ops = read_post_ops(conv);
  if (!ops) return -1;
  const std::vector<int64_t> channels_last = channels_last_inputs(conv);
  for (const PostOp& op : *ops) {
    if (op.kind != PostOp::Kind::kBinary || op.alg != "add") continue;
    const ir::ValueId r = conv.inputs[static_cast<size_t>(op.input)];
    const bool marked = std::find(channels_last.begin(), channels_last.end(), op.input) != channels_last.end();
    const bool read_once = std::count(conv.inputs.begin(), conv.inputs.end(), r) == 1;
    if (marked && read_once && last_reader[static_cast<size_t>(r)] == index) return op.input;
  }
  return -1;
}

}  // namespace

Expected<int> accumulate_in_place_pass(ir::Graph& g) {
  std::vector<int> last_reader(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ir::ValueId v : g.nodes[i].inputs) {
      if (v != ir::kNoValue) last_reader[static_cast<size_t>(v)] = static_cast<int>(i);
    }
  }
  int marked = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const int64_t input = accumulable_residual(g, last_reader, static_cast<int>(i));
    if (input < 0) continue;
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::kInt;
    a.i = input;
    g.nodes[i].attributes[kAccumulateInput] = a;
    ++marked;
  }
  return marked;
}

}  // namespace ecoinfer::passes
