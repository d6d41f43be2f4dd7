// channels_last_convs: tensors that only flow between Convs (as X or as a
// fused residual) are marked channels-last; one read by another op, used
// as weights, or exported stays plain. The marked graph gives the same
// outputs (the kernels honour the marks).
#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

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
  b.node("GlobalAveragePool", {"f"}, {"y0"});
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

}  // namespace
}  // namespace ecoinfer::testing
