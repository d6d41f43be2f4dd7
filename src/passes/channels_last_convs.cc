// Marks the tensors that flow only between convolutions to stay
// channels-last (N, spatial..., C) in memory: the Conv that writes one gets
// kChannelsLastOutput, the Convs that read it (as X or as a fused residual)
// list it in kChannelsLastInputs (passes/post_ops.h). oneDNN's fast direct
// convolutions take channels-last data, and without the marks every Conv
// reorders its plain NCHW input in and its output back out
// (src/kernels/cpu/conv.cc); with them a chain of convolutions reorders
// once at each end.
//
// A tensor qualifies when a Conv writes it, it is not a graph output, and
// every reader is a Conv that reads it as X or as a binary post-op operand
// (never as weights or bias), or one of a squeeze-excitation block's ops
// (src/kernels/ref/channels_last.h): a GlobalAveragePool, or a Mul by one
// value per channel whose own output qualifies (only Convs read it), which
// then writes channels-last too. MobileNetV3's SE blocks thus run with no
// transpose between the depthwise and the projection convolutions.
// Runs last: no later pass may add a reader. When all the marked nodes
// suit 16-channel blocks (mark_blocked16 below), they also get
// kBlocked16Layout and the marked tensors are blocks, not channels-last.
// One op may sit between: a 2-D MaxPool of a Conv's output (a ResNet's
// stem, float or a quantized model's uint8/int8) whose own readers all
// qualify; it then pools channels-last too (kernels/ref/pool.cc), one vector
// of channels per pixel. In float ResNet-50 this saves the stem Conv's
// transpose to plain, a plain pool 3x slower than the channels-last one and
// two reorders back for layer1's two readers.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "passes/graph_rewrite.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"
#include "passes/post_ops.h"
#include "passes/shape_classes.h"

namespace ecoinfer::passes {
namespace {

// An int8 ConvTranspose (fuse_qdq_inputs) takes channels-last data too
// (kernels/cpu/pixel_deconv.h); a float32 one runs on plain data.
bool is_int8_conv_transpose(const ir::Node& n) {
  return is_op(n, "ConvTranspose") && n.attribute(kQuantInputAttribute) != nullptr;
}

// The input indices at which `reader` (a Conv) reads `v` in a layout-neutral
// role; empty when it reads it as weights or bias, or is no Conv.
std::vector<int64_t> data_uses(const ir::Node& reader, ir::ValueId v) {
  if (!is_op(reader, "Conv") && !is_int8_conv_transpose(reader)) return {};
  Expected<std::vector<PostOp>> ops = read_post_ops(reader);
  if (!ops) return {};
  std::vector<int64_t> uses;
  for (size_t k = 0; k < reader.inputs.size(); ++k) {
    if (reader.inputs[k] != v) continue;
    const bool operand = std::any_of(ops->begin(), ops->end(), [&](const PostOp& op) {
      return op.kind == PostOp::Kind::kBinary && op.input == static_cast<int>(k);
    });
    if (k != 0 && !operand) return {};
    uses.push_back(static_cast<int64_t>(k));
  }
  return uses;
}

void mark_inputs(ir::Node& reader, const std::vector<int64_t>& uses) {
  ir::Attribute& list = reader.attributes[kChannelsLastInputs];
  list.kind = ir::Attribute::Kind::kInts;
  list.ints.insert(list.ints.end(), uses.begin(), uses.end());
  std::sort(list.ints.begin(), list.ints.end());
}

void mark_output(ir::Node& writer) {
  ir::Attribute flag;
  flag.kind = ir::Attribute::Kind::kInt;
  flag.i = 1;
  writer.attributes[kChannelsLastOutput] = flag;
}

// Readers of `v` and the input indices at which each reads it, when every
// reader is a Conv reading it in a layout-neutral role; empty otherwise.
std::vector<std::pair<int, std::vector<int64_t>>> conv_uses(const ir::Graph& g,
                                                            const std::vector<std::vector<int>>& consumers,
                                                            ir::ValueId v) {
  std::vector<std::pair<int, std::vector<int64_t>>> uses;
  if (consumers[static_cast<size_t>(v)].empty() || is_graph_output(g, v)) return {};
  for (int r : consumers[static_cast<size_t>(v)]) {
    std::vector<int64_t> k = data_uses(g.nodes[static_cast<size_t>(r)], v);
    if (k.empty()) return {};
    uses.emplace_back(r, std::move(k));
  }
  return uses;
}

// A 2-D MaxPool (no Indices) reading v alone as its input.
bool channels_last_pool(const ir::Graph& g, int index, ir::ValueId v) {
  const ir::Node& n = g.nodes[static_cast<size_t>(index)];
  const ir::Attribute* kernel = n.attribute("kernel_shape");
  return is_op(n, "MaxPool") && n.inputs.size() == 1 && n.inputs[0] == v && !n.outputs.empty() &&
         n.outputs[0] != ir::kNoValue && (n.outputs.size() == 1 || n.outputs[1] == ir::kNoValue) &&
         kernel != nullptr && kernel->ints.size() == 2;
}

// A Conv -> MaxPool -> Convs chain: marks it and returns true.
bool mark_through_pool(ir::Graph& g, const std::vector<std::vector<int>>& consumers, ir::Node& producer) {
  const ir::ValueId v = producer.outputs[0];
  const auto& readers = consumers[static_cast<size_t>(v)];
  if (readers.size() != 1 || is_graph_output(g, v) ||
      !channels_last_pool(g, readers[0], v)) {
    return false;
  }
  ir::Node& pool = g.nodes[static_cast<size_t>(readers[0])];
  const auto uses = conv_uses(g, consumers, pool.outputs[0]);
  if (uses.empty()) return false;
  mark_output(producer);
  mark_inputs(pool, {0});
  mark_output(pool);
  for (const auto& [r, k] : uses) mark_inputs(g.nodes[static_cast<size_t>(r)], k);
  return true;
}

// One reader of a channels-last tensor: where it reads it, and for a
// squeeze-excitation Mul, the Convs that read its output.
struct Reader {
  int node = -1;
  std::vector<int64_t> uses;
  std::vector<std::pair<int, std::vector<int64_t>>> scaled_readers;
};

class ChannelsLastMarker {
 public:
  ChannelsLastMarker(ir::Graph& g, const std::vector<std::vector<int>>& consumers)
      : g_(g), consumers_(consumers), classes_(g) {}

  // The readers of Conv output v when all of them read it channels-last.
  std::optional<std::vector<Reader>> readers_of(ir::ValueId v, bool float_output) const {
    const auto& readers = consumers_[static_cast<size_t>(v)];
    if (readers.empty() || is_graph_output(g_, v)) return std::nullopt;
    std::vector<Reader> out;
    for (int r : readers) {
      const ir::Node& n = g_.nodes[static_cast<size_t>(r)];
      Reader reader{r, data_uses(n, v), {}};
      if (reader.uses.empty() && float_output) {
        if (is_op(n, "GlobalAveragePool") && n.inputs.size() == 1) {
          reader.uses = {0};
        } else if (auto scaled = scaled_readers(n, v)) {
          reader.uses = {n.inputs[0] == v ? 0 : 1};
          reader.scaled_readers = std::move(*scaled);
        }
      }
      if (reader.uses.empty()) return std::nullopt;
      out.push_back(std::move(reader));
    }
    return out;
  }

  void mark(ir::Node& producer, const std::vector<Reader>& readers) {
    mark_output(producer);
    for (const Reader& r : readers) {
      ir::Node& n = g_.nodes[static_cast<size_t>(r.node)];
      mark_inputs(n, r.uses);
      if (r.scaled_readers.empty()) continue;
      mark_output(n);
      for (const auto& [conv, uses] : r.scaled_readers) mark_inputs(g_.nodes[static_cast<size_t>(conv)], uses);
    }
  }

 private:
  // For Mul(v, gate) with one gate value per channel of v (a squeeze-
  // excitation scale): its output's readers and their uses, when every
  // one is a Conv reading it as data.
  std::optional<std::vector<std::pair<int, std::vector<int64_t>>>> scaled_readers(const ir::Node& mul,
                                                                                  ir::ValueId v) const {
    if (!is_op(mul, "Mul") || mul.inputs.size() != 2 || mul.outputs.size() != 1) return std::nullopt;
    const ir::ValueId gate = other_input(mul, v), y = mul.outputs[0];
    if (gate == ir::kNoValue || gate == v || y == ir::kNoValue || is_graph_output(g_, y)) return std::nullopt;
    if (!classes_.fits_into(gate, v) || classes_.fits_into(v, gate)) return std::nullopt;
    std::vector<std::pair<int, std::vector<int64_t>>> out;
    for (int r : consumers_[static_cast<size_t>(y)]) {
      std::vector<int64_t> uses = data_uses(g_.nodes[static_cast<size_t>(r)], y);
      if (uses.empty()) return std::nullopt;
      out.emplace_back(r, std::move(uses));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  ir::Graph& g_;
  const std::vector<std::vector<int>>& consumers_;
  const ShapeClasses classes_;
};

bool has_marks(const ir::Node& n) { return channels_last_output(n) || !channels_last_inputs(n).empty(); }

// A float Conv oneDNN runs in 16-channel blocks with no padding: groups of
// one, constant 4-D weights of 16k output channels, and 16k input channels
// when its input is marked.
bool blocks_fit_conv(const ir::Graph& g, const ir::Node& n) {
  if (n.attribute(kQuantInputAttribute) != nullptr || n.attribute(kComputeBf16Attribute) != nullptr ||
      n.inputs.size() < 2) {
    return false;
  }
  const ir::Attribute* group = n.attribute("group");
  const Tensor* w = g.constant(n.inputs[1]);
  if ((group != nullptr && group->i != 1) || w == nullptr || w->rank() != 4 || w->dim(0) % 16 != 0) return false;
  const std::vector<int64_t> inputs = channels_last_inputs(n);
  return std::find(inputs.begin(), inputs.end(), 0) == inputs.end() || w->dim(1) % 16 == 0;
}

// When every node touching a marked tensor is such a Conv, a MaxPool or a
// GlobalAveragePool (a ResNet's trunk), marks them all kBlocked16Layout:
// oneDNN's Winograd kernels take only 16-channel blocks, and with the trunk
// in channels-last each one reorders its input and output (ResNet-50: 22
// reorders, 1.2 ms of 53 at one thread), while its direct kernels run
// ResNet's shapes as fast in blocks. Mixing the two layouts in one Conv has
// no fast oneDNN kernel, hence all or nothing. Returns the nodes marked.
int mark_blocked16(ir::Graph& g) {
  std::vector<ir::Node*> marked;
  for (ir::Node& n : g.nodes) {
    if (!has_marks(n)) continue;
    const bool fits = is_op(n, "Conv") ? blocks_fit_conv(g, n) : is_op(n, "MaxPool") || is_op(n, "GlobalAveragePool");
    if (!fits) return 0;
    marked.push_back(&n);
  }
  for (ir::Node* n : marked) {
    ir::Attribute flag;
    flag.kind = ir::Attribute::Kind::kInt;
    flag.i = 1;
    n->attributes[kBlocked16Layout] = flag;
  }
  return static_cast<int>(marked.size());
}

}  // namespace

Expected<int> channels_last_convs_pass(ir::Graph& g) {
  const std::vector<std::vector<int>> consumers = consumers_of(g);
  ChannelsLastMarker marker(g, consumers);
  int marked = 0;
  for (ir::Node& producer : g.nodes) {
    const bool conv = is_op(producer, "Conv") || is_int8_conv_transpose(producer);
    if (!conv || producer.outputs.size() != 1 || producer.outputs[0] == ir::kNoValue) continue;
    if (mark_through_pool(g, consumers, producer)) {
      ++marked;
      continue;
    }
    // An int8 output (a fused QuantizeLinear) goes to Convs only.
    const bool float_output = producer.attribute(kQuantOutputAttribute) == nullptr;
    const auto readers = marker.readers_of(producer.outputs[0], float_output);
    if (!readers) continue;
    marker.mark(producer, *readers);
    ++marked;
  }
  mark_blocked16(g);
  return marked;
}

}  // namespace ecoinfer::passes
