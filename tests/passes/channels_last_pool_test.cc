// channels_last_convs through a float MaxPool: a ResNet stem (Conv -> Relu
// -> MaxPool -> Convs) keeps the stem's output and the pool's output
// channels-last, and the channels-last pool (kernels/ref/pool.cc) gives the
// plain pool's values, negative inputs and padded windows included. A pool
// whose output another op reads stays plain. When every node touching a
// marked tensor is a float Conv of 16k channels, a MaxPool or a
// GlobalAveragePool (a ResNet trunk), the marked tensors are 16-channel
// blocks instead (kBlocked16Layout), with the same outputs.
#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

const ir::Node* writer_of(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes) {
    if (!n.outputs.empty() && n.outputs[0] != ir::kNoValue && g.name_of(n.outputs[0]) == output) return &n;
  }
  ADD_FAILURE() << "no node writes " << output;
  return nullptr;
}

// x -> stem Conv (7x7 stride 2, optionally Relu) -> MaxPool (3x3 stride 2
// pad 1) -> two 1x1 Convs, added. `pool_read_elsewhere`: the pooled tensor
// is a graph output too.
ModelBuilder stem(bool relu, bool pool_read_elsewhere, int64_t channels) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, 37, 41});
  random_initializer(b, "w0", {channels, 3, 7, 7}, 1);
  random_initializer(b, "w1", {16, channels, 1, 1}, 2);
  random_initializer(b, "w2", {16, channels, 1, 1}, 3);
  onnx::NodeProto* conv = b.node("Conv", {"x", "w0"}, {"c"});
  set_ints(conv, "strides", {2, 2});
  set_ints(conv, "pads", {3, 3, 3, 3});
  if (relu) b.node("Relu", {"c"}, {"r"});
  onnx::NodeProto* pool = b.node("MaxPool", {relu ? "r" : "c"}, {"p"});
  set_ints(pool, "kernel_shape", {3, 3});
  set_ints(pool, "strides", {2, 2});
  set_ints(pool, "pads", {1, 1, 1, 1});
  b.node("Conv", {"p", "w1"}, {"a"});
  b.node("Conv", {"p", "w2"}, {"d"});
  b.node("Add", {"a", "d"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {});
  if (pool_read_elsewhere) b.output("p", onnx::TensorProto::FLOAT, {});
  return b;
}

PassRun run_stem(const ModelBuilder& b, const std::string& name) {
  return run_fused(b, name,
                   {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                    &passes::channels_last_convs_pass},
                   {{"x", random_tensor(DataType::kFloat32, {1, 3, 37, 41}, 7)}});
}

TEST(ChannelsLastPool, FloatStemPoolsChannelsLastWithSameOutputs) {
  for (bool relu : {true, false}) {  // without Relu the windows hold negative values only, at places
    for (int64_t channels : {16, 64, 24}) {
      SCOPED_TRACE((relu ? "relu, " : "no relu, ") + std::to_string(channels) + " channels");
      PassRun r = run_stem(stem(relu, false, channels), "channels_last_pool");
      expect_same_outputs(r, 1e-4, 1e-4);
      const ir::Node* pool = writer_of(r.optimized, "p");
      ASSERT_NE(pool, nullptr);
      EXPECT_TRUE(passes::channels_last_output(*pool));
      EXPECT_EQ(passes::channels_last_inputs(*pool), (std::vector<int64_t>{0}));
      const ir::Node* conv = writer_of(r.optimized, relu ? "r" : "c");  // Relu fused: the Conv writes r
      ASSERT_NE(conv, nullptr);
      EXPECT_TRUE(passes::channels_last_output(*conv));
      // 24 channels do not fill 16-channel blocks: channels-last.
      EXPECT_EQ(passes::blocked16_layout(*pool), channels % 16 == 0);
      EXPECT_EQ(passes::blocked16_layout(*conv), channels % 16 == 0);
    }
  }
}

TEST(ChannelsLastPool, PoolReadByAnotherOpStaysPlain) {
  PassRun r = run_stem(stem(true, true, 16), "channels_last_pool_exported");
  expect_same_outputs(r, 1e-4, 1e-4);
  const ir::Node* pool = writer_of(r.optimized, "p");
  ASSERT_NE(pool, nullptr);
  EXPECT_FALSE(passes::channels_last_output(*pool));
  EXPECT_TRUE(passes::channels_last_inputs(*pool).empty());
}

// A ResNet in small: stem, pool, one bottleneck block (1x1, 3x3 on 16x16
// or 7x7, both on oneDNN's Winograd kernel in blocks, 1x1, projection
// shortcut added), GlobalAveragePool.
void check_blocked_trunk(int64_t side) {
  SCOPED_TRACE("input side " + std::to_string(side));
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, side, side});
  random_initializer(b, "w0", {16, 3, 7, 7}, 1);
  random_initializer(b, "w1", {64, 16, 1, 1}, 2);
  random_initializer(b, "w2", {64, 64, 3, 3}, 3);
  random_initializer(b, "w3", {16, 64, 1, 1}, 4);
  random_initializer(b, "wd", {16, 16, 1, 1}, 5);
  onnx::NodeProto* conv = b.node("Conv", {"x", "w0"}, {"c"});
  set_ints(conv, "strides", {2, 2});
  set_ints(conv, "pads", {3, 3, 3, 3});
  b.node("Relu", {"c"}, {"r"});
  onnx::NodeProto* pool = b.node("MaxPool", {"r"}, {"p"});
  set_ints(pool, "kernel_shape", {3, 3});
  set_ints(pool, "strides", {2, 2});
  set_ints(pool, "pads", {1, 1, 1, 1});
  b.node("Conv", {"p", "w1"}, {"a"});
  b.node("Relu", {"a"}, {"ar"});
  set_ints(b.node("Conv", {"ar", "w2"}, {"m"}), "pads", {1, 1, 1, 1});
  b.node("Relu", {"m"}, {"mr"});
  b.node("Conv", {"mr", "w3"}, {"e"});
  b.node("Conv", {"p", "wd"}, {"d"});  // the projection shortcut
  b.node("Add", {"e", "d"}, {"s"});
  b.node("Relu", {"s"}, {"sr"});
  b.node("GlobalAveragePool", {"sr"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "channels_last_blocked_trunk",
                        {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                         &passes::channels_last_convs_pass},
                        {{"x", random_tensor(DataType::kFloat32, {1, 3, side, side}, 7)}});
  expect_same_outputs(r, 1e-4, 1e-4);
  int blocked = 0;
  for (const ir::Node& n : r.optimized.nodes) {
    EXPECT_TRUE(passes::blocked16_layout(n)) << n.op_type;
    blocked += passes::blocked16_layout(n);
  }
  EXPECT_EQ(blocked, 7);  // 5 Convs, the MaxPool, the GlobalAveragePool
}

TEST(ChannelsLastPool, ResNetTrunkRunsInSixteenChannelBlocks) {
  check_blocked_trunk(64);  // 3x3 on 16x16
  check_blocked_trunk(28);  // 3x3 on 7x7
}

}  // namespace
}  // namespace ecoinfer::testing
