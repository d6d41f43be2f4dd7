// Quantized kernels beyond the ONNX node tests: rounding ties and
// saturation, per-axis scales on every axis, DynamicQuantizeLinear's
// all-zero corner, bad scales as errors, and the integer products
// (MatMulInteger with per-column zero points and batch broadcasting,
// ConvInteger with groups, strides, pads and dilations) against the float
// kernels on the same integer values, which are exact in float32.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "kernels/ref/quantize_math.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::ModelBuilder;

struct Attr {
  std::string name;
  std::vector<int64_t> ints;  // one value: an int attribute
  bool list = false;
};

// Runs one node whose inputs are the given tensors (fed as graph inputs).
Expected<std::vector<NamedTensor>> run_op(const std::string& op, int64_t opset, const std::vector<Tensor>& inputs,
                                          size_t outputs, const std::vector<Attr>& attrs = {}) {
  ModelBuilder b(opset);
  std::vector<std::string> in_names, out_names;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      in_names.push_back("");
      continue;
    }
    in_names.push_back("in" + std::to_string(i));
    b.input(in_names.back(), static_cast<int32_t>(inputs[i].dtype()), inputs[i].shape());
  }
  for (size_t i = 0; i < outputs; ++i) out_names.push_back("out" + std::to_string(i));
  onnx::NodeProto* n = b.node(op, in_names, out_names);
  for (const Attr& a : attrs) {
    auto* p = n->add_attribute();
    p->set_name(a.name);
    if (a.list) {
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) p->add_ints(v);
    } else {
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(a.ints[0]);
    }
  }
  for (const auto& o : out_names) b.output(o, 0, {});
  b.proto().mutable_graph()->mutable_output()->Clear();
  for (const auto& o : out_names) b.proto().mutable_graph()->add_output()->set_name(o);
  const auto path = testing::temp_dir("quant_" + op) / "model.onnx";
  b.save(path);
  ECOINFER_ASSIGN_OR_RETURN(auto session, Session::load(path, {.threads = 2}));
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) named.push_back({in_names[i], inputs[i]});
  return session->run(named);
}

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(std::move(s), v); }

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
  const Tensor x = f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 300.0f, -300.0f});
  auto u8 = run_op("QuantizeLinear", 13, {x, f32({}, {1.0f}), Tensor::scalar<uint8_t>(0)}, 1);
  ASSERT_TRUE(u8) << u8.status().message();
  EXPECT_TRUE(testing::tensors_close((*u8)[0].tensor,
                                     Tensor::from_vector<uint8_t>({8}, {0, 2, 2, 0, 0, 0, 255, 0})));
  auto s8 = run_op("QuantizeLinear", 13, {x, f32({}, {1.0f}), Tensor::scalar<int8_t>(0)}, 1);
  ASSERT_TRUE(s8) << s8.status().message();
  EXPECT_TRUE(testing::tensors_close((*s8)[0].tensor,
                                     Tensor::from_vector<int8_t>({8}, {0, 2, 2, 0, -2, -2, 127, -128})));
  // No zero point: uint8 with zero point 0.
  auto plain = run_op("QuantizeLinear", 10, {x, f32({}, {2.0f})}, 1);
  ASSERT_TRUE(plain) << plain.status().message();
  EXPECT_EQ((*plain)[0].tensor.dtype(), DataType::kUInt8);
  EXPECT_TRUE(testing::tensors_close((*plain)[0].tensor,
                                     Tensor::from_vector<uint8_t>({8}, {0, 1, 1, 0, 0, 0, 150, 0})));
}

// Every axis of a 3-D tensor, quantize then dequantize, against a loop.
TEST(QuantizeLinear, PerAxisOnEveryAxisRoundTrips) {
  const Shape shape = {3, 4, 5};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 7, -3.0f, 3.0f);
  for (int64_t axis : {0, 1, 2, -1}) {
    const int64_t a = axis < 0 ? axis + 3 : axis;
    const int64_t c = shape[static_cast<size_t>(a)];
    std::vector<float> scales;
    std::vector<int8_t> zeros;
    for (int64_t i = 0; i < c; ++i) {
      scales.push_back(0.01f * static_cast<float>(i + 1));
      zeros.push_back(static_cast<int8_t>(i * 3 - 5));
    }
    const Tensor s = f32({c}, scales), z = Tensor::from_vector<int8_t>({c}, zeros);
    auto q = run_op("QuantizeLinear", 13, {x, s, z}, 1, {{"axis", {axis}}});
    ASSERT_TRUE(q) << q.status().message();
    const Tensor& qt = (*q)[0].tensor;
    auto dq = run_op("DequantizeLinear", 13, {qt, s, z}, 1, {{"axis", {axis}}});
    ASSERT_TRUE(dq) << dq.status().message();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t idx[3] = {i / 20, (i / 5) % 4, i % 5};
      const int64_t ch = idx[a];
      const int8_t want = kernels::quantize_value<int8_t>(x.data<float>()[i], scales[ch], zeros[ch]);
      ASSERT_EQ(qt.data<int8_t>()[i], want) << "axis " << axis << " element " << i;
      ASSERT_FLOAT_EQ((*dq)[0].tensor.data<float>()[i], static_cast<float>(want - zeros[ch]) * scales[ch]);
    }
  }
}

TEST(QuantizeLinear, BadScaleIsAnErrorNotACrash) {
  const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto wrong_len = run_op("QuantizeLinear", 13, {x, f32({2}, {1, 1}), Tensor::from_vector<uint8_t>({2}, {0, 0})}, 1);
  ASSERT_FALSE(wrong_len);
  EXPECT_NE(wrong_len.status().message().find("per-axis scale"), std::string::npos) << wrong_len.status().message();
  auto zp_mismatch = run_op("DequantizeLinear", 13, {Tensor::from_vector<uint8_t>({2}, {1, 2}), f32({}, {1.0f}),
                                                     Tensor::scalar<int8_t>(0)}, 1);
  ASSERT_FALSE(zp_mismatch);
}

TEST(DynamicQuantizeLinear, AllZerosAndRandom) {
  auto zeros = run_op("DynamicQuantizeLinear", 11, {f32({4}, {0, 0, 0, 0})}, 3);
  ASSERT_TRUE(zeros) << zeros.status().message();
  EXPECT_EQ((*zeros)[1].tensor.data<float>()[0], 0.0f);
  EXPECT_EQ((*zeros)[2].tensor.data<uint8_t>()[0], 0);
  const Tensor x = testing::random_tensor(DataType::kFloat32, {64}, 3, -2.0f, 5.0f);
  auto r = run_op("DynamicQuantizeLinear", 11, {x}, 3);
  ASSERT_TRUE(r) << r.status().message();
  const float scale = (*r)[1].tensor.data<float>()[0];
  const int zero = (*r)[2].tensor.data<uint8_t>()[0];
  EXPECT_GT(scale, 0.0f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float back = static_cast<float>((*r)[0].tensor.data<uint8_t>()[i] - zero) * scale;
    EXPECT_NEAR(back, x.data<float>()[i], scale * 0.5f + 1e-6f);
  }
}

// Large enough for the vectorized loops and the per-tensor run cut into
// pieces (several threads): every element equals the scalar formula, the
// range is the exact min/max, ties and saturation included.
TEST(DynamicQuantizeLinear, LargeTensorMatchesTheScalarFormula) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {3, 40001}, 11, -4.0f, 7.0f);
  x.data<float>()[12345] = -9.5f;  // the minimum, far into the tensor
  x.data<float>()[77777] = 11.0f;  // the maximum
  auto r = run_op("DynamicQuantizeLinear", 11, {x}, 3);
  ASSERT_TRUE(r) << r.status().message();
  const float scale = (*r)[1].tensor.data<float>()[0];
  const uint8_t zero = (*r)[2].tensor.data<uint8_t>()[0];
  EXPECT_FLOAT_EQ(scale, (11.0f + 9.5f) / 255.0f);
  EXPECT_EQ(zero, kernels::saturate_round<uint8_t>(9.5f / scale));
  for (int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_EQ((*r)[0].tensor.data<uint8_t>()[i], kernels::quantize_value<uint8_t>(x.data<float>()[i], scale, zero))
        << "element " << i;
  }
  // QuantizeLinear's per-tensor path on the same tensor, with ties and
  // values beyond int8's range.
  x.data<float>()[5] = 2.5f;
  x.data<float>()[100000] = -3.5f;
  auto q = run_op("QuantizeLinear", 13, {x, f32({}, {0.05f}), Tensor::scalar<int8_t>(-3)}, 1);
  ASSERT_TRUE(q) << q.status().message();
  for (int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_EQ((*q)[0].tensor.data<int8_t>()[i], kernels::quantize_value<int8_t>(x.data<float>()[i], 0.05f, -3))
        << "element " << i;
  }
}

// The vectorized QuantizeLinear divides by multiplying with 1/scale and
// correcting by FMA: every element must still equal x / scale rounded (ties
// to even) for scales whose reciprocal is inexact, with exact ties, values
// past the range, infinities and NaN (to the lowest value).
TEST(QuantizeLinear, VectorizedDivisionMatchesScalarForManyScales) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {4099}, 17, -300.0f, 300.0f);
  float* xs = x.data<float>();
  xs[1] = INFINITY;
  xs[2] = -INFINITY;
  xs[3] = NAN;
  xs[4] = 3e38f;
  for (int k = 0; k < 64; ++k) {
    const float scale = 0.0003f * static_cast<float>(1 + 7 * k) + (k % 3 == 0 ? 0.1f : 0.0f);
    for (int i = 5; i < 60; ++i) xs[i] = (static_cast<float>(i - 30) + 0.5f) * scale;  // ties, when exact
    auto u8 = run_op("QuantizeLinear", 13, {x, f32({}, {scale}), Tensor::scalar<uint8_t>(128)}, 1);
    auto s8 = run_op("QuantizeLinear", 13, {x, f32({}, {scale}), Tensor::scalar<int8_t>(-5)}, 1);
    ASSERT_TRUE(u8 && s8);
    for (int64_t i = 0; i < x.numel(); ++i) {
      ASSERT_EQ((*u8)[0].tensor.data<uint8_t>()[i], kernels::quantize_value<uint8_t>(xs[i], scale, 128))
          << "scale " << scale << " element " << i << " x " << xs[i];
      ASSERT_EQ((*s8)[0].tensor.data<int8_t>()[i], kernels::quantize_value<int8_t>(xs[i], scale, -5))
          << "scale " << scale << " element " << i << " x " << xs[i];
    }
  }
}

// Random integers in [lo, hi].
template <class T>
Tensor random_ints(const Shape& shape, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> q(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : q) v = static_cast<T>(d(rng));
  return Tensor::from_vector<T>(shape, q);
}

// (q - zero) as float: exact in float32 for the sums these tests make.
Tensor minus_zero_as_float(const Tensor& q, const std::vector<int32_t>& zeros, int64_t channel_stride, int64_t channels) {
  Tensor f = Tensor::zeros(DataType::kFloat32, q.shape());
  for (int64_t i = 0; i < q.numel(); ++i) {
    const int32_t v = q.dtype() == DataType::kUInt8 ? q.data<uint8_t>()[i] : q.data<int8_t>()[i];
    const int32_t z = zeros.size() == 1 ? zeros[0] : zeros[static_cast<size_t>((i / channel_stride) % channels)];
    f.data<float>()[i] = static_cast<float>(v - z);
  }
  return f;
}

TEST(MatMulInteger, BatchBroadcastAndPerColumnZeroPointMatchFloat) {
  const Tensor a = random_ints<uint8_t>({2, 1, 5, 7}, 1, 0, 255);
  const Tensor b = random_ints<int8_t>({3, 7, 6}, 2, -128, 127);
  const std::vector<int8_t> bz = {1, -2, 3, 0, 5, -6};
  auto y = run_op("MatMulInteger", 10, {a, b, Tensor::scalar<uint8_t>(128), Tensor::from_vector<int8_t>({6}, bz)}, 1);
  ASSERT_TRUE(y) << y.status().message();
  const Tensor af = minus_zero_as_float(a, {128}, 1, 1);
  const Tensor bf = minus_zero_as_float(b, {1, -2, 3, 0, 5, -6}, 1, 6);
  auto want = run_op("MatMul", 13, {af, bf}, 1);
  ASSERT_TRUE(want) << want.status().message();
  const Tensor& got = (*y)[0].tensor;
  ASSERT_EQ(got.shape(), (Shape{2, 3, 5, 6}));
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_EQ(static_cast<float>(got.data<int32_t>()[i]), (*want)[0].tensor.data<float>()[i]);
}

TEST(ConvInteger, GroupsStridesPadsDilationsMatchFloatConv) {
  const Tensor x = random_ints<uint8_t>({2, 4, 9, 11}, 3, 0, 255);
  const Tensor w = random_ints<int8_t>({6, 2, 3, 3}, 4, -128, 127);
  const std::vector<Attr> attrs = {{"group", {2}}, {"strides", {2, 1}, true}, {"pads", {1, 2, 0, 1}, true},
                                   {"dilations", {1, 2}, true}};
  auto y = run_op("ConvInteger", 10, {x, w, Tensor::scalar<uint8_t>(100)}, 1, attrs);
  ASSERT_TRUE(y) << y.status().message();
  // Float conv pads with 0, ConvInteger with the zero point: equal after subtracting it.
  auto want = run_op("Conv", 11, {minus_zero_as_float(x, {100}, 1, 1), minus_zero_as_float(w, {0}, 1, 1)}, 1, attrs);
  ASSERT_TRUE(want) << want.status().message();
  const Tensor& got = (*y)[0].tensor;
  ASSERT_EQ(got.shape(), (*want)[0].tensor.shape());
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_EQ(static_cast<float>(got.data<int32_t>()[i]), (*want)[0].tensor.data<float>()[i]) << i;
}

TEST(QLinearConv, PerChannelRequantizationMatchesFormula) {
  const Tensor x = random_ints<uint8_t>({1, 3, 5, 5}, 5, 0, 255);
  const Tensor w = random_ints<int8_t>({4, 3, 3, 3}, 6, -127, 127);
  const std::vector<float> ws = {0.01f, 0.02f, 0.005f, 0.03f};
  const Tensor bias = Tensor::from_vector<int32_t>({4}, {100, -200, 0, 5000});
  auto y = run_op("QLinearConv", 10,
                  {x, f32({}, {0.05f}), Tensor::scalar<uint8_t>(120), w, f32({4}, ws), Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0}),
                   f32({}, {0.2f}), Tensor::scalar<uint8_t>(128), bias},
                  1, {{"pads", {1, 1, 1, 1}, true}});
  ASSERT_TRUE(y) << y.status().message();
  auto acc = run_op("ConvInteger", 10, {x, w, Tensor::scalar<uint8_t>(120)}, 1, {{"pads", {1, 1, 1, 1}, true}});
  ASSERT_TRUE(acc) << acc.status().message();
  const Tensor& got = (*y)[0].tensor;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const int64_t m = i / 25;
    const float v = static_cast<float>((*acc)[0].tensor.data<int32_t>()[i] + bias.data<int32_t>()[m]) *
                    (0.05f * ws[static_cast<size_t>(m)] / 0.2f);
    ASSERT_EQ(got.data<uint8_t>()[i], kernels::saturate_round<uint8_t>(std::nearbyint(v) + 128.0f)) << i;
  }
}

}  // namespace
}  // namespace ecoinfer
