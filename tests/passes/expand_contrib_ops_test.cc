// expand_contrib_ops (src/passes/expand_contrib_ops.cc): ONNX Runtime's
// com.microsoft ops (FusedConv, QGemm, MatMulIntegerToFloat, QuickGelu and
// the QLinear element-wise ops: Concat, Add, Mul, Sigmoid, LeakyRelu,
// GlobalAveragePool) in
// a small model, run by ecoinfer (expanded, then fused) and by ONNX Runtime
// 1.30 itself (tests/ort_run.js), which defines them. The forms the real
// models do not exercise are here: FusedConv with a sum input Z and
// LeakyRelu / Clip, QGemm with alpha != 1 and transB, with and without a
// quantized output, MatMulIntegerToFloat with zero points and a bias.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

using testing::ModelBuilder;
using testing::raw_initializer;
using testing::set_float;
using testing::set_int;
using testing::set_ints;
using testing::set_string;

constexpr const char* kMs = "com.microsoft";

template <class T>
std::vector<T> random_values(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(n);
  for (T& e : v) e = static_cast<T>(d(rng));
  return v;
}

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& e : v) e = d(rng);
  return v;
}

ModelBuilder with_contrib_domain() {
  ModelBuilder b(13);
  auto* ms = b.proto().add_opset_import();
  ms->set_domain(kMs);
  ms->set_version(1);
  return b;
}

// Runs the model in ecoinfer (optimized and not) and in ORT; returns
// {ecoinfer optimized, ecoinfer --no-optimize, ORT} per output.
struct Results {
  std::vector<NamedTensor> fast, plain;
  std::vector<Tensor> ort;
};

Results run_all(const ModelBuilder& b, const std::string& name, const std::vector<NamedTensor>& inputs) {
  Results r;
  const fs::path dir = testing::temp_dir("expand_contrib_" + name);
  const fs::path model = dir / "model.onnx";
  b.save(model);
  std::string cmd = "node " + (testing::source_dir() / "tests/ort_run.js").string() + " " + model.string() + " " +
                    (dir / "ort").string();
  for (const auto& in : inputs) {
    EXPECT_TRUE(write_npy(dir / (in.name + ".npy"), in.tensor).is_ok());
    cmd += " " + in.name + "=" + (dir / (in.name + ".npy")).string();
  }
  cmd += " > " + (dir / "ort.log").string() + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (bool optimize : {true, false}) {
    auto s = Session::load(model, {.threads = 1, .optimize = optimize});
    EXPECT_TRUE(s) << s.status().message();
    if (!s) return r;
    for (const char* op : {"FusedConv", "QGemm", "MatMulIntegerToFloat", "QuickGelu", "QLinearConcat", "QLinearAdd",
                           "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearGlobalAveragePool"}) {
      EXPECT_EQ(testing::count_op(**s, op), 0) << op;
    }
    auto y = (*s)->run(inputs);
    EXPECT_TRUE(y) << y.status().message();
    if (!y) return r;
    (optimize ? r.fast : r.plain) = *y;
  }
  for (const auto& out : r.fast) {
    auto t = read_npy(dir / "ort" / (out.name + ".npy"));
    EXPECT_TRUE(t) << t.status().message();
    r.ort.push_back(t ? *t : Tensor{});
  }
  return r;
}

// |a - b| <= atol + rtol * max|b|.
::testing::AssertionResult close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << "shapes differ";
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  if (worst <= atol + rtol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "largest difference " << worst << " against values up to " << scale;
}

TEST(ExpandContribOps, FusedConvWithSumLeakyReluAndClip) {
  ModelBuilder b = with_contrib_domain();
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 9, 11});
  b.initializer("w1", {6, 4, 3, 3}, random_floats(6 * 4 * 9, -0.5f, 0.5f, 1));
  b.initializer("b1", {6}, random_floats(6, -0.2f, 0.2f, 2));
  b.initializer("w2", {6, 6, 1, 1}, random_floats(36, -0.5f, 0.5f, 3));
  onnx::NodeProto* c1 = b.node("FusedConv", {"x", "w1", "b1"}, {"y1"}, kMs);
  set_ints(c1, "pads", {1, 1, 1, 1});
  set_string(c1, "activation", "LeakyRelu");
  auto* p1 = c1->add_attribute();
  p1->set_name("activation_params");
  p1->set_type(onnx::AttributeProto::FLOATS);
  p1->add_floats(0.1f);
  onnx::NodeProto* c2 = b.node("FusedConv", {"y1", "w2", "", "y1"}, {"y"}, kMs);  // Z: y1
  set_string(c2, "activation", "Clip");
  auto* p2 = c2->add_attribute();
  p2->set_name("activation_params");
  p2->set_type(onnx::AttributeProto::FLOATS);
  p2->add_floats(-0.3f);
  p2->add_floats(0.6f);
  b.output("y", onnx::TensorProto::FLOAT, {1, 6, 9, 11});
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 4, 9, 11}, 4);
  const Results r = run_all(b, "fused_conv", {{"x", x}});
  ASSERT_EQ(r.ort.size(), 1u);
  EXPECT_TRUE(close(r.fast[0].tensor, r.ort[0], 1e-4, 1e-5));
  EXPECT_TRUE(close(r.plain[0].tensor, r.ort[0], 1e-4, 1e-5));
}

// x -> QuantizeLinear(u8) -> QGemm(B int8 [N, K] per column, transB,
// alpha 0.5, C int32) -> y_q (u8) -> DequantizeLinear -> y, and the same
// QGemm without y_scale (float output) -> f; x -> QuickGelu(alpha 1.5) -> g;
// x_q -> MatMulIntegerToFloat(B int8 [K, N] per column, zero points, bias) -> m.
TEST(ExpandContribOps, QGemmMatMulIntegerToFloatQuickGelu) {
  constexpr int64_t kM = 3, kK = 16, kN = 8;
  constexpr float kAScale = 0.02f, kYScale = 0.05f;
  ModelBuilder b = with_contrib_domain();
  b.input("x", onnx::TensorProto::FLOAT, {kM, kK});
  b.initializer("sa", {}, {kAScale});
  raw_initializer(b, "za", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{120});
  b.node("QuantizeLinear", {"x", "sa", "za"}, {"xq"});
  std::vector<float> sb;
  for (int64_t n = 0; n < kN; ++n) sb.push_back(0.004f + 0.001f * static_cast<float>(n % 3));
  b.initializer("sb", {kN}, sb);
  raw_initializer(b, "zb", onnx::TensorProto::INT8, {kN}, std::vector<int8_t>(kN, 0));
  raw_initializer(b, "bt", onnx::TensorProto::INT8, {kN, kK}, random_values<int8_t>(kN * kK, -127, 127, 5));
  raw_initializer(b, "c", onnx::TensorProto::INT32, {kN}, random_values<int32_t>(kN, -4000, 4000, 6));
  b.initializer("sy", {}, {kYScale});
  raw_initializer(b, "zy", onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{100});
  for (const bool quantized_output : {true, false}) {
    std::vector<std::string> in = {"xq", "sa", "za", "bt", "sb", "zb", "c"};
    if (quantized_output) in.insert(in.end(), {"sy", "zy"});
    onnx::NodeProto* g = b.node("QGemm", in, {quantized_output ? "yq" : "f"}, kMs);
    set_int(g, "transB", 1);
    set_float(g, "alpha", 0.5f);
  }
  b.node("DequantizeLinear", {"yq", "sy", "zy"}, {"y"});
  onnx::NodeProto* q = b.node("QuickGelu", {"x"}, {"g"}, kMs);
  set_float(q, "alpha", 1.5f);
  raw_initializer(b, "bk", onnx::TensorProto::INT8, {kK, kN}, random_values<int8_t>(kK * kN, -127, 127, 7));
  b.initializer("bias", {kN}, random_floats(kN, -1.0f, 1.0f, 8));
  b.node("MatMulIntegerToFloat", {"xq", "bk", "sa", "sb", "za", "zb", "bias"}, {"m"}, kMs);
  b.output("y", onnx::TensorProto::FLOAT, {kM, kN});
  b.output("f", onnx::TensorProto::FLOAT, {kM, kN});
  b.output("g", onnx::TensorProto::FLOAT, {kM, kK});
  b.output("m", onnx::TensorProto::FLOAT, {kM, kN});
  const Tensor x = testing::random_tensor(DataType::kFloat32, {kM, kK}, 9, -2.0f, 2.0f);
  const Results r = run_all(b, "qgemm", {{"x", x}});
  ASSERT_EQ(r.ort.size(), 4u);
  for (size_t i = 0; i < r.ort.size(); ++i) {
    // y: one output step at most (a rounding tie); the float ones: float
    // summation order.
    const double atol = r.fast[i].name == "y" ? kYScale * 1.001 : 1e-4;
    EXPECT_TRUE(close(r.fast[i].tensor, r.ort[i], 1e-4, atol)) << r.fast[i].name;
    EXPECT_TRUE(close(r.plain[i].tensor, r.ort[i], 1e-4, atol)) << r.fast[i].name << " (--no-optimize)";
  }
}

// x, y -> QuantizeLinear (two scales) -> QLinearConcat (a third scale),
// QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu and
// QLinearGlobalAveragePool -> DequantizeLinear each. ORT computes each in
// float and rounds once, like the expansion: equal up to a rounding tie.
TEST(ExpandContribOps, QLinearElementwiseOps) {
  const std::vector<int64_t> shape = {1, 4, 5, 6};
  ModelBuilder b = with_contrib_domain();
  b.input("x", onnx::TensorProto::FLOAT, shape);
  b.input("y", onnx::TensorProto::FLOAT, shape);
  struct Params { const char* scale; float s; const char* zero; uint8_t z; };
  const std::vector<Params> params = {{"sx", 0.02f, "zx", 128}, {"sy", 0.03f, "zy", 100}, {"so", 0.025f, "zo", 110},
                                      {"sp", 0.05f, "zp", 40}, {"su", 1.0f / 255, "zu", 0}};
  for (const Params& p : params) {
    b.initializer(p.scale, {}, {p.s});
    raw_initializer(b, p.zero, onnx::TensorProto::UINT8, {}, std::vector<uint8_t>{p.z});
  }
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("QuantizeLinear", {"y", "sy", "zy"}, {"yq"});
  set_int(b.node("QLinearConcat", {"so", "zo", "xq", "sx", "zx", "yq", "sy", "zy"}, {"cq"}, kMs), "axis", 1);
  b.node("QLinearAdd", {"xq", "sx", "zx", "yq", "sy", "zy", "sp", "zp"}, {"aq"}, kMs);
  b.node("QLinearMul", {"xq", "sx", "zx", "yq", "sy", "zy", "so", "zo"}, {"mq"}, kMs);
  b.node("QLinearSigmoid", {"xq", "sx", "zx", "su", "zu"}, {"gq"}, kMs);
  set_float(b.node("QLinearLeakyRelu", {"xq", "sx", "zx", "so", "zo"}, {"lq"}, kMs), "alpha", 0.2f);
  set_int(b.node("QLinearGlobalAveragePool", {"yq", "sy", "zy", "so", "zo"}, {"pq"}, kMs), "channels_last", 0);
  const std::vector<std::pair<std::string, const char*>> outputs = {{"c", "so"}, {"a", "sp"}, {"m", "so"},
                                                                    {"g", "su"}, {"l", "so"}, {"p", "so"}};
  for (const auto& [name, scale] : outputs) {
    const std::string zero = std::string("z") + (scale + 1);
    b.node("DequantizeLinear", {name + "q", scale, zero}, {name});
  }
  b.output("c", onnx::TensorProto::FLOAT, {1, 8, 5, 6});
  for (const char* name : {"a", "m", "g", "l"}) b.output(name, onnx::TensorProto::FLOAT, shape);
  b.output("p", onnx::TensorProto::FLOAT, {1, 4, 1, 1});
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 11, -2.0f, 2.0f);
  const Tensor y = testing::random_tensor(DataType::kFloat32, shape, 12, -2.0f, 2.0f);
  const Results r = run_all(b, "qlinear_elementwise", {{"x", x}, {"y", y}});
  ASSERT_EQ(r.ort.size(), outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    float step = 0;
    for (const Params& p : params) if (std::string(p.scale) == outputs[i].second) step = p.s;
    EXPECT_TRUE(close(r.fast[i].tensor, r.ort[i], 0, step * 1.001)) << r.fast[i].name;
    EXPECT_TRUE(close(r.plain[i].tensor, r.ort[i], 0, step * 1.001)) << r.fast[i].name << " (--no-optimize)";
  }
}

}  // namespace
}  // namespace ecoinfer
