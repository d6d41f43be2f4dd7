// expand_qlinear (src/passes/expand_qlinear.cc): QOperator nodes
// (QLinearConv, QLinearMatMul) rewritten into DQ -> op -> Q and then fused
// into int8 oneDNN primitives must give the reference kernels' result
// (optimize=false runs the QLinear node as written, on
// src/kernels/ref/quant_conv.cc and quant_matmul.cc).
//
// Not bit-exact: ONNX defines the output as round(acc * s_x * s_w / s_y)
// and the reference kernel computes that product in one order, oneDNN in
// another (scales folded differently, float32), so an accumulator whose
// rescaled value lies on (or within float32 rounding of) a .5 tie may round
// the other way. So: every output within one quantization step of the
// reference, and almost all of them (>= 99%) equal.
//
// What the fusions cannot take (uint8 weights with a zero point) must stay
// a QLinear node, with the reference kernel's result bit for bit.
#include <cmath>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::count_op;
using testing::ModelBuilder;
using testing::raw_initializer;
using testing::set_int;
using testing::set_ints;

constexpr float kXScale = 0.02f, kYScale = 0.05f;

// x (float) -> QuantizeLinear(kXScale, zero) -> [the QLinear node writing
// "yq"] -> DequantizeLinear(kYScale) -> y, so both sessions read and write
// float32. `signed_act`: int8 activations (zero points -3 / 5) instead of
// uint8 (128 / 100).
void add_quantized_io(ModelBuilder& b, const std::string& x, bool signed_act) {
  const int32_t type = signed_act ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  b.initializer("sx", {}, {kXScale});
  b.initializer("sy", {}, {kYScale});
  if (signed_act) {
    raw_initializer(b, "zx", type, {}, std::vector<int8_t>{-3});
    raw_initializer(b, "zy", type, {}, std::vector<int8_t>{5});
  } else {
    raw_initializer(b, "zx", type, {}, std::vector<uint8_t>{128});
    raw_initializer(b, "zy", type, {}, std::vector<uint8_t>{100});
  }
  b.node("QuantizeLinear", {x, "sx", "zx"}, {x + "q"});
  b.node("DequantizeLinear", {"yq", "sy", "zy"}, {"y"});
}

template <class T>
std::vector<T> random_ints(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(n);
  for (T& e : v) e = static_cast<T>(d(rng));
  return v;
}

struct ConvCase {
  int64_t channels_in, channels_out, kernel, stride, group;
  bool signed_act, per_channel, bias;
  bool uint8_weights = false;  // with zero point 3: not fusable
};

std::filesystem::path conv_model(const std::string& name, const ConvCase& c) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, c.channels_in, 14, 18});
  add_quantized_io(b, "x", c.signed_act);
  const std::vector<int64_t> w_dims = {c.channels_out, c.channels_in / c.group, c.kernel, c.kernel};
  const size_t w_count = static_cast<size_t>(w_dims[0] * w_dims[1] * w_dims[2] * w_dims[3]);
  const int64_t scales = c.per_channel ? c.channels_out : 1;
  std::vector<float> ws;
  for (int64_t m = 0; m < scales; ++m) ws.push_back(0.003f + 0.001f * static_cast<float>(m % 4));
  const std::vector<int64_t> s_dims = c.per_channel ? std::vector<int64_t>{c.channels_out} : std::vector<int64_t>{};
  b.initializer("ws", s_dims, ws);
  if (c.uint8_weights) {
    raw_initializer(b, "w", onnx::TensorProto::UINT8, w_dims, random_ints<uint8_t>(w_count, 0, 255, 1));
    raw_initializer(b, "wz", onnx::TensorProto::UINT8, s_dims, std::vector<uint8_t>(static_cast<size_t>(scales), 3));
  } else {
    raw_initializer(b, "w", onnx::TensorProto::INT8, w_dims, random_ints<int8_t>(w_count, -127, 127, 1));
    raw_initializer(b, "wz", onnx::TensorProto::INT8, s_dims, std::vector<int8_t>(static_cast<size_t>(scales), 0));
  }
  std::vector<std::string> inputs = {"xq", "sx", "zx", "w", "ws", "wz", "sy", "zy"};
  if (c.bias) {
    raw_initializer(b, "B", onnx::TensorProto::INT32, {c.channels_out},
                    random_ints<int32_t>(static_cast<size_t>(c.channels_out), -3000, 3000, 2));
    inputs.push_back("B");
  }
  onnx::NodeProto* conv = b.node("QLinearConv", inputs, {"yq"});
  const int64_t pad = c.kernel / 2;
  set_ints(conv, "pads", {pad, pad, pad, pad});
  set_ints(conv, "strides", {c.stride, c.stride});
  set_int(conv, "group", c.group);
  b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("expand_qlinear_" + name) / "model.onnx";
  b.save(path);
  return path;
}

struct Outputs {
  Tensor expanded, reference;
  int qlinear_left = 0, dequantize_left = 0;
};

Outputs run_both(const std::filesystem::path& path, const std::string& op, const std::vector<NamedTensor>& inputs) {
  Outputs o;
  auto fast = Session::load(path, {.threads = 1});
  auto plain = Session::load(path, {.threads = 1, .optimize = false});
  EXPECT_TRUE(fast && plain) << (fast ? plain.status().message() : fast.status().message());
  if (!fast || !plain) return o;
  o.qlinear_left = count_op(**fast, op);
  o.dequantize_left = count_op(**fast, "DequantizeLinear");
  auto a = (*fast)->run(inputs);
  auto b = (*plain)->run(inputs);
  EXPECT_TRUE(a && b) << (a ? b.status().message() : a.status().message());
  if (!a || !b) return o;
  o.expanded = (*a)[0].tensor;
  o.reference = (*b)[0].tensor;
  return o;
}

// Every output within one step of kYScale, and >= 99% of them equal.
void expect_within_one_step(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  int64_t differ = 0;
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double steps = std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]) / kYScale;
    worst = std::max(worst, steps);
    differ += steps > 1e-3 ? 1 : 0;
  }
  std::printf("%lld of %lld outputs one step from the reference kernel's\n", static_cast<long long>(differ),
              static_cast<long long>(a.numel()));
  EXPECT_LE(worst, 1.0 + 1e-3) << "outputs differ by up to " << worst << " quantization steps";
  EXPECT_LE(differ, a.numel() / 100) << differ << " of " << a.numel() << " outputs differ by one step";
}

void check_conv(const std::string& name, const ConvCase& c) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, c.channels_in, 14, 18}, 7, -2.5f, 2.5f);
  const Outputs o = run_both(conv_model(name, c), "QLinearConv", {{"x", x}});
  // Fused: one int8 Conv reading and writing the uint8/int8 tensors; the
  // only DequantizeLinear left is the graph's own, on the output.
  EXPECT_EQ(o.qlinear_left, 0);
  EXPECT_EQ(o.dequantize_left, 1);
  expect_within_one_step(o.expanded, o.reference);
}

TEST(ExpandQLinear, ConvUnsignedPerChannelWithBias) { check_conv("u8_pc", {8, 16, 3, 1, 1, false, true, true}); }
TEST(ExpandQLinear, ConvSignedPerTensorNoBias) { check_conv("s8_pt", {8, 12, 1, 1, 1, true, false, false}); }
TEST(ExpandQLinear, ConvDepthwiseStrided) { check_conv("dw", {16, 16, 3, 2, 16, false, true, true}); }

TEST(ExpandQLinear, ConvWithUint8WeightsStaysOnTheReferenceKernel) {
  const ConvCase c{8, 8, 3, 1, 1, false, false, true, true};
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 8, 14, 18}, 7, -2.5f, 2.5f);
  const Outputs o = run_both(conv_model("u8_weights", c), "QLinearConv", {{"x", x}});
  EXPECT_EQ(o.qlinear_left, 1);
  EXPECT_TRUE(testing::tensors_close(o.expanded, o.reference, 0, 0));
}

// a [2, 5, 16] (uint8) x b: constant int8 [16, 8] per column, or a second
// quantized activation [2, 16, 8] (attention's form).
std::filesystem::path matmul_model(const std::string& name, bool constant_b) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5, 16});
  add_quantized_io(b, "x", false);
  if (constant_b) {
    std::vector<float> bs;
    for (int n = 0; n < 8; ++n) bs.push_back(0.004f + 0.001f * static_cast<float>(n % 3));
    b.initializer("bs", {8}, bs);
    raw_initializer(b, "b", onnx::TensorProto::INT8, {16, 8}, random_ints<int8_t>(16 * 8, -127, 127, 3));
    raw_initializer(b, "bz", onnx::TensorProto::INT8, {8}, std::vector<int8_t>(8, 0));
    b.node("QLinearMatMul", {"xq", "sx", "zx", "b", "bs", "bz", "sy", "zy"}, {"yq"});
  } else {
    b.input("v", onnx::TensorProto::FLOAT, {2, 16, 8});
    b.initializer("bs", {}, {0.03f});
    raw_initializer(b, "bz", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{120});
    b.node("QuantizeLinear", {"v", "bs", "bz"}, {"vq"});
    b.node("QLinearMatMul", {"xq", "sx", "zx", "vq", "bs", "bz", "sy", "zy"}, {"yq"});
  }
  b.output("y", onnx::TensorProto::FLOAT, {2, 5, 8});
  const auto path = testing::temp_dir("expand_qlinear_" + name) / "model.onnx";
  b.save(path);
  return path;
}

TEST(ExpandQLinear, MatMulConstantPerColumnWeights) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 5, 16}, 5, -2.5f, 2.5f);
  const Outputs o = run_both(matmul_model("mm_const", true), "QLinearMatMul", {{"x", x}});
  EXPECT_EQ(o.qlinear_left, 0);
  EXPECT_EQ(o.dequantize_left, 1);
  expect_within_one_step(o.expanded, o.reference);
}

TEST(ExpandQLinear, MatMulActivationByActivation) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 5, 16}, 5, -2.5f, 2.5f);
  const Tensor v = testing::random_tensor(DataType::kFloat32, {2, 16, 8}, 6, -3.0f, 3.0f);
  const Outputs o = run_both(matmul_model("mm_act", false), "QLinearMatMul", {{"x", x}, {"v", v}});
  EXPECT_EQ(o.qlinear_left, 0);
  EXPECT_EQ(o.dequantize_left, 1);
  expect_within_one_step(o.expanded, o.reference);
}

}  // namespace
}  // namespace ecoinfer
