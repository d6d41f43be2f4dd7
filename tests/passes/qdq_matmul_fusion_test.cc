// QDQ fusion for MatMul and Gemm (fuse_qdq_matmul + fuse_qdq_outputs,
// kernels/cpu/matmul.cc int8): small QDQ models run fused (one int8 oneDNN
// matmul per product, activations int8 between them) against unfused
// (optimize=false: DequantizeLinear -> float MatMul -> QuantizeLinear on the
// reference kernels, the model's literal meaning). Outputs agree to within
// a rounding step of the int8 intermediates, and the fused graph has lost
// its QuantizeLinear/DequantizeLinear pairs.
#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::count_op;
using testing::ModelBuilder;
using testing::raw_initializer;
using testing::set_float;
using testing::set_int;

// An activation's Q -> DQ pair: writes `<x>dq`. `zero` is in the uint8
// range; signed activations store zero - 128.
std::string qdq(ModelBuilder& b, const std::string& x, float scale, int zero, bool is_signed) {
  b.initializer(x + "_s", {}, {scale});
  if (is_signed) {
    raw_initializer(b, x + "_z", onnx::TensorProto::INT8, {}, std::vector<int8_t>{static_cast<int8_t>(zero - 128)});
  } else {
    raw_initializer(b, x + "_z", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{static_cast<uint8_t>(zero)});
  }
  b.node("QuantizeLinear", {x, x + "_s", x + "_z"}, {x + "q"});
  b.node("DequantizeLinear", {x + "q", x + "_s", x + "_z"}, {x + "dq"});
  return x + "dq";
}

// DQ(int8 weights of `dims`), one scale per column `axis` (or one scale);
// writes `<id>_wdq`.
std::string weights(ModelBuilder& b, const std::string& id, const std::vector<int64_t>& dims, int axis,
                    bool per_channel, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> wv(-127, 127);
  std::vector<int8_t> w(static_cast<size_t>(dims[0] * dims[1]));
  for (auto& v : w) v = static_cast<int8_t>(wv(rng));
  const int64_t channels = per_channel ? dims[static_cast<size_t>(axis)] : 1;
  std::vector<float> scales;
  for (int64_t c = 0; c < channels; ++c) scales.push_back(0.004f + 0.001f * static_cast<float>(c % 7));
  raw_initializer(b, id + "_w", onnx::TensorProto::INT8, dims, w);
  const std::vector<int64_t> sdims = per_channel ? std::vector<int64_t>{channels} : std::vector<int64_t>{};
  b.initializer(id + "_ws", sdims, scales);
  raw_initializer(b, id + "_wz", onnx::TensorProto::INT8, sdims, std::vector<int8_t>(static_cast<size_t>(channels), 0));
  set_int(b.node("DequantizeLinear", {id + "_w", id + "_ws", id + "_wz"}, {id + "_wdq"}), "axis", axis);
  return id + "_wdq";
}

void random_initializer(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims, uint32_t seed,
                        float lo, float hi) {
  const Tensor t = testing::random_tensor(DataType::kFloat32, dims, seed, lo, hi);
  b.initializer(name, dims, std::vector<float>(t.data<float>(), t.data<float>() + t.numel()));
}

std::filesystem::path save(ModelBuilder& b, const std::string& name) {
  const auto path = testing::temp_dir("qdq_matmul_" + name) / "model.onnx";
  b.save(path);
  return path;
}

// x [2, 5, 24] -> MatMul(W1 [24, 32] per column) -> Add(bias) -> Relu -> Q/DQ
// -> MatMul(W2 [32, 16] per tensor) -> y (float32).
std::filesystem::path linear_chain(bool is_signed) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5, 24});
  const std::string x = qdq(b, "x", 0.02f, 128, is_signed);
  b.node("MatMul", {x, weights(b, "l1", {24, 32}, 1, true, 1)}, {"h"});
  random_initializer(b, "bias", {32}, 3, -0.5f, 0.5f);
  b.node("Add", {"h", "bias"}, {"hb"});
  b.node("Relu", {"hb"}, {"r"});
  const std::string r = qdq(b, "r", 0.01f, 0, is_signed);
  b.node("MatMul", {r, weights(b, "l2", {32, 16}, 1, false, 2)}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 5, 16});
  return save(b, is_signed ? "chain_s8" : "chain_u8");
}

// x [7, 40] -> Gemm(transB, W [24, 40] per row, C float [24], alpha 0.5) -> y.
std::filesystem::path gemm(bool trans_b) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {7, 40});
  const std::string x = qdq(b, "x", 0.015f, 120, false);
  const std::vector<int64_t> dims = trans_b ? std::vector<int64_t>{24, 40} : std::vector<int64_t>{40, 24};
  random_initializer(b, "c", {24}, 4, -1.0f, 1.0f);
  onnx::NodeProto* n = b.node("Gemm", {x, weights(b, "g", dims, trans_b ? 0 : 1, true, 5), "c"}, {"y"});
  set_int(n, "transB", trans_b ? 1 : 0);
  set_float(n, "alpha", 0.5f);
  set_float(n, "beta", 2.0f);
  b.output("y", onnx::TensorProto::FLOAT, {7, 24});
  return save(b, trans_b ? "gemm_tb" : "gemm");
}

// Attention's products: scores = DQ(q) x DQ(k) [2, 3, 6, 8] x [2, 3, 8, 6],
// softmax, then DQ(probs) x DQ(v) [.., 6, 6] x [.., 6, 8].
std::filesystem::path attention(bool is_signed) {
  ModelBuilder b(13);
  for (const char* in : {"q", "k", "v"}) {
    b.input(in, onnx::TensorProto::FLOAT, {2, 3, in[0] == 'k' ? 8 : 6, in[0] == 'k' ? 6 : 8});
  }
  b.node("MatMul", {qdq(b, "q", 0.01f, 130, is_signed), qdq(b, "k", 0.012f, 110, is_signed)}, {"scores"});
  set_int(b.node("Softmax", {"scores"}, {"probs"}), "axis", -1);
  b.node("MatMul", {qdq(b, "probs", 1.0f / 255, 0, is_signed), qdq(b, "v", 0.01f, 140, is_signed)}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 3, 6, 8});
  return save(b, is_signed ? "attention_s8" : "attention_u8");
}

// The largest |a - b| relative to max |b|.
double relative_error(const Tensor& a, const Tensor& b) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  return worst / scale;
}

// Runs fused and unfused; `quantize_left`: the graph inputs' QuantizeLinear.
void check_fused_matches_unfused(const std::filesystem::path& path, const std::vector<NamedTensor>& inputs,
                                 int quantize_left, double tolerance) {
  auto fused = Session::load(path, {.threads = 1});
  ASSERT_TRUE(fused) << fused.status().message();
  auto plain = Session::load(path, {.threads = 1, .optimize = false});
  ASSERT_TRUE(plain) << plain.status().message();
  EXPECT_EQ(count_op(**fused, "QuantizeLinear"), quantize_left);
  EXPECT_EQ(count_op(**fused, "DequantizeLinear"), 0);
  auto a = (*fused)->run(inputs);
  ASSERT_TRUE(a) << a.status().message();
  auto b = (*plain)->run(inputs);
  ASSERT_TRUE(b) << b.status().message();
  const Tensor& ya = (*a)[0].tensor;
  const Tensor& yb = (*b)[0].tensor;
  ASSERT_EQ(ya.shape(), yb.shape());
  // Rounding ties of an int8 intermediate may flip by one step; the rest is
  // float summation order.
  EXPECT_GE(quant::cosine_similarity(ya, yb), 0.9999);
  EXPECT_LE(relative_error(ya, yb), tolerance);
}

Tensor random(const Shape& shape, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  return testing::random_tensor(DataType::kFloat32, shape, seed, lo, hi);
}

TEST(QdqMatMulFusion, UnsignedLinearChainMatchesUnfused) {
  check_fused_matches_unfused(linear_chain(false), {{"x", random({2, 5, 24}, 1)}}, 1, 0.02);
}

TEST(QdqMatMulFusion, SignedLinearChainMatchesUnfused) {
  check_fused_matches_unfused(linear_chain(true), {{"x", random({2, 5, 24}, 2)}}, 1, 0.02);
}

TEST(QdqMatMulFusion, GemmWithBiasAlphaBetaMatchesUnfused) {
  // The int32 bias rounds beta * C to accumulator units: a tiny error only.
  check_fused_matches_unfused(gemm(false), {{"x", random({7, 40}, 3)}}, 1, 1e-3);
  check_fused_matches_unfused(gemm(true), {{"x", random({7, 40}, 4)}}, 1, 1e-3);
}

TEST(QdqMatMulFusion, AttentionProductsMatchUnfused) {
  for (bool is_signed : {false, true}) {
    SCOPED_TRACE(is_signed ? "int8" : "uint8");
    const std::vector<NamedTensor> inputs = {
        {"q", random({2, 3, 6, 8}, 5)}, {"k", random({2, 3, 8, 6}, 6)}, {"v", random({2, 3, 6, 8}, 7)}};
    // 3 left: q's, k's and v's; the probabilities' joined the Softmax
    // (fuse_attention_softmax), which writes them quantized.
    check_fused_matches_unfused(attention(is_signed), inputs, 3, 0.02);
  }
}

TEST(QdqMatMulFusion, Int8MatmulPrimitivesAreCreated) {
  auto s = Session::load(linear_chain(false), {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  ASSERT_TRUE((*s)->run({{"x", random({2, 5, 24}, 8)}}));
  int int8 = 0;
  for (const auto& u : onednn_implementations_used()) {
    if (u.kind != "matmul int8") continue;
    ++int8;
    EXPECT_EQ(u.implementation.find("ref"), std::string::npos)
        << "oneDNN's reference int8 matmul: " << u.implementation;
  }
  EXPECT_GT(int8, 0) << "no int8 matmul primitive was created";
}

}  // namespace
}  // namespace ecoinfer
