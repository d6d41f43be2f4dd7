// Shared by the QDQ fusion tests: an int8 Conv written as a QDQ model
// writes it (DequantizeLinear on int8 weights and an int32 bias), and a
// relative comparison of outputs.
//
//   add_quant_conv(b, "c1", "xdq", 0.02f, {8, 16, 3, 1, 1}, "y1", 1);
//   EXPECT_TRUE(close_relative(fused, unfused, 0.02));
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/tensor.h"
#include "model_builder.h"

namespace ecoinfer::testing {

struct ConvSpec {
  int64_t in_channels, out_channels, kernel, stride, group;
};

// Adds DQ(W int8 per-channel) and DQ(B int32) for a Conv reading `x_dq`
// (scale x_scale) and writes the Conv's output `y`.
inline void add_quant_conv(ModelBuilder& b, const std::string& id, const std::string& x_dq, float x_scale,
                           const ConvSpec& c, const std::string& y, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> wv(-127, 127), bv(-2000, 2000);
  const int64_t per = c.in_channels / c.group * c.kernel * c.kernel;
  std::vector<int8_t> w(static_cast<size_t>(c.out_channels * per));
  for (auto& v : w) v = static_cast<int8_t>(wv(rng));
  std::vector<float> ws;
  std::vector<int32_t> bias, bias_zero(static_cast<size_t>(c.out_channels), 0);
  std::vector<float> bias_scale;
  for (int64_t m = 0; m < c.out_channels; ++m) {
    ws.push_back(0.002f + 0.0005f * static_cast<float>(m % 5));
    bias.push_back(bv(rng));
    bias_scale.push_back(x_scale * ws.back());
  }
  const std::vector<int8_t> wz(static_cast<size_t>(c.out_channels), 0);
  raw_initializer(b, id + "_w", onnx::TensorProto::INT8, {c.out_channels, c.in_channels / c.group, c.kernel, c.kernel}, w);
  b.initializer(id + "_ws", {c.out_channels}, ws);
  raw_initializer(b, id + "_wz", onnx::TensorProto::INT8, {c.out_channels}, wz);
  set_int(b.node("DequantizeLinear", {id + "_w", id + "_ws", id + "_wz"}, {id + "_wdq"}), "axis", 0);
  raw_initializer(b, id + "_b", onnx::TensorProto::INT32, {c.out_channels}, bias);
  b.initializer(id + "_bs", {c.out_channels}, bias_scale);
  raw_initializer(b, id + "_bz", onnx::TensorProto::INT32, {c.out_channels}, bias_zero);
  set_int(b.node("DequantizeLinear", {id + "_b", id + "_bs", id + "_bz"}, {id + "_bdq"}), "axis", 0);
  onnx::NodeProto* conv = b.node("Conv", {x_dq, id + "_wdq", id + "_bdq"}, {y});
  const int64_t pad = c.kernel / 2;
  set_ints(conv, "pads", {pad, pad, pad, pad});
  set_ints(conv, "strides", {c.stride, c.stride});
  set_int(conv, "group", c.group);
}

// |a - b| <= tolerance * max|b| everywhere, with the worst case in the message.
inline ::testing::AssertionResult close_relative(const Tensor& a, const Tensor& b, double tolerance) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  if (worst <= tolerance * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "largest difference " << worst << " against outputs up to " << scale;
}

}  // namespace ecoinfer::testing
