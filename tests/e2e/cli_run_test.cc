// `ecoinfer run` and `info` as a user runs them, with and without the graph
// optimizations: same outputs, fewer nodes when optimized.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

TEST(CliRun, OptimizedAndUnoptimizedRunsAgree) {
  const fs::path dir = testing::temp_dir("cli_run_optimize");
  const fs::path model = testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx";
  const fs::path x = testing::fixtures_dir() / "ort/ch_PP-OCRv4_rec_infer/1x3x48x320/x.npy";
  ASSERT_TRUE(fs::exists(model)) << "run scripts/fetch-models.sh";
  const std::string run = "run " + model.string() + " --input x=" + x.string();
  const testing::CliOutcome optimized = testing::run_cli(run + " --output-dir " + (dir / "opt").string());
  ASSERT_EQ(optimized.exit_code, 0) << optimized.err;
  const testing::CliOutcome plain = testing::run_cli(run + " --no-optimize --output-dir " + (dir / "plain").string());
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto a = read_npy(dir / "opt" / "softmax_11.tmp_0.npy");
  auto b = read_npy(dir / "plain" / "softmax_11.tmp_0.npy");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(testing::tensors_close(*a, *b, 1e-3, 1e-4));
}

TEST(CliInfo, NoOptimizeShowsTheGraphAsWritten) {
  const std::string model = (testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx").string();
  const testing::CliOutcome opt = testing::run_cli("info " + model + " --shape x=1x3x48x320 --json");
  const testing::CliOutcome plain = testing::run_cli("info " + model + " --shape x=1x3x48x320 --json --no-optimize");
  ASSERT_EQ(opt.exit_code, 0) << opt.err;
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto jo = nlohmann::json::parse(opt.out), jp = nlohmann::json::parse(plain.out);
  EXPECT_EQ(jp["nodes"].get<int>(), 440);  // the file's nodes, less its 325 Constant nodes
  EXPECT_LT(jo["nodes"].get<int>(), jp["nodes"].get<int>());
  EXPECT_GT(jo["flops"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace ecoinfer
