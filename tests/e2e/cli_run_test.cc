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

std::string cli() { return (fs::path(ECOINFER_BINARY_DIR) / "ecoinfer").string(); }

int run(const std::string& args, const fs::path& out) {
  const int status = std::system(("timeout 120 " + cli() + " " + args + " >" + out.string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliRun, OptimizedAndUnoptimizedRunsAgree) {
  const fs::path dir = testing::temp_dir("cli_run_optimize");
  const fs::path model = testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx";
  const fs::path x = testing::fixtures_dir() / "ort/ch_PP-OCRv4_rec_infer/1x3x48x320/x.npy";
  ASSERT_TRUE(fs::exists(model)) << "run scripts/fetch-models.sh";
  ASSERT_EQ(run("run " + model.string() + " --input x=" + x.string() + " --output-dir " + (dir / "opt").string(), dir / "log1"), 0);
  ASSERT_EQ(run("run " + model.string() + " --no-optimize --input x=" + x.string() + " --output-dir " + (dir / "plain").string(), dir / "log2"), 0);
  auto a = read_npy(dir / "opt" / "softmax_11.tmp_0.npy");
  auto b = read_npy(dir / "plain" / "softmax_11.tmp_0.npy");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(testing::tensors_close(*a, *b, 1e-3, 1e-4));
}

TEST(CliInfo, NoOptimizeShowsTheGraphAsWritten) {
  const fs::path dir = testing::temp_dir("cli_info_optimize");
  const std::string model = (testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx").string();
  ASSERT_EQ(run("info " + model + " --shape x=1x3x48x320 --json", dir / "opt.json"), 0);
  ASSERT_EQ(run("info " + model + " --shape x=1x3x48x320 --json --no-optimize", dir / "plain.json"), 0);
  std::ifstream opt(dir / "opt.json"), plain(dir / "plain.json");
  const auto jo = nlohmann::json::parse(opt), jp = nlohmann::json::parse(plain);
  EXPECT_EQ(jp["nodes"].get<int>(), 440);  // the file's nodes, less its 325 Constant nodes
  EXPECT_LT(jo["nodes"].get<int>(), jp["nodes"].get<int>());
  EXPECT_GT(jo["flops"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace ecoinfer
