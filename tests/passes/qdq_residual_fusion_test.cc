// fuse_qdq_residual: a quantized bottleneck block's tail (int8 Conv ->
// BatchNormalization -> Add(shortcut) -> Relu -> QuantizeLinear) runs as one
// int8 oneDNN convolution adding the shortcut's uint8/int8 values as a
// post-op, and writing uint8/int8.
//
// Two layouts of the shortcut:
//  - read through DequantizeLinear (ONNX Runtime's quantizer): the fusion is
//    exact, so fused and unfused (optimize=false, the graph's literal
//    meaning) agree to within a rounding tie of the int8 intermediates;
//  - read as float32 beside its QuantizeLinear (`ecoinfer quantize`): the
//    fused graph reads DQ(Q(shortcut)) instead, so it must agree, as
//    tightly, with the unfused graph of the first layout.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "qdq_test_util.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::add_quant_conv;
using testing::close_relative;
using testing::count_op;
using testing::ModelBuilder;
using testing::raw_initializer;

constexpr int64_t kChannels = 16;

struct Block {
  bool signed_activations = false;
  bool float_shortcut = false;  // Add reads y, not DQ(Q(y))
};

// x -> Q/DQ -> stem Conv -> Relu -> y; y -> Q/DQ -> c1 -> Relu -> Q/DQ ->
// c3 -> BN -> Add(shortcut of y) -> Relu -> Q/DQ -> c4 -> out.
std::filesystem::path build_block(const std::string& name, const Block& block) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 8, 12, 14});
  const int32_t qtype = block.signed_activations ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  // Zero points: uint8 after a Relu is 0 as the quantizers write it; int8
  // gets one off 0, so the fused chain subtracts it.
  auto quantize = [&](const std::string& v, float scale, int zero) {
    b.initializer(v + "_s", {}, {scale});
    if (block.signed_activations) {
      raw_initializer(b, v + "_z", qtype, {}, std::vector<int8_t>{static_cast<int8_t>(zero)});
    } else {
      raw_initializer(b, v + "_z", qtype, {}, std::vector<uint8_t>{static_cast<uint8_t>(zero)});
    }
    b.node("QuantizeLinear", {v, v + "_s", v + "_z"}, {v + "_q"});
    b.node("DequantizeLinear", {v + "_q", v + "_s", v + "_z"}, {v + "_dq"});
    return v + "_dq";
  };
  const int z = block.signed_activations ? -100 : 0;
  add_quant_conv(b, "stem", quantize("x", 0.02f, block.signed_activations ? 0 : 128), 0.02f, {8, kChannels, 3, 1, 1},
                 "stem_out", 1);
  b.node("Relu", {"stem_out"}, {"y"});
  const std::string y_dq = quantize("y", 0.05f, z);
  add_quant_conv(b, "c1", y_dq, 0.05f, {kChannels, 8, 1, 1, 1}, "c1_out", 2);
  b.node("Relu", {"c1_out"}, {"a1"});
  add_quant_conv(b, "c3", quantize("a1", 0.04f, z), 0.04f, {8, kChannels, 3, 1, 1}, "c3_out", 3);
  std::vector<float> scale, shift, mean, var;
  for (int64_t m = 0; m < kChannels; ++m) {
    scale.push_back(m % 3 == 1 ? -0.7f : 1.1f + 0.05f * static_cast<float>(m));
    shift.push_back(0.2f * static_cast<float>(m % 4) - 0.3f);
    mean.push_back(0.05f * static_cast<float>(m % 5) - 0.1f);
    var.push_back(0.5f + 0.2f * static_cast<float>(m % 3));
  }
  b.initializer("bn_scale", {kChannels}, scale);
  b.initializer("bn_shift", {kChannels}, shift);
  b.initializer("bn_mean", {kChannels}, mean);
  b.initializer("bn_var", {kChannels}, var);
  b.node("BatchNormalization", {"c3_out", "bn_scale", "bn_shift", "bn_mean", "bn_var"}, {"bn"});
  b.node("Add", {"bn", block.float_shortcut ? "y" : y_dq}, {"sum"});
  b.node("Relu", {"sum"}, {"z"});
  add_quant_conv(b, "c4", quantize("z", 0.06f, z), 0.06f, {kChannels, kChannels, 1, 1, 1}, "out", 4);
  b.output("out", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("qdq_residual_" + name) / "model.onnx";
  b.save(path);
  return path;
}

Tensor run(const std::filesystem::path& model, bool optimize, const Tensor& x) {
  auto s = Session::load(model, {.threads = 1, .optimize = optimize});
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  auto y = (*s)->run({{"x", x}});
  EXPECT_TRUE(y) << y.status().message();
  return y ? (*y)[0].tensor : Tensor{};
}

void check(const std::string& name, bool signed_activations, int64_t batch) {
  const auto exact = build_block(name + "_dq", {signed_activations, false});
  const auto written = build_block(name + "_float", {signed_activations, true});
  const Tensor x = testing::random_tensor(DataType::kFloat32, {batch, 8, 12, 14}, 7, -2.0f, 2.0f);
  const Tensor reference = run(exact, false, x);
  for (const auto& model : {exact, written}) {
    auto s = Session::load(model, {.threads = 1});
    ASSERT_TRUE(s) << s.status().message();
    // One int8 primitive per Conv: the graph input's QuantizeLinear is all
    // that is left besides them.
    EXPECT_EQ(count_op(**s, "Add"), 0) << model;
    EXPECT_EQ(count_op(**s, "Relu"), 0) << model;
    EXPECT_EQ(count_op(**s, "QuantizeLinear"), 1) << model;
    EXPECT_EQ(count_op(**s, "DequantizeLinear"), 0) << model;
    const Tensor fused = run(model, true, x);
    ASSERT_EQ(fused.shape(), reference.shape());
    // A rounding tie of an int8 intermediate may flip by one step; the rest
    // is float summation order.
    EXPECT_GE(quant::cosine_similarity(fused, reference), 0.9999) << model;
    EXPECT_TRUE(close_relative(fused, reference, 0.02)) << model;
  }
  // The float32 shortcut unfused is the model's literal meaning: reading it
  // quantized moves the output by about a quantization step of y.
  const double literal = quant::cosine_similarity(run(written, true, x), run(written, false, x));
  EXPECT_GE(literal, 0.999);
}

TEST(QdqResidualFusion, UnsignedBlockMatchesUnfused) { check("u8", false, 1); }
TEST(QdqResidualFusion, SignedBlockWithZeroPointMatchesUnfused) { check("s8", true, 1); }
TEST(QdqResidualFusion, BatchOfThreeMatchesUnfused) { check("u8_batch", false, 3); }

// A residual with no quantized copy (no QuantizeLinear reads it) stays a
// float32 binary post-op: same outputs as unfused.
TEST(QdqResidualFusion, ResidualWithoutQuantizedCopyStaysFloat) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 8, 6, 6});
  b.initializer("s", {}, {0.02f});
  raw_initializer(b, "z", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{128});
  b.node("QuantizeLinear", {"x", "s", "z"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "s", "z"}, {"xdq"});
  add_quant_conv(b, "c", "xdq", 0.02f, {8, 8, 1, 1, 1}, "c_out", 5);
  add_quant_conv(b, "d", "xdq", 0.02f, {8, 8, 1, 1, 1}, "d_out", 6);
  b.node("Sigmoid", {"d_out"}, {"t"});
  b.node("Add", {"c_out", "t"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {1, 8, 6, 6});
  const auto path = testing::temp_dir("qdq_residual_float") / "model.onnx";
  b.save(path);
  auto s = Session::load(path, {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(count_op(**s, "Add"), 0);
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 8, 6, 6}, 9, -2.0f, 2.0f);
  const Tensor fused = run(path, true, x), plain = run(path, false, x);
  ASSERT_EQ(fused.shape(), plain.shape());
  EXPECT_TRUE(testing::tensors_close(fused, plain, 1e-4, 1e-4));
}

}  // namespace
}  // namespace ecoinfer
