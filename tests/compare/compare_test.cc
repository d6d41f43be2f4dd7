// `ecoinfer compare --quick` as a user runs it, on a small subset (the zoo's
// MobileNetV3 and the real PaddleOCR classifier): the table, a report.json
// with the documented schema, a report.html with its SVG charts. Plus the
// fidelity and recommendation rules on known inputs.

#include <cstdlib>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compare/measure.h"
#include "compare/recommend.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void expect_number(const json& j, const std::string& key) {
  ASSERT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j[key].is_number()) << key << ": " << j[key].dump();
}

TEST(CompareCli, QuickRunWritesTableJsonAndHtml) {
  const fs::path dir = testing::temp_dir("compare_quick");
  ASSERT_TRUE(fs::exists(testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx")) << "run scripts/fetch-models.sh";
  const std::string args = "compare --quick --models mobilenetv3-large,ppocr-cls --precisions fp32,bf16,int8 --threads 2 "
                           "--region FR --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() +
                           " --models-dir " + testing::models_dir().string();
  const testing::CliOutcome o = testing::run_cli(args, 600);  // a hang guard; the sanitizer build is slow
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const std::string& table = o.out;
  EXPECT_NE(table.find("| Figure | MobileNetV3-Large | PP-OCR cls (MobileNetV3) |"), std::string::npos) << table;
  EXPECT_NE(table.find("**fp32** Latency p50, batch 1 (ms)"), std::string::npos) << table;
  EXPECT_NE(table.find("**bf16** Fidelity vs fp32 (cosine / top-1)"), std::string::npos) << table;
  EXPECT_NE(table.find("**int8** Fidelity vs fp32 (cosine / top-1)"), std::string::npos) << table;
  // Which model and precision it names depends on this machine's timings
  // (the rules themselves are tested on fixed measurements below): here only
  // that it names a measured one with its p99.
  EXPECT_TRUE(std::regex_search(table, std::regex("- image classification: .*MobileNetV3-Large (fp32|bf16|int8) \\(p99 ")))
      << table;

  const json r = json::parse(slurp(dir / "out" / "report.json"));
  EXPECT_EQ(r["schema"], "ecoinfer.compare/1");
  for (const char* key : {"generated_at", "command", "meter", "baseline"}) EXPECT_TRUE(r[key].is_string()) << key;
  EXPECT_TRUE(r["quick"].get<bool>());
  EXPECT_EQ(r["threads"], 2);
  EXPECT_EQ(r["carbon"]["region"], "FR");
  expect_number(r["carbon"], "g_per_kwh");
  EXPECT_TRUE(r["host"]["cpu_model"].is_string());
  ASSERT_TRUE(r["recommendations"].is_array());
  ASSERT_EQ(r["results"].size(), 6u);  // 2 models x 3 precisions
  int measured = 0;
  for (const json& m : r["results"]) {
    for (const char* key : {"model", "display_name", "family", "precision", "reason", "weights"})
      EXPECT_TRUE(m[key].is_string()) << key;
    ++measured;
    ASSERT_TRUE(m["available"].get<bool>()) << m["reason"];
    for (const char* key : {"parameters", "file_bytes", "flops_per_inference", "peak_memory_bytes", "mg_co2e_per_inference",
                            "relative_energy"})
      expect_number(m, key);
    EXPECT_GT(m["parameters"].get<int64_t>(), 100'000);
    EXPECT_GT(m["flops_per_inference"].get<int64_t>(), 1'000'000);
    EXPECT_GT(m["latency_ms"]["p50"].get<double>(), 0);
    EXPECT_GE(m["latency_ms"]["p99"].get<double>(), m["latency_ms"]["p50"].get<double>());
    EXPECT_GE(m["latency_ms"]["iterations"].get<int>(), 3);
    EXPECT_GT(m["energy"]["joules_per_inference"].get<double>(), 0);
    EXPECT_EQ(m["energy"]["method"], "estimated:cpu-time");
    ASSERT_EQ(m["throughput"].size(), 1u);  // --quick: batch 8 only
    EXPECT_EQ(m["throughput"][0]["batch"], 8);
    EXPECT_GT(m["throughput"][0]["items_per_second"].get<double>(), 0);
    if (m["precision"] == "fp32") {
      EXPECT_TRUE(m["fidelity"].is_null());  // fp32 is the reference
    } else {
      // bf16's or the int8 file's output against fp32's on the same input.
      const double cosine = m["fidelity"]["cosine"].get<double>();
      const double top1 = m["fidelity"]["top1_agreement"].get<double>();
      EXPECT_GT(cosine, 0.5);
      EXPECT_LE(cosine, 1.0 + 1e-9);
      EXPECT_GE(top1, 0.0);
      EXPECT_LE(top1, 1.0);
      if (m["precision"] == "int8") {
        EXPECT_NE(m["file"].get<std::string>().find(".int8.onnx"), std::string::npos);
      }
    }
  }
  EXPECT_EQ(measured, 6);
  // MobileNetV3 is the first fp32 result: the baseline when BERT is absent.
  EXPECT_EQ(r["baseline"], "MobileNetV3-Large fp32");
  EXPECT_DOUBLE_EQ(r["results"][0]["relative_energy"].get<double>(), 1.0);

  const std::string html = slurp(dir / "out" / "report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<circle"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "self-contained: no scripts";
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "no external resources";
}

TEST(CompareCli, BadModelOrPrecisionIsAOneLineError) {
  const fs::path dir = testing::temp_dir("compare_errors");
  testing::expect_clean_failure(testing::run_cli("compare --models resnet51 --out " + (dir / "o").string()),
                                "--models: unknown model 'resnet51'");
  testing::expect_clean_failure(testing::run_cli("compare --precisions fp16 --out " + (dir / "o").string()),
                                "unknown precision 'fp16'");
}

TEST(CompareCli, AMissingModelFileIsReportedNotMeasured) {
  const fs::path dir = testing::temp_dir("compare_missing");
  fs::create_directories(dir / "empty");
  const testing::CliOutcome o = testing::run_cli("compare --quick --models ppocr-cls --precisions fp32 --json --out " +
                                                 (dir / "o").string() + " --models-dir " + (dir / "empty").string());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const json r = json::parse(slurp(dir / "o" / "report.json"));
  ASSERT_EQ(r["results"].size(), 1u);
  EXPECT_FALSE(r["results"][0]["available"].get<bool>());
  EXPECT_NE(r["results"][0]["reason"].get<std::string>().find("scripts/fetch-models.sh"), std::string::npos);
  EXPECT_FALSE(r["results"][0].contains("energy")) << "no figures for what was not measured";
  EXPECT_EQ(r["baseline"], "");
}

compare::Measurement measured(const std::string& model, const std::string& task, double p99_ms, double joules) {
  compare::Measurement m;
  m.model = model;
  m.display_name = model;
  m.task = task;
  m.precision = "fp32";
  m.available = true;
  m.p99_ms = p99_ms;
  m.joules_per_inference = joules;
  return m;
}

TEST(CompareRecommendation, LeastEnergyWithinTheLatencyTargetAndBudget) {
  compare::CompareReport r;
  r.latency_target_ms = 50;
  r.results = {measured("bert-base", "text encoding", 120, 2.0), measured("distilbert-base", "text encoding", 60, 1.0),
               measured("resnet50", "image classification", 40, 0.5),
               measured("mobilenetv3-large", "image classification", 8, 0.05)};
  compare::set_relative_energy(r);
  EXPECT_EQ(r.baseline, "bert-base fp32");
  EXPECT_DOUBLE_EQ(*r.results[1].relative_energy, 0.5);
  auto lines = compare::recommend(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("nothing measured meets p99 <= 50 ms; the fastest is distilbert-base fp32"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("image classification: mobilenetv3-large fp32"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("10.0x less energy than resnet50 fp32"), std::string::npos) << lines[1];
  r.energy_budget_mj = 10;  // 0.05 J = 50 mJ is over it
  EXPECT_NE(compare::recommend(r)[1].find("nothing measured meets"), std::string::npos);
}

}  // namespace
}  // namespace ecoinfer
