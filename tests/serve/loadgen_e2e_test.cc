// End to end: the real `ecoinfer serve` process with the real PaddleOCR cls
// model on a free loopback port, measured by the real `ecoinfer loadgen`
// process, JSON and binary. Asserts the report is sane: work was done, no
// errors, ordered percentiles, shares in [0, 1], estimated energy > 0, and
// the client and server agree on how many requests were answered.
#include <cstdlib>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kCli = testing::cli_path();

class LoadgenEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path model = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    ASSERT_TRUE(fs::exists(model)) << model << " missing: run scripts/fetch-models.sh";
    dir_ = testing::temp_dir("loadgen_e2e");
    fs::create_directories(dir_ / "repo" / "cls" / "1");
    fs::copy_file(model, dir_ / "repo" / "cls" / "1" / "model.onnx");
    fs::create_directories(dir_ / "repo" / "cls_cached" / "1");  // the same model with the response cache on
    fs::copy_file(model, dir_ / "repo" / "cls_cached" / "1" / "model.onnx");
    std::ofstream(dir_ / "repo" / "cls_cached" / "config.json") << R"({"max_batch_size": 8, "response_cache": true})";
    ASSERT_TRUE(server_.start({kCli.string(), "serve", "--model-repository", (dir_ / "repo").string(), "--http-port",
                               "0", "--http-address", "127.0.0.1", "--threads", "1"}));
    const std::string prefix = "ecoinfer serve: listening on ";
    for (int lines = 0; lines < 50 && url_.empty(); ++lines) {
      auto line = server_.read_line(60s);
      ASSERT_TRUE(line) << "the server printed no 'listening' line within 60 s";
      if (line->rfind(prefix, 0) == 0) url_ = line->substr(prefix.size());
    }
    ASSERT_FALSE(url_.empty());
  }

  fs::path dir_;
  testing::SpawnedProcess server_;
  std::string url_;
};

void expect_sane_levels(const nlohmann::json& report, const std::vector<int>& concurrency) {
  ASSERT_EQ(report["levels"].size(), concurrency.size()) << report.dump(2);
  for (size_t i = 0; i < concurrency.size(); ++i) {
    const nlohmann::json& l = report["levels"][i];
    SCOPED_TRACE("concurrency " + std::to_string(concurrency[i]) + ": " + l.dump());
    EXPECT_EQ(l["concurrency"], concurrency[i]);
    EXPECT_GT(l["requests"].get<double>(), 0);
    EXPECT_EQ(l["errors"], 0);
    EXPECT_GT(l["throughput_infer_per_s"].get<double>(), 0);
    const auto& ms = l["latency_ms"];
    EXPECT_GT(ms["p50"].get<double>(), 0);
    EXPECT_LE(ms["p50"].get<double>(), ms["p90"].get<double>());
    EXPECT_LE(ms["p90"].get<double>(), ms["p99"].get<double>());
    EXPECT_LE(ms["p99"].get<double>(), ms["max"].get<double>());
    const auto& s = l["server"];
    ASSERT_TRUE(s.is_object()) << "no server figures: " << report.value("metrics_note", "");
    // The server also counted each client's untimed warm-up request.
    EXPECT_GE(s["requests"].get<double>(), l["requests"].get<double>());
    EXPECT_LE(s["requests"].get<double>(), l["requests"].get<double>() + 2 * concurrency[i]);
    for (const char* share : {"queue_share", "compute_share"}) {
      ASSERT_TRUE(s[share].is_number()) << share;
      EXPECT_GE(s[share].get<double>(), 0) << share;
      EXPECT_LE(s[share].get<double>(), 1) << share;
    }
    EXPECT_GT(s["compute_share"].get<double>(), 0);
    ASSERT_TRUE(s["energy_joules_per_inference"].is_number());
    EXPECT_GT(s["energy_joules_per_inference"].get<double>(), 0);
    EXPECT_GT(s["energy_joules_per_request"].get<double>(), 0);
    EXPECT_EQ(s["energy_method"], "estimated:cpu-time");
    ASSERT_TRUE(s["carbon_mg_per_inference"].is_number());
    EXPECT_GT(s["carbon_mg_per_inference"].get<double>(), 0);
  }
}

TEST_F(LoadgenEndToEnd, JsonAndBinaryRunsReportSaneFigures) {
  testing::CliOutcome json = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x3x48x192 --concurrency 1,4 --duration 1 --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto report = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << json.out;
  EXPECT_EQ(report["model"], "cls");
  EXPECT_EQ(report["inputs"][0]["name"], "x");
  EXPECT_EQ(report["inputs"][0]["datatype"], "FP32");
  expect_sane_levels(report, {1, 4});

  testing::CliOutcome binary = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=2x3x48x192 --concurrency 2 --duration 1 --binary --json");
  ASSERT_EQ(binary.exit_code, 0) << binary.err;
  auto binary_report = nlohmann::json::parse(binary.out, nullptr, false);
  ASSERT_FALSE(binary_report.is_discarded()) << binary.out;
  EXPECT_EQ(binary_report["binary"], true);
  EXPECT_EQ(binary_report["inferences_per_request"], 2);
  expect_sane_levels(binary_report, {2});
}

// One distinct body against a model with the response cache on: after the
// first request everything is a hit, and the report shows it.
TEST_F(LoadgenEndToEnd, ServerCacheHitsShowInTheReport) {
  testing::CliOutcome run = testing::run_cli("loadgen --url " + url_ + " --model cls_cached --shape x=1x3x48x192 --distinct-inputs 1 "
                       "--duration 0.5 --binary --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.out;
  const auto& l = report["levels"][0];
  ASSERT_TRUE(l["server"].is_object()) << run.out;
  EXPECT_EQ(l["errors"], 0);
  EXPECT_GT(l["requests"].get<double>(), 1);
  // Only the warm-up request (first of its body) can miss.
  EXPECT_GE(l["server"]["cache_hits"].get<double>(), l["requests"].get<double>()) << run.out;
  EXPECT_LE(l["server"]["inferences"].get<double>(), 1) << run.out;
}

TEST_F(LoadgenEndToEnd, TableAndClearErrors) {
  testing::CliOutcome table = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x3x48x192 --duration 0.5");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("concurrency"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("estimated:cpu-time"), std::string::npos) << table.out;

  testing::CliOutcome unknown = testing::run_cli("loadgen --url " + url_ + " --model no_such_model --duration 0.5");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("ecoinfer: error: GET /v2/models/no_such_model answered 404"), std::string::npos) << unknown.err;

  testing::CliOutcome dynamic = testing::run_cli("loadgen --url " + url_ + " --model cls --duration 0.5");
  EXPECT_EQ(dynamic.exit_code, 1);
  EXPECT_NE(dynamic.err.find("--shape x="), std::string::npos) << dynamic.err;

  // Given data instead of random: its shape is the request's; a name the model lacks is refused.
  ASSERT_TRUE(write_npy(dir_ / "x.npy", testing::random_tensor(DataType::kFloat32, {1, 3, 48, 96}, 3)).is_ok());
  testing::CliOutcome given = testing::run_cli("loadgen --url " + url_ + " --model cls --input x=" + (dir_ / "x.npy").string() +
                         " --duration 0.5 --json");
  ASSERT_EQ(given.exit_code, 0) << given.err;
  auto given_report = nlohmann::json::parse(given.out, nullptr, false);
  ASSERT_FALSE(given_report.is_discarded()) << given.out;
  EXPECT_EQ(given_report["inputs"][0]["shape"], nlohmann::json({1, 3, 48, 96}));
  EXPECT_EQ(given_report["levels"][0]["errors"], 0);
  EXPECT_GT(given_report["levels"][0]["requests"].get<double>(), 0);
  testing::CliOutcome misnamed = testing::run_cli("loadgen --url " + url_ + " --model cls --input image=" + (dir_ / "x.npy").string() +
                            " --duration 0.5");
  EXPECT_EQ(misnamed.exit_code, 1);
  EXPECT_NE(misnamed.err.find("no input called 'image' (its inputs: x)"), std::string::npos) << misnamed.err;

  // A shape the model rejects (3 channels are fixed): every request fails, and the report counts them.
  testing::CliOutcome wrong = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x4x48x192 --duration 0.5 --json");
  ASSERT_EQ(wrong.exit_code, 0) << wrong.err;
  auto report = nlohmann::json::parse(wrong.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << wrong.out;
  EXPECT_EQ(report["levels"][0]["requests"], 0);
  EXPECT_GT(report["levels"][0]["errors"].get<double>(), 0);
  EXPECT_TRUE(report["levels"][0]["error_kinds"].contains("HTTP 400")) << wrong.out;
}


// No /dev/shm segment of this loadgen's kind is left (the test runs one loadgen at a time).
std::vector<std::string> loadgen_segments() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator("/dev/shm"))
    if (e.path().filename().string().rfind("ecoinfer_loadgen_", 0) == 0) names.push_back(e.path().filename());
  return names;
}

// --shared-memory system: the loadgen creates and registers its segments,
// checks once that the outputs in shared memory equal a binary request's
// (it exits 1 otherwise), reports like binary mode plus the server overhead
// per request, and leaves no segment and no registered region behind.
TEST_F(LoadgenEndToEnd, SharedMemoryRunMatchesBinaryAndCleansUp) {
  for (const char* mode : {"--shared-memory system", "--binary"}) {
    SCOPED_TRACE(mode);
    testing::CliOutcome run = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x3x48x192 --concurrency 1,3 "
                                               "--duration 0.5 --json " + mode);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    auto report = nlohmann::json::parse(run.out, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << run.out;
    EXPECT_EQ(report["shared_memory"], std::string(mode) == "--binary" ? "none" : "system");
    expect_sane_levels(report, {1, 3});
    for (const auto& l : report["levels"]) {
      ASSERT_TRUE(l["server_overhead_p50_ms"].is_number()) << l.dump();
      EXPECT_GT(l["server_compute_p50_ms"].get<double>(), 0);
      EXPECT_LT(l["server_compute_p50_ms"].get<double>(), l["latency_ms"]["max"].get<double>());
      EXPECT_GT(l["server_overhead_share_p50"].get<double>(), 0);
      EXPECT_LT(l["server_overhead_share_p50"].get<double>(), 1);
    }
    EXPECT_TRUE(loadgen_segments().empty()) << loadgen_segments().front();
  }
  testing::CliOutcome table = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x3x48x192 --duration 0.3 "
                                               "--shared-memory system");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("system shared memory data"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("overhead = latency - the server's compute_seconds"), std::string::npos) << table.out;
  testing::CliOutcome status = testing::run_command("curl -s " + url_ + "/v2/systemsharedmemory/status");
  EXPECT_EQ(status.out, "[]") << "regions left registered";

  testing::CliOutcome bad = testing::run_cli("loadgen --url " + url_ + " --model cls --shape x=1x3x48x192 --shared-memory posix");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

// A server without the extension (here Python's static file server, which
// answers the model metadata from a file but has no /v2 extensions list).
TEST_F(LoadgenEndToEnd, SharedMemoryNeedsTheServerExtension) {
  fs::create_directories(dir_ / "static" / "v2" / "models");
  std::ofstream(dir_ / "static" / "v2" / "models" / "cls")
      << R"({"name": "cls", "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192]}], "outputs": []})";
  testing::SpawnedProcess files;
  ASSERT_TRUE(files.start({"python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                           (dir_ / "static").string()}));
  std::string port;
  for (int lines = 0; lines < 5 && port.empty(); ++lines) {
    auto line = files.read_line(20s);
    ASSERT_TRUE(line) << "python3 -m http.server printed no 'Serving' line";
    std::smatch m;
    if (std::regex_search(*line, m, std::regex("port ([0-9]+)"))) port = m[1];
  }
  testing::CliOutcome run = testing::run_cli("loadgen --url http://127.0.0.1:" + port + " --model cls --duration 0.3 "
                                             "--shared-memory system");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.err.find("does not offer Triton's system shared memory extension"), std::string::npos) << run.err;
  EXPECT_TRUE(loadgen_segments().empty());
}

}  // namespace
}  // namespace ecoinfer::serve
