// fuse_conv_activation: activations and constant affine maps after Conv,
// ConvTranspose, MatMul and Gemm become post-ops; shared or exported
// intermediates, c / x, non-constant bounds and spatial constants stay.
#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

using Strings = std::vector<std::string>;

TEST(FuseConvActivation, EveryActivationAfterConvMatMulGemm) {
  ModelBuilder b(14);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 6, 6});
  b.input("a", onnx::TensorProto::FLOAT, {3, 5});
  random_initializer(b, "w", {8, 4, 3, 3}, 1);
  random_initializer(b, "bias", {8}, 2);
  b.initializer("zero", {}, {0.0f});
  b.initializer("six", {}, {6.0f});
  const std::vector<std::string> acts = {"Relu", "LeakyRelu", "Clip", "HardSigmoid", "Sigmoid", "Tanh", "HardSwish", "Elu"};
  for (size_t i = 0; i < acts.size(); ++i) {
    const std::string c = "c" + std::to_string(i), y = "y" + std::to_string(i);
    set_ints(b.node("Conv", {"x", "w", "bias"}, {c}), "pads", {1, 1, 1, 1});
    onnx::NodeProto* n = b.node(acts[i], acts[i] == "Clip" ? std::vector<std::string>{c, "zero", "six"}
                                                           : std::vector<std::string>{c},
                                {y});
    if (acts[i] == "LeakyRelu") set_float(n, "alpha", 0.2f);
    if (acts[i] == "HardSigmoid") set_float(n, "alpha", 0.3f), set_float(n, "beta", 0.4f);
    b.output(y, onnx::TensorProto::FLOAT, {});
  }
  random_initializer(b, "m", {5, 7}, 3);
  random_initializer(b, "mb", {7}, 4);
  b.node("MatMul", {"a", "m"}, {"mm"});
  b.node("Add", {"mm", "mb"}, {"mma"});
  b.node("Tanh", {"mma"}, {"y8"});
  b.node("Gemm", {"a", "m", "mb"}, {"g"});
  b.node("Relu", {"g"}, {"y9"});
  b.output("y8", onnx::TensorProto::FLOAT, {});
  b.output("y9", onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_act_every", {&passes::fuse_conv_activation_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 4, 6, 6}, 5, -3, 3)},
                           {"a", random_tensor(DataType::kFloat32, {3, 5}, 6)}});
  expect_same_outputs(r);
  EXPECT_EQ(r.rewrites, 11);
  EXPECT_EQ(r.optimized.nodes.size(), 10u);
  EXPECT_EQ(post_ops_of(r.optimized, "y0"), Strings{"eltwise:relu:0:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y1"), Strings{"eltwise:relu:0.200000003:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y2"), Strings{"eltwise:clip:0:6"});
  EXPECT_EQ(post_ops_of(r.optimized, "y3"), Strings{"eltwise:hardsigmoid:0.300000012:0.400000006"});
  EXPECT_EQ(post_ops_of(r.optimized, "y6"), Strings{"eltwise:hardswish:0:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y8"), (Strings{"binary:add:2", "eltwise:tanh:0:0"}));
  EXPECT_EQ(post_ops_of(r.optimized, "y9"), Strings{"eltwise:relu:0:0"});
}

// PaddleOCR's HardSwish spellings with PP-OCRv4's learnt affine after them,
// and Swish as the exporters write it.
TEST(FuseConvActivation, PaddleHardSwishAndSwish) {
  ModelBuilder b(10);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 7, 5});
  random_initializer(b, "w", {6, 4, 1, 1}, 1);
  random_initializer(b, "bias", {6}, 2);
  b.initializer("three", {}, {3.0f});
  b.initializer("six", {}, {6.0f});
  b.initializer("sixth", {}, {1.0f / 6.0f});
  b.initializer("one", {}, {1.0f});
  b.initializer("k", {1}, {0.18f});
  b.initializer("t", {1}, {-0.2f});
  random_initializer(b, "per_channel", {6, 1, 1}, 3, 0.5f, 2.0f);
  for (int i = 0; i < 6; ++i) b.node("Conv", {"x", "w", "bias"}, {"c" + std::to_string(i)});
  // x * Clip(x + 3, 0, 6) / 6, then * k + t
  b.node("Add", {"c0", "three"}, {"a0"});
  onnx::NodeProto* clip = b.node("Clip", {"a0"}, {"cl0"});
  set_float(clip, "min", 0), set_float(clip, "max", 6);
  b.node("Mul", {"c0", "cl0"}, {"m0"});
  b.node("Div", {"m0", "six"}, {"h0"});
  b.node("Mul", {"k", "h0"}, {"s0"});
  b.node("Add", {"s0", "t"}, {"y0"});
  // Clip(x + 3, 0, 6) * (1/6), then x * that
  b.node("Add", {"three", "c1"}, {"a1"});
  clip = b.node("Clip", {"a1"}, {"cl1"});
  set_float(clip, "min", 0), set_float(clip, "max", 6);
  b.node("Mul", {"cl1", "sixth"}, {"d1"});
  b.node("Mul", {"d1", "c1"}, {"y1"});
  // x * HardSigmoid(x) with HardSwish's constants
  set_float(b.node("HardSigmoid", {"c2"}, {"hs2"}), "alpha", 1.0f / 6.0f);
  b.node("Mul", {"c2", "hs2"}, {"y2"});
  // Swish: x * Sigmoid(x * 1) and Sigmoid(x) * x
  b.node("Mul", {"c3", "one"}, {"u3"});
  b.node("Sigmoid", {"u3"}, {"s3"});
  b.node("Mul", {"c3", "s3"}, {"y3"});
  b.node("Sigmoid", {"c4"}, {"s4"});
  b.node("Mul", {"s4", "c4"}, {"y4"});
  // Relu, a per-channel scale, then 0.5 - x
  b.node("Relu", {"c5"}, {"r5"});
  b.node("Mul", {"r5", "per_channel"}, {"p5"});
  b.initializer("half", {}, {0.5f});
  b.node("Sub", {"half", "p5"}, {"y5"});
  for (int i = 0; i < 6; ++i) b.output("y" + std::to_string(i), onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_act_paddle", {&passes::fuse_conv_activation_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 4, 7, 5}, 4, -4, 4)}});
  expect_same_outputs(r);
  EXPECT_EQ(r.optimized.nodes.size(), 6u);
  EXPECT_EQ(post_ops_of(r.optimized, "y0"),
            (Strings{"eltwise:hardswish:0:0", "eltwise:linear:0.180000007:0", "eltwise:linear:1:-0.200000003"}));
  EXPECT_EQ(post_ops_of(r.optimized, "y1"), Strings{"eltwise:hardswish:0:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y2"), Strings{"eltwise:hardswish:0:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y3"), Strings{"eltwise:swish:1:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y4"), Strings{"eltwise:swish:1:0"});
  EXPECT_EQ(post_ops_of(r.optimized, "y5"), (Strings{"eltwise:relu:0:0", "binary:mul:3", "eltwise:linear:-1:0.5"}));
}

TEST(FuseConvActivation, LeavesWhatItCannotFuse) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, 5, 5});
  b.input("lo", onnx::TensorProto::FLOAT, {});
  random_initializer(b, "w", {4, 3, 1, 1}, 1);
  for (int i = 0; i < 6; ++i) b.node("Conv", {"x", "w"}, {"c" + std::to_string(i)});
  b.node("Relu", {"c0"}, {"y0"});  // c0 is also a graph output
  b.output("c0", onnx::TensorProto::FLOAT, {});
  b.node("Relu", {"c1"}, {"y1a"});  // two readers
  b.node("Sigmoid", {"c1"}, {"y1b"});
  b.initializer("k", {}, {2.0f});
  b.node("Div", {"k", "c2"}, {"y2"});  // k / x
  b.node("Clip", {"c3", "lo"}, {"y3"});  // bound computed at run time
  set_float(b.node("HardSigmoid", {"c4"}, {"h4"}), "alpha", 0.2f);  // not HardSwish's constants
  b.node("Mul", {"c4", "h4"}, {"y4"});
  random_initializer(b, "spatial", {1, 1, 5, 5}, 2);
  b.node("Mul", {"c5", "spatial"}, {"y5"});  // not per channel
  for (const char* y : {"y0", "y1a", "y1b", "y2", "y3", "y4", "y5"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_act_leaves", {&passes::fuse_conv_activation_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 3, 5, 5}, 3)},
                           {"lo", random_tensor(DataType::kFloat32, {}, 4)}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.rewrites, 0);
}

TEST(FuseConvActivation, StopsWhereOneDnnCannotChain) {
  // Swish with alpha 1 then Swish with alpha 2: oneDNN 2.6 keeps one alpha
  // per algorithm in a chain, so the second stays a separate node.
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, 4, 4});
  random_initializer(b, "w", {5, 3, 3, 3}, 1);
  b.initializer("two", {}, {2.0f});
  set_ints(b.node("Conv", {"x", "w"}, {"c"}), "pads", {1, 1, 1, 1});
  b.node("Sigmoid", {"c"}, {"s"});
  b.node("Mul", {"c", "s"}, {"sw"});
  b.node("Mul", {"sw", "two"}, {"u"});
  b.node("Sigmoid", {"u"}, {"s2"});
  b.node("Mul", {"sw", "s2"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "fuse_act_chain", {&passes::fuse_conv_activation_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 3, 4, 4}, 2)}});
  expect_same_outputs(r);
  EXPECT_EQ(r.rewrites, 1);
  EXPECT_EQ(post_ops_of(r.optimized, "sw"), Strings{"eltwise:swish:1:0"});
}

}  // namespace
}  // namespace ecoinfer::testing
