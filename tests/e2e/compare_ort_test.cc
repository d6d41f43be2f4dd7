// bench/compare-ort end to end on the smallest model: the script runs both
// engines and the peak GEMM and prints one JSON document with both latencies,
// a positive ratio and the measured peak; a zoo model is built on first use;
// the ONNX Runtime side feeds each input in the type the model declares
// (int64 token ids for the transformers). It asserts no speed: the figures
// depend on the machine and its load.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model_builder.h"
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

TEST(CompareOrt, ZooModelIsBuiltOnceThenCompared) {
  const fs::path src = testing::source_dir();
  const fs::path bin = testing::binary_dir();
  ASSERT_TRUE(fs::exists(bin / "bench" / "peak_gemm")) << "build the peak_gemm target";
  const fs::path dir = testing::temp_dir("compare_ort_zoo");
  const std::string cmd = "timeout 300 " + (src / "bench" / "compare-ort").string() +
                          " --quick --models mobilenetv3 --threads 1 --json --build-dir " + bin.string() +
                          " --zoo-dir " + (dir / "zoo").string() + " >" + (dir / "out").string() + " 2>" +
                          (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << slurp(dir / "err");
  EXPECT_TRUE(fs::exists(dir / "zoo" / "mobilenetv3-large-seed0.onnx"));

  const auto doc = nlohmann::json::parse(slurp(dir / "out"), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "not JSON:\n" << slurp(dir / "out");
  ASSERT_EQ(doc.at("results").size(), 1u);
  const auto& r = doc["results"][0];
  EXPECT_EQ(r.at("model"), "mobilenetv3");
  EXPECT_EQ(r.at("shape"), "input=1x3x224x224");
  EXPECT_EQ(r.at("weights"), "synthetic (ecoinfer zoo)");
  EXPECT_GT(r.at("ecoinfer").at("p50_ms").get<double>(), 0.0);
  EXPECT_GT(r.at("ort").at("p50_ms").get<double>(), 0.0);
  // ResNet-like FLOPs: MobileNetV3-Large is about 0.22 GMAC at 224x224.
  EXPECT_GT(r.at("ecoinfer").at("flops_per_run").get<double>(), 0.3e9);
}

// ids: int64 [1, 4] -> Cast to float -> + x: float [1, 4] -> y. ONNX Runtime
// refuses a float32 tensor for an int64 input, so this passes only when
// ort_bench.js reads each input's type from the model.
TEST(OrtBench, FeedsEachInputInTheTypeTheModelDeclares) {
  const fs::path dir = testing::temp_dir("ort_bench_int64");
  testing::ModelBuilder b(13);
  b.input("ids", onnx::TensorProto::INT64, {1, 4});
  b.input("x", onnx::TensorProto::FLOAT, {1, 4});
  testing::set_int(b.node("Cast", {"ids"}, {"ids_f"}), "to", onnx::TensorProto::FLOAT);
  b.node("Add", {"ids_f", "x"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {1, 4});
  b.save(dir / "mixed.onnx");

  const auto outcome = testing::run_command("node " + (testing::source_dir() / "bench" / "ort_bench.js").string() + " " +
                                            (dir / "mixed.onnx").string() +
                                            " --shape ids=1x4 --shape x=1x4 --warmup 1 --iters 2");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const auto doc = nlohmann::json::parse(outcome.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << outcome.out;
  EXPECT_GT(doc.at("p50_ms").get<double>(), 0.0);
  EXPECT_EQ(doc.at("shapes"), "ids=1x4 x=1x4");
}

}  // namespace
}  // namespace ecoinfer
