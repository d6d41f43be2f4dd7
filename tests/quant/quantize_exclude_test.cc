// `ecoinfer quantize` keeping nodes fp32 on its own: --exclude-first N (the
// first N candidates in graph order) and --auto-exclude N (the nodes adding
// the most error, each kept fp32 only when the output improves), and the
// command-line rules of --pipeline ocr. On the real cls model with random
// data: seconds each.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

class QuantizeExclude : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    ASSERT_TRUE(fs::exists(model_)) << "models are missing: run scripts/fetch-models.sh";
    dir_ = testing::temp_dir("quantize_exclude");
  }
  // The JSON report (printed also when the command fails on fidelity).
  nlohmann::json quantize(const std::string& flags, int expected_exit) {
    const testing::CliOutcome o =
        testing::run_cli("quantize " + model_.string() + " --out " + (dir_ / "q.onnx").string() +
                         " --calibration-random 3 --shape x=1x3x48x192 --per-channel --threads 1 --json " + flags);
    EXPECT_EQ(o.exit_code, expected_exit) << o.err;
    auto j = nlohmann::json::parse(o.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out << o.err;
    return j;
  }
  fs::path model_, dir_;
};

bool names_layer(const nlohmann::json& report, const std::string& node) {
  for (const auto& l : report["layers"])
    if (l["node"] == node) return true;
  return false;
}

TEST_F(QuantizeExclude, ExcludeFirstKeepsTheEarliestNodesFp32) {
  const nlohmann::json all = quantize("", 0);
  const nlohmann::json tail = quantize("--exclude-first 10", 0);
  EXPECT_EQ(tail["excluded_nodes"], 10);
  EXPECT_EQ(tail["quantized_nodes"].get<int>(), all["quantized_nodes"].get<int>() - 10);
  EXPECT_TRUE(names_layer(all, "p2o.Conv.0"));
  EXPECT_FALSE(names_layer(tail, "p2o.Conv.0")) << "the first Conv is the first candidate";
  EXPECT_FALSE(names_layer(tail, "p2o.Conv.9"));
  EXPECT_TRUE(names_layer(tail, "p2o.Conv.10"));
}

TEST_F(QuantizeExclude, AutoExcludeOnlyKeepsNodesThatImproveTheOutput) {
  // An unreachable threshold: every try is made, and the command still fails.
  const nlohmann::json plain = quantize("--min-cosine 0.99999999", 1);
  const nlohmann::json automatic = quantize("--min-cosine 0.99999999 --auto-exclude 3", 1);
  const auto& kept = automatic["auto_excluded"];
  EXPECT_LE(kept.size(), 3u);
  EXPECT_EQ(automatic["excluded_nodes"].get<size_t>(), kept.size());
  EXPECT_EQ(automatic["quantized_nodes"].get<size_t>(), plain["quantized_nodes"].get<size_t>() - kept.size());
  EXPECT_GE(automatic["outputs"][0]["cosine"].get<double>(), plain["outputs"][0]["cosine"].get<double>());
  if (!kept.empty()) {
    EXPECT_GT(automatic["outputs"][0]["cosine"].get<double>(), plain["outputs"][0]["cosine"].get<double>());
  }
  for (const auto& node : kept) EXPECT_FALSE(names_layer(automatic, node.get<std::string>())) << node;
  // Each layer reports its inputs' cosine too: the error it adds itself is the difference.
  for (const auto& l : automatic["layers"]) EXPECT_LE(l["input_cosine"].get<double>(), 1.0);
}

TEST_F(QuantizeExclude, BadUses) {
  testing::CliOutcome o = testing::run_cli("quantize " + model_.string() + " --out " + (dir_ / "q.onnx").string() +
                                           " --mode dynamic --auto-exclude 2 --shape x=1x3x48x192");
  testing::expect_clean_failure(o, "--auto-exclude works in static mode only");
  o = testing::run_cli("quantize " + model_.string() + " --pipeline ocr --calibration " + dir_.string());
  EXPECT_EQ(o.exit_code, 2) << "--pipeline takes no MODEL: " << o.err;
  o = testing::run_cli("quantize --pipeline ocr --calibration " + (dir_ / "none").string() + " --models-dir " +
                       testing::models_dir().string() + " --out " + (dir_ / "int8").string());
  testing::expect_clean_failure(o, "is not a folder");
  o = testing::run_cli("quantize --pipeline ocr --calibration " + dir_.string() + " --models-dir " +
                       testing::models_dir().string() + " --out " + (dir_ / "int8").string());
  testing::expect_clean_failure(o, "give at least 3");
  o = testing::run_cli("quantize --pipeline tts --calibration " + dir_.string());
  EXPECT_EQ(o.exit_code, 2) << o.err;
}

}  // namespace
}  // namespace ecoinfer
