// `ecoinfer quantize` through the real binary: the JSON report, the exit code
// and one-line error when fidelity is under --min-cosine (naming layers), and
// bad command lines.
#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Outcome quantize(const std::string& args) {
  const fs::path dir = testing::temp_dir("quantize_cli_" + std::to_string(std::hash<std::string>{}(args)));
  const std::string cmd = "timeout 120 " + (fs::path(ECOINFER_BINARY_DIR) / "ecoinfer").string() + " quantize " + args +
                          " >" + (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(dir / "out"), slurp(dir / "err")};
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    if (!fs::exists(model_)) GTEST_SKIP() << "models are missing: run scripts/fetch-models.sh";
    dir_ = testing::temp_dir("quantize_cli");
  }
  fs::path model_, dir_;
};

TEST_F(QuantizeCli, JsonReportOnSuccess) {
  const Outcome o = quantize(model_.string() + " --out " + (dir_ / "q.onnx").string() +
                             " --calibration-random 4 --shape x=1x3x48x192 --per-channel --threads 1 --json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << o.out;
  EXPECT_EQ(j.at("mode"), "static");
  EXPECT_EQ(j.at("per_channel"), true);
  EXPECT_EQ(j.at("passed"), true);
  EXPECT_EQ(j.at("calibration_samples"), 4);
  EXPECT_GT(j.at("quantized_by_op").at("Conv").get<int>(), 40);
  EXPECT_GE(j.at("outputs").at(0).at("cosine").get<double>(), 0.99);
  EXPECT_FALSE(j.at("layers").empty());
  EXPECT_TRUE(fs::exists(dir_ / "q.onnx"));
  // Not a terminal: progress comes as plain lines on stderr.
  EXPECT_NE(o.err.find("calibrating 4/4"), std::string::npos) << o.err;
}

TEST_F(QuantizeCli, UnderMinCosineFailsNamingLayers) {
  const Outcome o = quantize(model_.string() + " --out " + (dir_ / "q.onnx").string() +
                             " --calibration-random 2 --shape x=1x3x48x192 --threads 1 --min-cosine 0.9999999");
  EXPECT_EQ(o.exit_code, 1) << o.err;
  const std::string line = last_line(o.err);
  EXPECT_EQ(line.rfind("ecoinfer: error: fidelity under --min-cosine", 0), 0u) << o.err;
  EXPECT_NE(line.find("worst layers: p2o."), std::string::npos) << line;
  EXPECT_NE(o.out.find("worst layers"), std::string::npos) << "the report is still printed:\n" << o.out;
}

TEST_F(QuantizeCli, BadCommandLines) {
  const std::string out = " --out " + (dir_ / "q.onnx").string();
  Outcome o = quantize(model_.string() + out + " --calibration-random 2");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(last_line(o.err).find("--shape x="), std::string::npos) << o.err;
  o = quantize(model_.string() + out + " --calibration-random 2 --shape x=1x3x48x192 --method kl");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("unknown --method 'kl'"), std::string::npos) << o.err;
  o = quantize(model_.string() + out + " --calibration " + (dir_ / "none").string() + " --calibration-random 2");
  // CLI11's own exit codes for a bad command line (main.cc returns app.exit()).
  EXPECT_GT(o.exit_code, 1) << "the two calibration sources exclude each other";
  EXPECT_NE(o.err.find("excludes"), std::string::npos) << o.err;
  o = quantize((dir_ / "missing.onnx").string() + out + " --calibration-random 2");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("missing.onnx"), std::string::npos) << o.err;
  o = quantize(model_.string());
  EXPECT_GT(o.exit_code, 1) << "--out is required";
  EXPECT_NE(o.err.find("--out"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace ecoinfer
