// SessionOptions::precision = kBf16 on the real PaddleOCR models: outputs
// close to fp32 (cosine >= 0.99 per output, same class for cls), the bf16
// primitives really created (oneDNN reports "... bf16" kinds), and the
// outputs not bit-identical to fp32 (the option is not silently ignored).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

using quant::cosine_similarity;

struct Outputs {
  std::vector<NamedTensor> fp32, bf16;
};

Outputs run_both(const std::string& model, const std::string& shape) {
  const fs::path path = testing::models_dir() / (model + ".onnx");
  const fs::path input = testing::fixtures_dir() / "ort" / model / shape / "x.npy";
  Outputs out;
  if (!fs::exists(path) || !fs::exists(input)) {
    ADD_FAILURE() << path << " or " << input << " is missing: run scripts/fetch-models.sh and node scripts/make-fixtures.js";
    return out;
  }
  auto x = read_npy(input);
  EXPECT_TRUE(x) << x.status().message();
  if (!x) return out;
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    auto s = Session::load(path, {.threads = 2, .precision = p});
    EXPECT_TRUE(s) << s.status().message();
    if (!s) return out;
    auto y = (*s)->run({{(*s)->inputs()[0].name, *x}});
    EXPECT_TRUE(y) << y.status().message();
    if (!y) return out;
    (p == Precision::kFp32 ? out.fp32 : out.bf16) = std::move(*y);
  }
  return out;
}

void expect_close(const Outputs& o, const std::string& label) {
  ASSERT_EQ(o.fp32.size(), o.bf16.size()) << label;
  ASSERT_FALSE(o.fp32.empty()) << label;
  for (size_t i = 0; i < o.fp32.size(); ++i) {
    const Tensor& a = o.fp32[i].tensor;
    const Tensor& b = o.bf16[i].tensor;
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_GE(cosine_similarity(a, b), 0.99) << label << " output " << o.fp32[i].name;
    EXPECT_NE(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()), 0) << label << ": bf16 gave fp32's exact bits";
  }
}

bool bf16_primitives_created() {
  for (const auto& u : onednn_implementations_used())
    if (u.kind.find("bf16") != std::string::npos) return true;
  return false;
}

TEST(Bf16Precision, ClsKeepsTheClass) {
  for (const char* shape : {"1x3x48x192", "2x3x48x192"}) {
    const Outputs o = run_both("ch_ppocr_mobile_v2.0_cls_infer", shape);
    expect_close(o, shape);
    if (o.fp32.empty() || o.bf16.empty()) return;
    const Tensor& a = o.fp32[0].tensor;  // [N, 2] probabilities
    const Tensor& b = o.bf16[0].tensor;
    for (int64_t n = 0; n < a.dim(0); ++n) {
      const float* pa = a.data<float>() + n * a.dim(1);
      const float* pb = b.data<float>() + n * b.dim(1);
      EXPECT_EQ(std::max_element(pa, pa + a.dim(1)) - pa, std::max_element(pb, pb + b.dim(1)) - pb) << "image " << n;
    }
  }
  EXPECT_TRUE(bf16_primitives_created());
}

TEST(Bf16Precision, DetCloseToFp32) {
  expect_close(run_both("ch_PP-OCRv4_det_infer", "1x3x96x128"), "det");
  EXPECT_TRUE(bf16_primitives_created());
}

TEST(Bf16Precision, RecCloseToFp32) {
  expect_close(run_both("ch_PP-OCRv4_rec_infer", "1x3x48x320"), "rec");
  bool matmul_bf16 = false;
  for (const auto& u : onednn_implementations_used()) matmul_bf16 |= u.kind == "matmul bf16";
  EXPECT_TRUE(matmul_bf16) << "rec's MatMul/Gemm layers should run in bf16";
}

}  // namespace
}  // namespace ecoinfer
