// The optimization pipeline on the three real PaddleOCR models: the
// optimized graph (optimize=true) gives the same outputs as the graph as
// written (optimize=false) within 1e-4 of the output's range, the same
// argmax over the last axis for the classifiers (cls, rec), and fewer
// nodes. Inputs are the ORT fixtures' x.npy. Prints the node counts.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

namespace fs = std::filesystem;

constexpr double kRangeTolerance = 1e-4;

struct ModelCase {
  const char* model;
  const char* shape;
  bool classifier;
};

class RealModelsEquivalence : public ::testing::TestWithParam<ModelCase> {};

// Argmax of each row of the last axis.
std::vector<int64_t> argmax_rows(const Tensor& t) {
  const int64_t n = t.shape().empty() ? 1 : t.shape().back();
  std::vector<int64_t> out;
  const float* p = t.data<float>();
  for (int64_t r = 0; n > 0 && r < t.numel() / n; ++r)
    out.push_back(std::max_element(p + r * n, p + (r + 1) * n) - (p + r * n));
  return out;
}

TEST_P(RealModelsEquivalence, SameOutputsFewerNodes) {
  const ModelCase c = GetParam();
  const fs::path path = models_dir() / (std::string(c.model) + ".onnx");
  ASSERT_TRUE(fs::exists(path)) << path << " is missing: run scripts/fetch-models.sh";
  auto x = read_npy(fixtures_dir() / "ort" / c.model / c.shape / "x.npy");
  ASSERT_TRUE(x.has_value()) << x.status().message();
  auto plain = Session::load(path, {.threads = 1, .optimize = false});
  auto optimized = Session::load(path, {.threads = 1, .optimize = true});
  ASSERT_TRUE(plain.has_value()) << plain.status().message();
  ASSERT_TRUE(optimized.has_value()) << optimized.status().message();
  const int64_t before = (*plain)->summary().node_count, after = (*optimized)->summary().node_count;
  std::printf("%s: %lld nodes as written, %lld optimized\n", c.model, static_cast<long long>(before),
              static_cast<long long>(after));
  EXPECT_LT(after, before);
  const std::vector<NamedTensor> inputs = {{(*plain)->inputs()[0].name, *x}};
  auto want = (*plain)->run(inputs, nullptr);
  auto got = (*optimized)->run(inputs, nullptr);
  ASSERT_TRUE(want.has_value()) << want.status().message();
  ASSERT_TRUE(got.has_value()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    const Tensor& a = (*got)[i].tensor;
    const Tensor& b = (*want)[i].tensor;
    EXPECT_EQ((*got)[i].name, (*want)[i].name);
    ASSERT_EQ(a.shape(), b.shape());
    ASSERT_EQ(a.dtype(), DataType::kFloat32);
    const auto [lo, hi] = std::minmax_element(b.data<float>(), b.data<float>() + b.numel());
    const double range = std::max(static_cast<double>(*hi - *lo), 1e-12);
    double worst = 0;
    for (int64_t k = 0; k < a.numel(); ++k)
      worst = std::max(worst, std::fabs(static_cast<double>(a.data<float>()[k]) - b.data<float>()[k]));
    std::printf("  output %s: max |optimized - plain| = %.3g (%.3g of the range)\n", (*got)[i].name.c_str(),
                worst, worst / range);
    EXPECT_LE(worst, kRangeTolerance * range) << (*got)[i].name;
    if (c.classifier) EXPECT_EQ(argmax_rows(a), argmax_rows(b)) << (*got)[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, RealModelsEquivalence,
                         ::testing::Values(ModelCase{"ch_ppocr_mobile_v2.0_cls_infer", "1x3x48x192", true},
                                           ModelCase{"ch_PP-OCRv4_det_infer", "1x3x160x224", false},
                                           ModelCase{"ch_PP-OCRv4_rec_infer", "1x3x48x320", true}),
                         [](const auto& info) {
                           const std::string m = info.param.model;
                           return m.find("cls") != std::string::npos   ? std::string("cls")
                                  : m.find("det") != std::string::npos ? std::string("det")
                                                                       : std::string("rec");
                         });

}  // namespace
}  // namespace ecoinfer::testing
