// Range methods on distributions whose answer is known, and the weight,
// activation and comparison arithmetic the quantizer is built on.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "quant/fidelity.h"
#include "quant/qdq_rewrite.h"
#include "quant/range_methods.h"

namespace ecoinfer::quant {
namespace {

std::vector<float> gaussian(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

RangeStats two_passes(const std::vector<float>& values) {
  RangeStats s;
  s.observe_minmax(values);
  s.start_histogram();
  s.observe_histogram(values);
  return s;
}

TEST(RangeMethods, MinMaxIsTheExtremesAndSkipsNonFinite) {
  RangeStats s;
  s.observe_minmax(std::vector<float>{0.5f, -2.0f, 3.0f, INFINITY, NAN});
  s.observe_minmax(std::vector<float>{1.0f});
  EXPECT_FLOAT_EQ(s.minmax().min, -2.0f);
  EXPECT_FLOAT_EQ(s.minmax().max, 3.0f);
  EXPECT_FLOAT_EQ(s.range(RangeMethod::kMinMax, 99.99).max, 3.0f);
}

TEST(RangeMethods, PercentileOfUniformIsThatFraction) {
  std::vector<float> v;
  for (int i = 0; i < 100000; ++i) v.push_back(static_cast<float>(i) / 100000.0f);
  const FloatRange r = two_passes(v).range(RangeMethod::kPercentile, 99.0);
  EXPECT_NEAR(r.max, 0.99f, 0.002f);
  EXPECT_FLOAT_EQ(r.min, 0.0f);  // never negative: stays 0
}

TEST(RangeMethods, PercentileCutsRareOutliers) {
  std::vector<float> v = gaussian(200000, 1);
  v.push_back(100.0f);  // one outlier would spend most of the int8 range
  const FloatRange r = two_passes(v).range(RangeMethod::kPercentile, 99.99);
  EXPECT_GT(r.max, 3.0f);  // 99.99 % of |N(0,1)| lies under about 3.9
  EXPECT_LT(r.max, 4.6f);
  EXPECT_LT(r.min, -3.0f);
}

TEST(RangeMethods, EntropyClipsALongTailButKeepsTheBulk) {
  std::vector<float> v = gaussian(200000, 2);
  for (int i = 0; i < 20; ++i) v.push_back(40.0f + i);
  const FloatRange r = two_passes(v).range(RangeMethod::kEntropy, 99.99);
  EXPECT_GT(r.max, 2.0f) << "the threshold must keep most of the Gaussian";
  EXPECT_LT(r.max, 15.0f) << "the threshold must not stretch to the outliers at 40..60";
}

TEST(RangeMethods, EntropyOfAUniformHistogramKeepsItsWholeRange) {
  std::vector<double> bins(kHistogramBins, 10.0);
  EXPECT_NEAR(entropy_threshold(bins, 1.0f, 128), kHistogramBins, kHistogramBins * 0.05);
}

TEST(QuantArithmetic, Uint8ParamsIncludeZeroExactly) {
  const UInt8Params p = uint8_params({-1.0f, 3.0f});
  EXPECT_NEAR(p.scale, 4.0f / 255.0f, 1e-7);
  EXPECT_EQ(p.zero_point, 64);  // round(1 / (4/255)) = round(63.75)
  const UInt8Params relu = uint8_params({0.5f, 2.0f});  // widened down to 0
  EXPECT_EQ(relu.zero_point, 0);
  EXPECT_NEAR(relu.scale, 2.0f / 255.0f, 1e-7);
  const UInt8Params zero = uint8_params({0.0f, 0.0f});
  EXPECT_GT(zero.scale, 0.0f);
}

TEST(QuantArithmetic, WeightsSymmetricPerChannel) {
  // Two output channels (axis 0) of 3 values each, very different ranges.
  const Tensor w = Tensor::from_vector<float>({2, 3}, {1.0f, -0.5f, 0.25f, 100.0f, 50.0f, -100.0f});
  const QuantizedWeight per_channel = quantize_weight_symmetric(w, 0);
  ASSERT_EQ(per_channel.scales.size(), 2u);
  EXPECT_NEAR(per_channel.scales[0], 1.0f / 127, 1e-7);
  EXPECT_NEAR(per_channel.scales[1], 100.0f / 127, 1e-5);
  const auto q = per_channel.values.span<int8_t>();
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -64);  // -63.5 rounds to even
  EXPECT_EQ(q[3], 127);
  EXPECT_EQ(q[5], -127);
  const QuantizedWeight per_tensor = quantize_weight_symmetric(w, -1);
  ASSERT_EQ(per_tensor.scales.size(), 1u);
  EXPECT_EQ(per_tensor.values.span<int8_t>()[2], 0) << "0.25 vanishes at the large channel's scale";
  // Axis 1 of a [K, N] MatMul weight: one scale per column.
  const QuantizedWeight columns = quantize_weight_symmetric(w, 1);
  ASSERT_EQ(columns.scales.size(), 3u);
  EXPECT_NEAR(columns.scales[1], 50.0f / 127, 1e-5);
}

TEST(Fidelity, CosineMaxErrorAndTop1) {
  const Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 3, 2, 1});
  const Tensor b = Tensor::from_vector<float>({2, 3}, {1, 2, 3.5f, 1, 2, 3});
  EXPECT_NEAR(cosine_similarity(a, a), 1.0, 1e-12);
  EXPECT_LT(cosine_similarity(a, b), 0.9);
  EXPECT_NEAR(max_abs_error(a, b), 2.0, 1e-6);
  const auto [agree, positions] = top1_agreement(a, b);
  EXPECT_EQ(agree, 1);
  EXPECT_EQ(positions, 2);
  const Tensor zeros = Tensor::zeros(DataType::kFloat32, {4});
  EXPECT_EQ(cosine_similarity(zeros, zeros), 1.0);
}

}  // namespace
}  // namespace ecoinfer::quant
