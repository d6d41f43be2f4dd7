// bench/compare-ort end to end on the smallest model: the script runs both
// engines and the peak GEMM and prints one JSON document with both latencies,
// a positive ratio and the measured peak. It asserts no speed: the figures
// depend on the machine and its load.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CompareOrt, QuickJsonRunHasBothLatenciesRatioAndPeak) {
  const fs::path src = testing::source_dir();
  const fs::path bin = testing::binary_dir();
  ASSERT_TRUE(fs::exists(src / "node_modules" / "onnxruntime-node" / "package.json")) << "onnxruntime-node is not installed (scripts/setup.sh)";
  ASSERT_EQ(std::system("node --version >/dev/null 2>&1"), 0) << "node is not on PATH (scripts/setup.sh)";
  ASSERT_TRUE(fs::exists(testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx")) << "models are missing: run scripts/fetch-models.sh";
  ASSERT_TRUE(fs::exists(bin / "bench" / "peak_gemm")) << "build the peak_gemm target";

  const fs::path dir = testing::temp_dir("compare_ort");
  const std::string cmd = "timeout 120 " + (src / "bench" / "compare-ort").string() +
                          " --quick --models cls --threads 1 --json --build-dir " + bin.string() + " >" +
                          (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << slurp(dir / "err");

  const auto doc = nlohmann::json::parse(slurp(dir / "out"), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "not JSON:\n" << slurp(dir / "out");
  ASSERT_EQ(doc.at("results").size(), 1u);
  const auto& r = doc["results"][0];
  EXPECT_EQ(r.at("model"), "cls");
  EXPECT_EQ(r.at("threads"), 1);
  EXPECT_GT(r.at("ecoinfer").at("p50_ms").get<double>(), 0.0);
  EXPECT_GT(r.at("ort").at("p50_ms").get<double>(), 0.0);
  EXPECT_GT(r.at("ratio").get<double>(), 0.0);
  EXPECT_GT(r.at("ecoinfer").at("peak_rss_bytes").get<double>(), 0.0);
  EXPECT_GT(r.at("ort").at("peak_rss_bytes").get<double>(), 0.0);
  EXPECT_GT(r.at("ecoinfer").at("flops_per_run").get<double>(), 0.0);
  EXPECT_GT(doc.at("peak").at("1").at("gflops_per_s").get<double>(), 0.0);
}

}  // namespace
}  // namespace ecoinfer
