// The zoo's convolutional models quantized by `ecoinfer quantize`'s library
// (static QDQ, per-channel, 2 random calibration samples) and run fused
// (int8 oneDNN convolutions, the residual stream int8:
// passes/fuse_qdq_residual.cc) against ONNX Runtime 1.30 on the same QDQ
// file (tests/ort_run.js). (The unfused graph, on the reference kernels,
// takes too long at 224x224 for a test: tests/passes/qdq_residual_fusion_test
// holds the fusion to it on a bottleneck block.)
//
// The file computes each residual Add in float32 from the block input y,
// which the next convolutions read quantized; the fused graph reads y
// quantized in the Add as well (DQ(Q(y)), off by at most half a step of
// y's scale), as ONNX Runtime's own quantizer would have written it. Over
// ResNet-50's 16 blocks (MobileNetV3's 10) that moves the logits by little:
// measured cosine 0.99995 (ResNet-50) and 0.99942 (MobileNetV3) against
// ONNX Runtime; the floor 0.998 leaves room for another oneDNN ISA's
// rounding, and a wrong scale or zero point falls far below it (0.6 on the
// bottleneck test).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "quant/fidelity.h"
#include "quant/quantize.h"
#include "test_util.h"
#include "zoo/zoo.h"

namespace ecoinfer {
namespace {

namespace fs = std::filesystem;

const Shape kShape = {1, 3, 224, 224};

Tensor run(const fs::path& model, const Tensor& x) {
  auto s = Session::load(model, {.threads = 1});
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  auto y = (*s)->run({{"input", x}});
  EXPECT_TRUE(y) << y.status().message();
  return y ? (*y)[0].tensor : Tensor{};
}

class ZooInt8Test : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooInt8Test, FusedInt8MatchesOnnxRuntimeOnTheSameQdqFile) {
  const fs::path dir = testing::temp_dir("zoo_int8_" + GetParam());
  const fs::path fp32 = dir / "model.onnx", int8 = dir / "model.int8.onnx";
  ASSERT_TRUE(zoo::write_zoo_model(GetParam(), {.seed = 1}, fp32).is_ok());
  quant::QuantizeOptions o;
  o.per_channel = true;
  o.calibration.random_count = 2;
  o.calibration.held_out = 1;
  o.calibration.shapes = {{"input", kShape}};
  o.min_cosine = 0;  // random weights and calibration: fidelity to fp32 is not this test's subject
  o.threads = 1;
  auto report = quant::quantize_model(fp32, int8, o);
  ASSERT_TRUE(report) << report.status().message();

  const Tensor x = testing::random_tensor(DataType::kFloat32, kShape, 5, -2.0f, 2.0f);
  const Tensor fused = run(int8, x);
  ASSERT_TRUE(write_npy(dir / "x.npy", x).is_ok());
  const std::string cmd = fmt::format("node {} {} {} input={} > {} 2>&1",
                                      (testing::source_dir() / "tests/ort_run.js").string(), int8.string(),
                                      (dir / "ort").string(), (dir / "x.npy").string(), (dir / "ort.log").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (see " << (dir / "ort.log") << ")";
  auto ort = read_npy(dir / "ort" / "logits.npy");
  ASSERT_TRUE(ort) << ort.status().message();
  ASSERT_EQ(fused.shape(), ort->shape());
  const double vs_ort = quant::cosine_similarity(fused, *ort);
  std::printf("%s int8 logits: cosine fused vs ONNX Runtime %.5f\n", GetParam().c_str(), vs_ort);
  EXPECT_GE(vs_ort, 0.998);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooInt8Test, ::testing::Values("resnet50", "mobilenetv3-large"), [](const auto& p) {
  std::string n = p.param;
  for (char& c : n) if (c == '-') c = '_';
  return n;
});

}  // namespace
}  // namespace ecoinfer
