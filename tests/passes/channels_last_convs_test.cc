// channels_last_convs: tensors that only flow between Convs (as X or as a
// fused residual), or into a squeeze-excitation block's GlobalAveragePool
// and per-channel Mul, are marked channels-last; one read by another op,
// used as weights, or exported stays plain. The marked graph gives the
// same outputs (the kernels honour the marks).
#include <algorithm>

#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

std::vector<int64_t> inputs_marked(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes)
    if (!n.outputs.empty() && n.outputs[0] != ir::kNoValue && g.name_of(n.outputs[0]) == output) {
      return passes::channels_last_inputs(n);
    }
  ADD_FAILURE() << "no node writes " << output;
  return {};
}

bool output_marked(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes)
    if (!n.outputs.empty() && n.outputs[0] != ir::kNoValue && g.name_of(n.outputs[0]) == output) {
      return passes::channels_last_output(n);
    }
  ADD_FAILURE() << "no node writes " << output;
  return false;
}

TEST(ChannelsLastConvs, MarksConvToConvEdgesOnly) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 8, 9, 7});
  b.input("v", onnx::TensorProto::FLOAT, {1, 4, 5, 5});
  random_initializer(b, "w0", {16, 8, 3, 3}, 1);
  random_initializer(b, "w1", {32, 16, 1, 1}, 2);
  random_initializer(b, "w2", {32, 1, 3, 3}, 3);
  random_initializer(b, "w3", {16, 32, 1, 1}, 4);
  random_initializer(b, "w4", {16, 16, 3, 3}, 5);
  set_ints(b.node("Conv", {"x", "w0"}, {"a"}), "pads", {1, 1, 1, 1});
  b.node("Conv", {"a", "w1"}, {"e"});
  b.node("Relu", {"e"}, {"er"});
  onnx::NodeProto* dw = b.node("Conv", {"er", "w2"}, {"d"});
  set_int(dw, "group", 32);
  set_ints(dw, "pads", {1, 1, 1, 1});
  b.node("Conv", {"d", "w3"}, {"p"});
  b.node("Add", {"a", "p"}, {"s"});
  set_ints(b.node("Conv", {"s", "w4"}, {"f"}), "pads", {1, 1, 1, 1});
  b.node("GlobalMaxPool", {"f"}, {"y0"});
  set_ints(b.node("Conv", {"s", "w4"}, {"y1"}), "strides", {2, 2});  // a graph output
  // A conv output used as another conv's weights stays plain.
  random_initializer(b, "wv", {4, 4, 3, 3}, 6);
  b.node("Conv", {"v", "wv"}, {"kw"});
  b.node("Conv", {"v", "kw"}, {"y2"});
  for (const char* y : {"y0", "y1", "y2"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "channels_last",
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                           &passes::channels_last_convs_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 8, 9, 7}, 7)},
                           {"v", random_tensor(DataType::kFloat32, {1, 4, 5, 5}, 8)}});
  expect_same_outputs(r);
  for (const char* v : {"a", "er", "d", "s"}) EXPECT_TRUE(output_marked(r.optimized, v)) << v;
  for (const char* v : {"f", "y1", "kw", "y2"}) EXPECT_FALSE(output_marked(r.optimized, v)) << v;
  // The projection reads both its X and the residual channels-last.
  for (const ir::Node& n : r.optimized.nodes) {
    if (r.optimized.name_of(n.outputs[0]) == "s") {
      EXPECT_EQ(passes::channels_last_inputs(n), (std::vector<int64_t>{0, 3}));
    }
  }
}

// MobileNetV3's squeeze-excitation block: depthwise -> GlobalAveragePool ->
// Conv -> Relu -> Conv -> HardSigmoid -> Mul(feature map) -> projection.
// The feature map, the Mul's output and the projection's input stay
// channels-last; `gate_first` writes Mul(gate, x).
void add_se_block(ModelBuilder& b, const std::string& x, const std::string& p, int64_t channels, bool gate_first,
                  int seed) {
  random_initializer(b, p + "dw_w", {channels, 1, 3, 3}, seed);
  onnx::NodeProto* dw = b.node("Conv", {x, p + "dw_w"}, {p + "d"});
  set_int(dw, "group", channels);
  set_ints(dw, "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {p + "d"}, {p + "pooled"});
  random_initializer(b, p + "fc1_w", {channels / 2, channels, 1, 1}, seed + 1);
  random_initializer(b, p + "fc2_w", {channels, channels / 2, 1, 1}, seed + 2);
  b.node("Conv", {p + "pooled", p + "fc1_w"}, {p + "h"});
  b.node("Relu", {p + "h"}, {p + "hr"});
  b.node("Conv", {p + "hr", p + "fc2_w"}, {p + "g"});
  b.node("HardSigmoid", {p + "g"}, {p + "gate"});
  if (gate_first) b.node("Mul", {p + "gate", p + "d"}, {p + "scaled"});
  else b.node("Mul", {p + "d", p + "gate"}, {p + "scaled"});
}

TEST(ChannelsLastConvs, SqueezeExcitationStaysChannelsLast) {
  for (int64_t batch : {1, 3}) {
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {batch, 8, 11, 9});
    random_initializer(b, "w0", {24, 8, 1, 1}, 1);
    b.node("Conv", {"x", "w0"}, {"a"});
    add_se_block(b, "a", "se1_", 24, false, 10);
    random_initializer(b, "wp", {20, 24, 1, 1}, 2);
    b.node("Conv", {"se1_scaled", "wp"}, {"p"});  // the projection: a 1x1 conv without post-ops
    random_initializer(b, "we", {32, 20, 1, 1}, 3);
    b.node("Conv", {"p", "we"}, {"e"});
    add_se_block(b, "e", "se2_", 32, true, 20);
    random_initializer(b, "wq", {32, 32, 1, 1}, 4);
    b.node("Conv", {"se2_scaled", "wq"}, {"q"});
    b.node("Add", {"q", "e"}, {"y"});  // a residual: fused into the projection
    b.output("y", onnx::TensorProto::FLOAT, {});
    const auto name = "channels_last_se_" + std::to_string(batch);
    PassRun r = run_fused(b, name,
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                           &passes::channels_last_convs_pass},
                          {{"x", random_tensor(DataType::kFloat32, {batch, 8, 11, 9}, 7)}});
    // Seven convolutions deep: the kernels' summation orders differ by a few ulps per layer.
    expect_same_outputs(r, 1e-4, 1e-4);
    for (const char* v : {"a", "se1_d", "se1_scaled", "p", "e", "se2_d", "se2_scaled"}) {
      EXPECT_TRUE(output_marked(r.optimized, v)) << v;
    }
    EXPECT_EQ(inputs_marked(r.optimized, "se1_pooled"), (std::vector<int64_t>{0}));
    EXPECT_EQ(inputs_marked(r.optimized, "se1_scaled"), (std::vector<int64_t>{0}));
    EXPECT_EQ(inputs_marked(r.optimized, "se2_scaled"), (std::vector<int64_t>{1}));
    EXPECT_EQ(inputs_marked(r.optimized, "y"), (std::vector<int64_t>{0, 3}));
    EXPECT_EQ(std::count_if(r.optimized.nodes.begin(), r.optimized.nodes.end(),
                            [](const ir::Node& n) { return n.op_type == "Mul"; }),
              2);
  }
}

// A Mul whose output some other op reads, or whose other operand is a full
// feature map, keeps the block plain.
TEST(ChannelsLastConvs, ScaleReadByAnotherOpOrByAFullMapStaysPlain) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 16, 7, 7});
  random_initializer(b, "w0", {16, 16, 1, 1}, 1);
  b.node("Conv", {"x", "w0"}, {"a"});
  add_se_block(b, "a", "s_", 16, false, 10);
  b.node("Sigmoid", {"s_scaled"}, {"y0"});  // not a Conv
  random_initializer(b, "w1", {16, 16, 1, 1}, 2);
  b.node("Conv", {"x", "w1"}, {"c"});
  b.node("Mul", {"c", "x"}, {"m"});  // by a full-size tensor
  random_initializer(b, "w2", {8, 16, 1, 1}, 3);
  b.node("Conv", {"m", "w2"}, {"y1"});
  for (const char* y : {"y0", "y1"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "channels_last_se_plain", {&passes::channels_last_convs_pass},
                        {{"x", random_tensor(DataType::kFloat32, {2, 16, 7, 7}, 7)}});
  expect_same_outputs(r);
  for (const char* v : {"s_d", "s_scaled", "c", "m"}) EXPECT_FALSE(output_marked(r.optimized, v)) << v;
  EXPECT_TRUE(output_marked(r.optimized, "a"));  // read by the depthwise conv only
}

// A first layer (3 plain channels in, 16 channels-last out: MobileNetV3's
// stem) runs oneDNN's plain-to-blocked kernel, whose 16-channel blocks are
// the channels-last bytes (src/kernels/cpu/conv.cc first_layer_suits);
// with a HardSwish, with a fused residual, per batch size.
TEST(ChannelsLastConvs, FirstLayerWritesChannelsLastDirectly) {
  for (int64_t batch : {1, 2}) {
    ModelBuilder b(14);
    b.input("x", onnx::TensorProto::FLOAT, {batch, 3, 21, 18});
    random_initializer(b, "w0", {16, 3, 3, 3}, 1);
    random_initializer(b, "b0", {16}, 2);
    onnx::NodeProto* stem = b.node("Conv", {"x", "w0", "b0"}, {"s"});
    set_ints(stem, "pads", {1, 1, 1, 1});
    set_ints(stem, "strides", {2, 2});
    b.node("HardSwish", {"s"}, {"sh"});
    random_initializer(b, "w1", {16, 3, 3, 3}, 3);
    onnx::NodeProto* second = b.node("Conv", {"x", "w1"}, {"t"});  // adds the stem's output
    set_ints(second, "pads", {1, 1, 1, 1});
    set_ints(second, "strides", {2, 2});
    b.node("Add", {"t", "sh"}, {"ts"});
    random_initializer(b, "wd", {16, 1, 3, 3}, 4);
    onnx::NodeProto* dw = b.node("Conv", {"ts", "wd"}, {"d"});
    set_int(dw, "group", 16);
    set_ints(dw, "pads", {1, 1, 1, 1});
    random_initializer(b, "wp", {8, 16, 1, 1}, 5);
    b.node("Conv", {"d", "wp"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {});
    PassRun r = run_fused(b, "channels_last_first_layer_" + std::to_string(batch),
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                           &passes::channels_last_convs_pass},
                          {{"x", random_tensor(DataType::kFloat32, {batch, 3, 21, 18}, 7)}});
    expect_same_outputs(r, 1e-4, 1e-4);
    for (const char* v : {"sh", "ts", "d"}) EXPECT_TRUE(output_marked(r.optimized, v)) << v;
  }
}

}  // namespace
}  // namespace ecoinfer::testing
