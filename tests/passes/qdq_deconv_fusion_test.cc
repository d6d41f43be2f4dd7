// QDQ ConvTranspose (the head of PP-OCRv4 det: int8 Conv -> BN -> Relu ->
// ConvTranspose 2x2/2 -> Add(bias) -> BN -> Relu -> ConvTranspose 2x2/2 ->
// Add(bias) -> Sigmoid, each ConvTranspose behind Q/DQ) runs as int8:
// fuse_qdq_inputs takes DequantizeLinear(x), DequantizeLinear(W, axis 1)
// -> ConvTranspose in, with the bias Add and the BatchNormalization,
// fuse_qdq_outputs the next QuantizeLinear, and the ConvTransposes read
// and write uint8 channels-last between int8 ops (channels_last_convs).
// Fused and unfused (optimize=false) agree within int8 rounding ties, on
// the pixel path (kernel = stride: kernels/cpu/pixel_deconv.h; plain and
// channels-last tensors, batch 2, a non-square kernel) and on oneDNN's
// int8 deconvolution (overlapping kernel).
#include <algorithm>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "onnx/model_loader.h"
#include "passes/pass.h"
#include "passes/post_ops.h"
#include "qdq_test_util.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::add_quant_conv;
using testing::close_relative;
using testing::ModelBuilder;
using testing::raw_initializer;
using testing::set_int;
using testing::set_ints;

struct DeconvSpec {
  int64_t in_channels, out_channels;
  std::vector<int64_t> kernel, stride, pads;  // pads empty: none
  bool per_channel = true;
  float weight_scale = 0.003f;  // small enough to keep the head's Sigmoid off saturation
};

class HeadBuilder {
 public:
  explicit HeadBuilder(ModelBuilder& b) : b_(b) {}

  // Q -> DQ of `v` as uint8.
  std::string qdq(const std::string& v, float scale, int zero) {
    b_.initializer(v + "_s", {}, {scale});
    raw_initializer(b_, v + "_z", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{static_cast<uint8_t>(zero)});
    b_.node("QuantizeLinear", {v, v + "_s", v + "_z"}, {v + "_q"});
    b_.node("DequantizeLinear", {v + "_q", v + "_s", v + "_z"}, {v + "_dq"});
    return v + "_dq";
  }

  // DQ(W int8 [C, O, k...], axis 1) -> ConvTranspose reading x_dq, then
  // Add(per-channel bias) as Paddle2ONNX writes it; returns the Add's output.
  std::string deconv(const std::string& id, const std::string& x_dq, const DeconvSpec& d, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> wv(-127, 127);
    std::uniform_real_distribution<float> bv(-0.5f, 0.5f);
    std::vector<int64_t> dims = {d.in_channels, d.out_channels};
    dims.insert(dims.end(), d.kernel.begin(), d.kernel.end());
    int64_t count = 1;
    for (int64_t v : dims) count *= v;
    std::vector<int8_t> w(static_cast<size_t>(count));
    for (auto& v : w) v = static_cast<int8_t>(wv(rng));
    raw_initializer(b_, id + "_w", onnx::TensorProto::INT8, dims, w);
    if (d.per_channel) {
      std::vector<float> ws;
      for (int64_t o = 0; o < d.out_channels; ++o) ws.push_back(d.weight_scale * (1.0f + 0.25f * static_cast<float>(o % 4)));
      b_.initializer(id + "_ws", {d.out_channels}, ws);
      raw_initializer(b_, id + "_wz", onnx::TensorProto::INT8, {d.out_channels},
                      std::vector<int8_t>(static_cast<size_t>(d.out_channels), 0));
      set_int(b_.node("DequantizeLinear", {id + "_w", id + "_ws", id + "_wz"}, {id + "_wdq"}), "axis", 1);
    } else {
      b_.initializer(id + "_ws", {}, {d.weight_scale});
      raw_initializer(b_, id + "_wz", onnx::TensorProto::INT8, {}, std::vector<int8_t>{0});
      b_.node("DequantizeLinear", {id + "_w", id + "_ws", id + "_wz"}, {id + "_wdq"});
    }
    onnx::NodeProto* t = b_.node("ConvTranspose", {x_dq, id + "_wdq"}, {id + "_t"});
    set_ints(t, "kernel_shape", d.kernel);
    set_ints(t, "strides", d.stride);
    if (!d.pads.empty()) set_ints(t, "pads", d.pads);
    std::vector<float> bias;
    for (int64_t o = 0; o < d.out_channels; ++o) bias.push_back(bv(rng));
    b_.initializer(id + "_bias", {1, d.out_channels, 1, 1}, bias);
    b_.node("Add", {id + "_t", id + "_bias"}, {id + "_y"});
    return id + "_y";
  }

  std::string batchnorm_relu(const std::string& id, const std::string& x, int64_t channels) {
    std::vector<float> scale, shift, mean, var;
    for (int64_t c = 0; c < channels; ++c) {
      scale.push_back(0.8f + 0.05f * static_cast<float>(c % 5));
      shift.push_back(0.1f * static_cast<float>(c % 3) - 0.1f);
      mean.push_back(0.05f * static_cast<float>(c % 4));
      var.push_back(0.5f + 0.1f * static_cast<float>(c % 2));
    }
    b_.initializer(id + "_g", {channels}, scale);
    b_.initializer(id + "_b", {channels}, shift);
    b_.initializer(id + "_m", {channels}, mean);
    b_.initializer(id + "_v", {channels}, var);
    b_.node("BatchNormalization", {x, id + "_g", id + "_b", id + "_m", id + "_v"}, {id + "_bn"});
    b_.node("Relu", {id + "_bn"}, {id + "_r"});
    return id + "_r";
  }

 private:
  ModelBuilder& b_;
};

// det's head at a small size: int8 Conv (8 -> 16) -> BN -> Relu -> QDQ ->
// ConvTranspose (16 -> 8) -> Add -> BN -> Relu -> QDQ -> ConvTranspose (8 -> 1)
// -> Add -> Sigmoid.
std::filesystem::path build_head(const std::string& name, const DeconvSpec& first, const DeconvSpec& second) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 8, 10, 12});
  HeadBuilder h(b);
  add_quant_conv(b, "c", h.qdq("x", 0.02f, 128), 0.02f, {8, 16, 3, 1, 1}, "c_out", 5);
  const std::string r0 = h.batchnorm_relu("bn0", "c_out", 16);
  const std::string t0 = h.deconv("t0", h.qdq(r0, 0.03f, 0), first, 6);
  const std::string r1 = h.batchnorm_relu("bn1", t0, first.out_channels);
  const std::string t1 = h.deconv("t1", h.qdq(r1, 0.02f, 0), second, 7);
  b.node("Sigmoid", {t1}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("qdq_deconv_" + name) / "model.onnx";
  b.save(path);
  return path;
}

// A ConvTranspose reading the graph input's DQ (plain uint8) and writing a
// float32 graph output (plain), no BN.
std::filesystem::path build_plain(const std::string& name, const DeconvSpec& d) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, d.in_channels, 7, 9});
  HeadBuilder h(b);
  const std::string y = h.deconv("t", h.qdq("x", 0.02f, 120), d, 8);
  b.node("Relu", {y}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("qdq_deconv_" + name) / "model.onnx";
  b.save(path);
  return path;
}

struct Optimized {
  int int8_deconvs = 0, float_deconvs = 0, quantize = 0, batchnorm = 0, add = 0, channels_last_deconvs = 0;
};

Optimized inspect(const std::filesystem::path& model) {
  Optimized o;
  auto g = onnx_import::load_model(model);
  EXPECT_TRUE(g) << g.status().message();
  if (!g || !passes::optimize(*g)) return o;
  for (const ir::Node& n : g->nodes) {
    if (n.op_type == "ConvTranspose") {
      (n.attribute(passes::kQuantInputAttribute) != nullptr ? o.int8_deconvs : o.float_deconvs) += 1;
      o.channels_last_deconvs += passes::channels_last_inputs(n).size() == 1 ? 1 : 0;
    }
    o.quantize += n.op_type == "QuantizeLinear";
    o.batchnorm += n.op_type == "BatchNormalization";
    o.add += n.op_type == "Add";
  }
  return o;
}

void expect_fused_equals_unfused(const std::filesystem::path& model, const Shape& x_shape) {
  auto fused = Session::load(model, {.threads = 1});
  ASSERT_TRUE(fused) << fused.status().message();
  auto plain = Session::load(model, {.threads = 1, .optimize = false});
  ASSERT_TRUE(plain) << plain.status().message();
  const Tensor x = testing::random_tensor(DataType::kFloat32, x_shape, 11, -2.0f, 2.0f);
  auto a = (*fused)->run({{"x", x}});
  ASSERT_TRUE(a) << a.status().message();
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(b) << b.status().message();
  const Tensor& ya = (*a)[0].tensor;
  const Tensor& yb = (*b)[0].tensor;
  ASSERT_EQ(ya.shape(), yb.shape());
  EXPECT_GE(quant::cosine_similarity(ya, yb), 0.9999);
  EXPECT_TRUE(close_relative(ya, yb, 0.02));
}

TEST(QdqDeconv, DetHeadRunsInt8ChannelsLastAndMatchesUnfused) {
  const auto model = build_head("head", {16, 8, {2, 2}, {2, 2}, {}}, {8, 1, {2, 2}, {2, 2}, {}, true, 0.0004f});
  const Optimized o = inspect(model);
  EXPECT_EQ(o.int8_deconvs, 2);
  EXPECT_EQ(o.float_deconvs, 0);
  EXPECT_EQ(o.quantize, 1);   // the graph input's: every other one is fused
  EXPECT_EQ(o.batchnorm, 0);  // folded into the int8 Conv and ConvTranspose
  EXPECT_EQ(o.add, 0);        // the bias Adds joined the int32 biases
  EXPECT_EQ(o.channels_last_deconvs, 2);
  expect_fused_equals_unfused(model, {2, 8, 10, 12});
}

TEST(QdqDeconv, NonSquareKernelAndPerTensorWeightsMatchUnfused) {
  const auto model = build_head("k2x3", {16, 8, {2, 3}, {2, 3}, {}, false}, {8, 3, {3, 2}, {3, 2}, {}, true, 0.0004f});
  EXPECT_EQ(inspect(model).int8_deconvs, 2);
  expect_fused_equals_unfused(model, {1, 8, 10, 12});
}

TEST(QdqDeconv, PlainTensorsMatchUnfused) {
  const auto model = build_plain("plain", {5, 7, {2, 2}, {2, 2}, {}});
  const Optimized o = inspect(model);
  EXPECT_EQ(o.int8_deconvs, 1);
  EXPECT_EQ(o.channels_last_deconvs, 0);
  expect_fused_equals_unfused(model, {2, 5, 7, 9});
}

// Overlapping taps: not the pixel path, oneDNN's int8 deconvolution.
TEST(QdqDeconv, OverlappingKernelRunsOnOneDnnAndMatchesUnfused) {
  const auto model = build_head("k3s2", {16, 8, {3, 3}, {2, 2}, {1, 1, 1, 1}}, {8, 2, {4, 4}, {2, 2}, {1, 1, 1, 1}, true, 0.0004f});
  EXPECT_EQ(inspect(model).int8_deconvs, 2);
  expect_fused_equals_unfused(model, {1, 8, 10, 12});
}

}  // namespace
}  // namespace ecoinfer
