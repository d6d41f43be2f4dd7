// fuse_conv_residual: a residual Add (and the activation after it), a
// per-channel gate computed elsewhere, and t - x become binary post-ops
// when the operand provably fits the output; an operand of unknown shape,
// and a gate computed from the conv's own output, stay.
#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

using Strings = std::vector<std::string>;

TEST(FuseConvResidual, MobileNetBlockSeGateAndSub) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 8, 10, 9});
  random_initializer(b, "w0", {16, 8, 3, 3}, 1);
  random_initializer(b, "w1", {32, 16, 1, 1}, 2);
  random_initializer(b, "w2", {32, 1, 3, 3}, 3);
  random_initializer(b, "w3", {16, 32, 1, 1}, 4);
  random_initializer(b, "b3", {16}, 5);
  set_ints(b.node("Conv", {"x", "w0"}, {"x1"}), "pads", {1, 1, 1, 1});
  // Inverted residual: 1x1 expand, depthwise 3x3 (asymmetric pads that keep
  // the size), 1x1 project, Add the block's input, Relu.
  b.node("Conv", {"x1", "w1"}, {"e"});
  b.node("Relu", {"e"}, {"er"});
  onnx::NodeProto* dw = b.node("Conv", {"er", "w2"}, {"d"});
  set_int(dw, "group", 32);
  set_ints(dw, "pads", {2, 0, 0, 2});
  b.node("Relu", {"d"}, {"dr"});
  b.node("Conv", {"dr", "w3", "b3"}, {"p"});
  b.node("Add", {"x1", "p"}, {"s"});
  b.node("Relu", {"s"}, {"y0"});
  // A squeeze-excitation gate computed from x1, applied to another conv of x1.
  random_initializer(b, "wg", {16, 16, 1, 1}, 6);
  b.node("GlobalAveragePool", {"x1"}, {"pool"});
  b.node("Conv", {"pool", "wg"}, {"gc"});
  b.node("HardSigmoid", {"gc"}, {"gate"});
  random_initializer(b, "w4", {16, 16, 3, 3}, 7);
  set_string(b.node("Conv", {"x1", "w4"}, {"c4"}), "auto_pad", "SAME_UPPER");
  b.node("Mul", {"c4", "gate"}, {"y1"});
  // x1 - conv
  random_initializer(b, "w5", {16, 16, 1, 1}, 8);
  b.node("Conv", {"x1", "w5"}, {"c5"});
  b.node("Sub", {"x1", "c5"}, {"y2"});
  for (const char* y : {"y0", "y1", "y2"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_residual_block",
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 8, 10, 9}, 9)}});
  expect_same_outputs(r);
  EXPECT_EQ(post_ops_of(r.optimized, "y0"), (Strings{"binary:add:3", "eltwise:relu:0:0"}));
  EXPECT_EQ(post_ops_of(r.optimized, "y1"), Strings{"binary:mul:3"});
  EXPECT_EQ(post_ops_of(r.optimized, "y2"), (Strings{"binary:sub:3", "eltwise:linear:-1:0"}));
  EXPECT_EQ(count_op(r.optimized, "Add") + count_op(r.optimized, "Mul") + count_op(r.optimized, "Sub"), 0);
}

TEST(FuseConvResidual, LeavesUnprovenShapesAndSelfGates) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 6, 6});
  b.input("t", onnx::TensorProto::FLOAT, {1, 4, 6, 6});
  random_initializer(b, "w", {4, 4, 3, 3}, 1);
  set_ints(b.node("Conv", {"x", "w"}, {"c0"}), "pads", {1, 1, 1, 1});
  b.node("Add", {"c0", "t"}, {"y0"});  // t's shape is unknown to the pass
  set_ints(b.node("Conv", {"x", "w"}, {"x1"}), "pads", {1, 1, 1, 1});
  onnx::NodeProto* s2 = b.node("Conv", {"x1", "w"}, {"c1"});
  set_ints(s2, "pads", {1, 1, 1, 1});
  set_ints(s2, "strides", {2, 2});
  random_initializer(b, "w1", {4, 4, 1, 1}, 2);
  b.node("Conv", {"x1", "w1"}, {"c2"});
  b.node("Add", {"c2", "x1"}, {"y1"});  // fits: fused
  b.node("Mul", {"c1", "c1"}, {"y2"});  // x * x: no other operand
  // Gate from the conv's own output: the gate needs the output first.
  b.node("Conv", {"x1", "w1"}, {"c3"});
  b.node("GlobalAveragePool", {"c3"}, {"p3"});
  b.node("Sigmoid", {"p3"}, {"g3"});
  b.node("Mul", {"c3", "g3"}, {"y3"});
  for (const char* y : {"y0", "y1", "y2", "y3"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_residual_leaves", {&passes::fuse_conv_residual_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 4, 6, 6}, 3)},
                           {"t", random_tensor(DataType::kFloat32, {1, 4, 6, 6}, 4)}});
  expect_same_outputs(r);
  EXPECT_EQ(r.rewrites, 1);
  EXPECT_EQ(post_ops_of(r.optimized, "y1"), Strings{"binary:add:3"});
  EXPECT_EQ(count_op(r.optimized, "Add"), 1);
  EXPECT_EQ(count_op(r.optimized, "Mul"), 2);
}


// ResNet's projection block: the shortcut (1x1, stride 2) and the main path's
// strided conv (3x3, stride 2, padding 1) give the same size from any input
// size, so the Add joins the last conv of the main path. A 2x2 stride-2 conv
// matches the shortcut's size only for even inputs: not provable, left alone.
TEST(FuseConvResidual, StridedShortcutOfTheSameGeometry) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 10, 10});
  random_initializer(b, "w1", {4, 4, 1, 1}, 1);
  random_initializer(b, "w2", {4, 4, 3, 3}, 2);
  random_initializer(b, "w3", {8, 4, 1, 1}, 3);
  random_initializer(b, "wd", {8, 4, 1, 1}, 4);
  random_initializer(b, "w4", {8, 4, 2, 2}, 5);
  b.node("Conv", {"x", "w1"}, {"a"});
  onnx::NodeProto* c2 = b.node("Conv", {"a", "w2"}, {"m"});
  set_ints(c2, "pads", {1, 1, 1, 1});
  set_ints(c2, "strides", {2, 2});
  b.node("Conv", {"m", "w3"}, {"main"});
  set_ints(b.node("Conv", {"x", "wd"}, {"shortcut"}), "strides", {2, 2});
  b.node("Add", {"main", "shortcut"}, {"s"});
  b.node("Relu", {"s"}, {"y0"});
  set_ints(b.node("Conv", {"x", "w4"}, {"even_only"}), "strides", {2, 2});
  set_ints(b.node("Conv", {"x", "wd"}, {"shortcut2"}), "strides", {2, 2});
  b.node("Add", {"even_only", "shortcut2"}, {"y1"});
  for (const char* y : {"y0", "y1"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_residual_strided",
                        {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass},
                        {{"x", random_tensor(DataType::kFloat32, {1, 4, 10, 10}, 6)}});
  expect_same_outputs(r);
  EXPECT_EQ(post_ops_of(r.optimized, "y0"), (Strings{"binary:add:3", "eltwise:relu:0:0"}));
  EXPECT_EQ(count_op(r.optimized, "Add"), 1);  // y1's stays
}

}  // namespace
}  // namespace ecoinfer::testing
