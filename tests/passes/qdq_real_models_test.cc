// The real PaddleOCR models, quantized by `ecoinfer quantize`'s library
// (static QDQ, per-channel, 2 random calibration samples), run with the
// QDQ fusion (int8 oneDNN convolutions) against:
//   - the same file unfused (optimize=false: the QDQ graph's literal
//     meaning on the reference kernels): the fusion must not change results
//     beyond int8 rounding ties;
//   - ONNX Runtime 1.30 on the same file (tests/ort_run.js);
//   - the fp32 model: the cosine is printed, not asserted: with random
//     calibration data it measures the calibration (the quantize tool's
//     tests hold fidelity on real calibration data), not this runtime.
#include <cmath>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "quant/quantize.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

using quant::cosine_similarity;

struct Case {
  const char* model;
  const char* shape;  // fixture folder under tests/fixtures/ort/<model>/
  Shape dims;
};

std::vector<NamedTensor> run(const fs::path& model, const Tensor& x, bool optimize) {
  auto s = Session::load(model, {.threads = 1, .optimize = optimize});
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  auto y = (*s)->run({{(*s)->inputs()[0].name, x}});
  EXPECT_TRUE(y) << y.status().message();
  return y ? *y : std::vector<NamedTensor>{};
}

void check(const Case& c) {
  const fs::path fp32 = testing::models_dir() / (std::string(c.model) + ".onnx");
  const fs::path input = testing::fixtures_dir() / "ort" / c.model / c.shape / "x.npy";
  ASSERT_TRUE(fs::exists(fp32) && fs::exists(input)) << fp32 << " or " << input << " is missing (scripts/setup.sh)";
  const fs::path dir = testing::temp_dir(std::string("qdq_real_") + c.model);
  const fs::path int8 = dir / "model.int8.onnx";
  quant::QuantizeOptions o;
  o.per_channel = true;
  o.calibration.random_count = 2;
  o.calibration.held_out = 1;
  o.calibration.shapes = {{"x", c.dims}};
  o.min_cosine = 0;  // the floor is checked below, on the fixture input
  o.threads = 1;
  auto report = quant::quantize_model(fp32, int8, o);
  ASSERT_TRUE(report) << report.status().message();
  // det's head: both ConvTranspose run int8 too (fused like the Convs).
  if (std::string(c.model) == "ch_PP-OCRv4_det_infer") EXPECT_EQ(report->quantized_by_op["ConvTranspose"], 2);

  auto x = read_npy(input);
  ASSERT_TRUE(x) << x.status().message();
  const auto fused = run(int8, *x, true), unfused = run(int8, *x, false), reference = run(fp32, *x, true);
  ASSERT_FALSE(fused.empty() || unfused.empty() || reference.empty());

  ASSERT_TRUE(write_npy(dir / "x.npy", *x).is_ok());
  const std::string cmd = "node " + (testing::source_dir() / "tests/ort_run.js").string() + " " + int8.string() +
                          " " + (dir / "ort").string() + " x=" + (dir / "x.npy").string() + " > " +
                          (dir / "ort.log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (see " << (dir / "ort.log") << ")";

  for (size_t i = 0; i < fused.size(); ++i) {
    const std::string& name = fused[i].name;
    std::string file = name;
    for (char& ch : file)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) ch = '_';
    auto ort = read_npy(dir / "ort" / (file + ".npy"));
    ASSERT_TRUE(ort) << ort.status().message();
    const double vs_unfused = cosine_similarity(fused[i].tensor, unfused[i].tensor);
    const double vs_ort = cosine_similarity(fused[i].tensor, *ort);
    const double vs_fp32 = cosine_similarity(fused[i].tensor, reference[i].tensor);
    std::printf("%s %s: cosine int8 fused vs unfused %.5f, vs ONNX Runtime %.5f, vs fp32 %.5f\n", c.model,
                name.c_str(), vs_unfused, vs_ort, vs_fp32);
    EXPECT_GE(vs_unfused, 0.999) << name;
    EXPECT_GE(vs_ort, 0.999) << name;
  }
}

TEST(QdqRealModels, Cls) { check({"ch_ppocr_mobile_v2.0_cls_infer", "1x3x48x192", {1, 3, 48, 192}}); }
TEST(QdqRealModels, Rec) { check({"ch_PP-OCRv4_rec_infer", "1x3x48x160", {1, 3, 48, 160}}); }
TEST(QdqRealModels, Det) { check({"ch_PP-OCRv4_det_infer", "1x3x96x128", {1, 3, 96, 128}}); }

}  // namespace
}  // namespace ecoinfer
