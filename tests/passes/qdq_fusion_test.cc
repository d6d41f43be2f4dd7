// QDQ fusion (fuse_qdq_inputs + fuse_qdq_outputs, kernels/cpu/conv.cc int8):
// small QDQ models, as `ecoinfer quantize` and ONNX Runtime's quantizer
// write them, run fused (one int8 oneDNN primitive per Conv, activations
// int8 between them) and unfused (optimize=false: DequantizeLinear -> float
// Conv -> QuantizeLinear, the model's literal meaning). Outputs must agree
// to within a rounding step of the int8 activations, and the fused graph
// must have lost its QuantizeLinear/DequantizeLinear pairs.
#include <cmath>
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "qdq_test_util.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::count_op;
using testing::ModelBuilder;
using testing::add_quant_conv;
using testing::close_relative;
using testing::ConvSpec;
using testing::raw_initializer;
using testing::set_int;
using testing::set_ints;

// x -> Q -> DQ -> Conv1 -> act -> Q -> DQ -> Conv2 -> (+ residual from
// Conv1's dequantized output when shapes allow) -> y (float32).
std::filesystem::path build_model(const std::string& name, bool signed_activations, const std::string& activation,
                                  const ConvSpec& c1, const ConvSpec& c2, bool residual) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, c1.in_channels, 20, 24});
  const int32_t qtype = signed_activations ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  const float sx = 0.02f, sy = 0.015f;
  auto add_zero = [&](const std::string& n, int z) {
    if (signed_activations) raw_initializer(b, n, qtype, {}, std::vector<int8_t>{static_cast<int8_t>(z - 128)});
    else raw_initializer(b, n, qtype, {}, std::vector<uint8_t>{static_cast<uint8_t>(z)});
  };
  b.initializer("sx", {}, {sx});
  add_zero("zx", 128);
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xdq"});
  add_quant_conv(b, "c1", "xdq", sx, c1, "y1", 1);
  std::string act_out = "y1";
  if (activation == "Relu") {
    b.node("Relu", {"y1"}, {"a1"});
    act_out = "a1";
  } else if (activation == "BatchNormRelu" || activation == "BatchNormSwish") {
    // Some channels flip sign (negative scale), one is nearly constant.
    std::vector<float> scale, shift, mean, var;
    for (int64_t m = 0; m < c1.out_channels; ++m) {
      scale.push_back(m % 3 == 1 ? -0.7f : 1.3f + 0.1f * static_cast<float>(m));
      shift.push_back(0.25f * static_cast<float>(m % 4) - 0.3f);
      mean.push_back(0.05f * static_cast<float>(m % 5) - 0.1f);
      var.push_back(m == 0 ? 1e-4f : 0.5f + 0.2f * static_cast<float>(m % 3));
    }
    b.initializer("bn_scale", {c1.out_channels}, scale);
    b.initializer("bn_shift", {c1.out_channels}, shift);
    b.initializer("bn_mean", {c1.out_channels}, mean);
    b.initializer("bn_var", {c1.out_channels}, var);
    b.node("BatchNormalization", {"y1", "bn_scale", "bn_shift", "bn_mean", "bn_var"}, {"n1"});
    if (activation == "BatchNormSwish") {
      b.node("Sigmoid", {"n1"}, {"g1"});
      b.node("Mul", {"n1", "g1"}, {"a1"});
    } else {
      b.node("Relu", {"n1"}, {"a1"});
    }
    act_out = "a1";
  } else if (activation == "HardSwish") {
    b.node("HardSwish", {"y1"}, {"a1"});
    act_out = "a1";
  }
  b.initializer("sy", {}, {sy});
  add_zero("zy", activation == "Relu" || activation == "BatchNormRelu" ? 0 : 100);
  b.node("QuantizeLinear", {act_out, "sy", "zy"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "sy", "zy"}, {"ydq"});
  add_quant_conv(b, "c2", "ydq", sy, c2, residual ? "y2" : "y", 2);
  if (residual) b.node("Add", {"y2", "ydq"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("qdq_" + name) / "model.onnx";
  b.save(path);
  return path;
}

void check_fused_matches_unfused(const std::filesystem::path& path, int64_t channels, int dequantize_left = 0,
                                 int64_t batch = 1) {
  auto fused = Session::load(path, {.threads = 1});
  ASSERT_TRUE(fused) << fused.status().message();
  auto plain = Session::load(path, {.threads = 1, .optimize = false});
  ASSERT_TRUE(plain) << plain.status().message();
  // Only the graph input's QuantizeLinear is left, and a DequantizeLinear
  // only where a float op reads an int8 tensor (a residual Add reads it as
  // int8 too: fuse_qdq_residual).
  EXPECT_EQ(count_op(**fused, "QuantizeLinear"), 1);
  EXPECT_EQ(count_op(**fused, "DequantizeLinear"), dequantize_left);
  const Tensor x = testing::random_tensor(DataType::kFloat32, {batch, channels, 20, 24}, 11, -2.0f, 2.0f);
  auto a = (*fused)->run({{"x", x}});
  ASSERT_TRUE(a) << a.status().message();
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(b) << b.status().message();
  const Tensor& ya = (*a)[0].tensor;
  const Tensor& yb = (*b)[0].tensor;
  ASSERT_EQ(ya.shape(), yb.shape());
  // Rounding ties of the int8 intermediate may flip by one step; the rest
  // is float summation order.
  EXPECT_GE(quant::cosine_similarity(ya, yb), 0.9999);
  EXPECT_TRUE(close_relative(ya, yb, 0.02));
}

TEST(QdqFusion, UnsignedReluChainMatchesUnfused) {
  check_fused_matches_unfused(build_model("u8_relu", false, "Relu", {8, 16, 3, 1, 1}, {16, 16, 3, 1, 1}, false), 8);
}

TEST(QdqFusion, SignedHardSwishStridedGroupedMatchesUnfused) {
  check_fused_matches_unfused(build_model("s8_hswish", true, "HardSwish", {6, 12, 3, 2, 1}, {12, 12, 3, 1, 4}, false), 6);
}

TEST(QdqFusion, PointwiseWithResidualMatchesUnfused) {
  check_fused_matches_unfused(build_model("u8_residual", false, "None", {8, 16, 1, 1, 1}, {16, 16, 1, 1, 1}, true), 8);
}

// det's first convolution and its head, rec's neck: Conv -> BatchNormalization
// (-> Relu or Swish) with the Conv quantized; the BN folds into the int8
// primitive (scales and a per-channel add), so no float32 op is left
// between the two int8 convolutions.
void check_batchnorm_folds(const std::string& name, const std::string& activation, const ConvSpec& c1) {
  const auto model = build_model(name, false, activation, c1, {16, 16, 3, 1, 1}, false);
  check_fused_matches_unfused(model, c1.in_channels);
  auto s = Session::load(model, {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(count_op(**s, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(**s, "Relu") + count_op(**s, "Sigmoid") + count_op(**s, "Mul"), 0);
}

TEST(QdqFusion, BatchNormReluAfterStridedStemFoldsAndMatchesUnfused) {
  check_batchnorm_folds("u8_bn_relu", "BatchNormRelu", {3, 16, 3, 2, 1});
}

TEST(QdqFusion, BatchNormSwishFoldsAndMatchesUnfused) {
  check_batchnorm_folds("u8_bn_swish", "BatchNormSwish", {8, 16, 3, 1, 1});
}

TEST(QdqFusion, BatchNormFoldedOnABatchMatchesUnfused) {
  check_fused_matches_unfused(build_model("u8_bn_batch", false, "BatchNormRelu", {8, 16, 3, 1, 1}, {16, 16, 3, 1, 1}, false),
                              8, 0, 2);
}

// A depthwise int8 Conv whose input has a zero point runs on a copy padded
// with that zero point (kernels/cpu/zero_point_padding.h), on oneDNN's
// brdgmm kernel; same outputs as the unfused graph, uint8 and int8, 3x3
// stride 1 and 5x5 stride 2.
TEST(QdqFusion, DepthwiseWithZeroPointRunsPaddedAndMatchesUnfused) {
  check_fused_matches_unfused(build_model("u8_dw", false, "HardSwish", {8, 16, 1, 1, 1}, {16, 16, 3, 1, 16}, false), 8);
  check_fused_matches_unfused(build_model("s8_dw", true, "HardSwish", {8, 16, 1, 1, 1}, {16, 16, 5, 2, 16}, false), 8);
  // Three images: the padded copy holds the whole batch.
  check_fused_matches_unfused(build_model("u8_dw_batch", false, "HardSwish", {8, 16, 1, 1, 1}, {16, 16, 3, 1, 16}, false),
                              8, 0, 3);
  bool brdgmm = false;
  for (const auto& u : onednn_implementations_used()) brdgmm |= u.implementation.find("brdgmm") != std::string::npos;
  EXPECT_TRUE(brdgmm) << "the depthwise int8 convolutions should run on oneDNN's brdgmm kernel";
}

// An int8 Conv with many output channels writing a plain float32 tensor
// (here the graph output): its channels-last result is transposed by
// kernels/cpu/layout_transpose.h instead of oneDNN's reorder.
TEST(QdqFusion, WidePlainFloatOutputMatchesUnfused) {
  check_fused_matches_unfused(build_model("u8_wide", false, "Relu", {8, 16, 3, 1, 1}, {16, 96, 1, 1, 1}, false), 8);
}

// The same QDQ file in ONNX Runtime 1.30 (tests/ort_run.js).
TEST(QdqFusion, FusedMatchesOnnxRuntime) {
  const auto model = build_model("ort", false, "Relu", {8, 16, 3, 1, 1}, {16, 16, 3, 1, 2}, true);
  const auto dir = model.parent_path();
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 8, 20, 24}, 5, -2.0f, 2.0f);
  ASSERT_TRUE(write_npy(dir / "x.npy", x).is_ok());
  const std::string cmd = "node " + (testing::source_dir() / "tests/ort_run.js").string() + " " + model.string() +
                          " " + (dir / "ort").string() + " x=" + (dir / "x.npy").string() + " > " +
                          (dir / "ort.log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (see " << (dir / "ort.log") << ")";
  auto expected = read_npy(dir / "ort" / "y.npy");
  ASSERT_TRUE(expected) << expected.status().message();
  auto s = Session::load(model, {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  auto y = (*s)->run({{"x", x}});
  ASSERT_TRUE(y) << y.status().message();
  ASSERT_EQ((*y)[0].tensor.shape(), expected->shape());
  EXPECT_GE(quant::cosine_similarity((*y)[0].tensor, *expected), 0.9999);
  EXPECT_TRUE(close_relative((*y)[0].tensor, *expected, 0.02));
}

TEST(QdqFusion, Int8PrimitivesAreCreated) {
  auto s = Session::load(build_model("impl", false, "Relu", {8, 16, 3, 1, 1}, {16, 16, 3, 1, 1}, false), {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  ASSERT_TRUE((*s)->run({{"x", testing::random_tensor(DataType::kFloat32, {1, 8, 20, 24}, 3)}}));
  bool fast = false;
  for (const auto& u : onednn_implementations_used()) {
    if (u.kind == "convolution") fast |= u.implementation.find("ref") == std::string::npos;
  }
  EXPECT_TRUE(fast) << "the int8 convolutions should not use oneDNN's reference kernel";
}

}  // namespace
}  // namespace ecoinfer
