// Conv's Winograd variants (src/kernels/cpu/conv.cc, winograd_suits and
// prefer_wino_4x3) against the plain reference loops: F(4x4, 3x3) on images
// of at least 56x56, F(2x2, 3x3) below, both within 1e-4 of the direct sums,
// with and without padding, with constant and runtime weights (the reference
// loops keep this to the few shapes around the threshold).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "ecoinfer/session.h"
#include "kernels/onednn_test_util.h"
#include "model_builder.h"

namespace ecoinfer {
namespace {

using namespace onednn_test;
using testing::random_tensor;
using testing::tensors_close;

bool implementation_used(const std::string& prefix) {
  for (const auto& u : onednn_implementations_used()) {
    if (u.implementation.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void check_3x3(const Shape& x_shape, int64_t out_channels, bool padded, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(x_shape) + " -> " + std::to_string(out_channels) + (padded ? " padded" : ""));
  const Tensor x = random_tensor(DataType::kFloat32, x_shape, seed);
  const Tensor w = random_tensor(DataType::kFloat32, {out_channels, x_shape[1], 3, 3}, seed + 1);
  const Tensor b = random_tensor(DataType::kFloat32, {out_channels}, seed + 2);
  const ConvParams p{.pads = padded ? std::vector<int64_t>{1, 1, 1, 1} : std::vector<int64_t>{}};
  const Tensor expected = ref_conv(x, w, &b, p);
  for (bool constant : {true, false}) {
    auto y = run_once("Conv", {{x}, {w, constant}, {b, constant}}, conv_attrs(p));
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " weights";
  }
}

bool has_avx512() { return onednn_cpu_isa().find("avx512") != std::string::npos; }

TEST(ConvWinograd, FourByFourTilesOnLargeImages) {
  check_3x3({1, 64, 56, 56}, 64, true, 1);   // ResNet-50's layer1 shape
  check_3x3({1, 64, 58, 59}, 64, false, 4);  // unpadded: 56x57 out, an odd width
  // oneDNN has its Winograd kernels on AVX-512 only.
  if (!has_avx512()) GTEST_SKIP() << "no AVX-512: no Winograd kernel";
  EXPECT_TRUE(implementation_used("jit_wino_4x3"));
}

TEST(ConvWinograd, TwoByTwoTilesBelow56) {
  check_3x3({1, 64, 55, 55}, 64, true, 10);  // just under the 4x4 threshold
  if (!has_avx512()) GTEST_SKIP() << "no AVX-512: no Winograd kernel";
  EXPECT_TRUE(implementation_used("jit_fp32_wino_2x3"));
}

// One session, two batch sizes: the second shape's plan may want another
// weights layout than the Winograd one packed for the first (oneDNN's
// Winograd kernels pick their weight blocking per minibatch, or refuse and
// the direct kernel runs), and a Winograd layout is no reorder source. The
// second layout comes from the plain weights then (PackedWeights); before,
// ResNet-50 at batch 8 after batch 1 failed "could not create a primitive
// descriptor for a reorder primitive" (ecoinfer compare's throughput rows).
TEST(ConvWinograd, LaterBatchSizesAfterWinogradWeightsArePacked) {
  constexpr int64_t kChannels = 128, kSide = 28;
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, kChannels, kSide, kSide});
  const Tensor w = random_tensor(DataType::kFloat32, {kChannels, kChannels, 3, 3}, 21);
  b.initializer("w", {kChannels, kChannels, 3, 3}, std::vector<float>(w.data<float>(), w.data<float>() + w.numel()));
  testing::set_ints(b.node("Conv", {"x", "w"}, {"y"}), "pads", {1, 1, 1, 1});
  b.output("y", onnx::TensorProto::FLOAT, {-1, kChannels, kSide, kSide});
  const auto model = testing::temp_dir("conv_winograd_batches") / "model.onnx";
  b.save(model);
  auto session = Session::load(model, {.threads = 1});
  ASSERT_TRUE(session) << session.status().message();
  // One reference for the batch of 8; the batch of 1 is its first image.
  const Tensor x8 = random_tensor(DataType::kFloat32, {8, kChannels, kSide, kSide}, 22);
  const Tensor expected8 = ref_conv(x8, w, nullptr, ConvParams{.pads = {1, 1, 1, 1}});
  const auto first_image = [](const Tensor& t) {
    Tensor one = Tensor::zeros(DataType::kFloat32, {1, t.dim(1), t.dim(2), t.dim(3)});
    std::copy_n(t.data<float>(), one.numel(), one.data<float>());
    return one;
  };
  for (int64_t batch : {1, 8, 1}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    auto y = (*session)->run({{"x", batch == 8 ? x8 : first_image(x8)}});
    ASSERT_TRUE(y) << y.status().message();
    EXPECT_TRUE(tensors_close((*y)[0].tensor, batch == 8 ? expected8 : first_image(expected8), 1e-4, 1e-4));
  }
}

}  // namespace
}  // namespace ecoinfer
