// End to end: the real `ecoinfer serve` process keeps its OpenMP threads at
// what its config asks, however many HTTP connections send requests.
//
// libgomp gives every thread that opens a parallel region its own team of
// workers, and once it manages more threads than there are CPUs it spins
// only 100 iterations before sleeping on a futex, so each of a model's
// hundreds of barriers pays a wake-up (rec served in 12-20 ms against 7.3 ms
// with one team; docs/PERFORMANCE.md, "Compute inside the server"). So all
// of a model's compute runs on its instances' worker threads: a team per
// instance, created once. When a request ran on the HTTP thread that read it,
// each I/O thread grew a team of its own and this count went up.
#include <dirent.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int thread_count(pid_t pid) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) n += e.is_directory();
  return n;
}

TEST(ServeThreads, OpenMpThreadsStayAtTheConfiguredCountAcrossConnections) {
  const fs::path model = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
  ASSERT_TRUE(fs::exists(model)) << model << " missing: run scripts/fetch-models.sh";
  const fs::path dir = testing::temp_dir("serve_threads_e2e");
  for (const char* name : {"cls", "cls_two"}) {
    fs::create_directories(dir / "repo" / name / "1");
    fs::create_symlink(model, dir / "repo" / name / "1" / "model.onnx");
  }
  std::ofstream(dir / "repo" / "cls" / "config.json") << R"({"threads": 2})";
  std::ofstream(dir / "repo" / "cls_two" / "config.json") << R"({"threads": 2, "instance_count": 2})";

  testing::SpawnedProcess server;
  const int port = testing::start_serve(server, testing::cli_path().string(), (dir / "repo").string(),
                                        {"--io-threads", "2"}, 60s);
  ASSERT_GT(port, 0) << "the server did not start";
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const char* name : {"cls", "cls_two"}) {
    // Four connections at once, spread over both I/O threads.
    testing::CliOutcome run = testing::run_cli("loadgen --url " + url + " --model " + name +
                                               " --shape x=1x3x48x192 --concurrency 1,4 --duration 0.5 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    // Keep the parsed document alive: a range-for over parse(...)["levels"]
    // would iterate a member of a temporary destroyed before the loop body.
    const nlohmann::json report = nlohmann::json::parse(run.out);
    for (const auto& level : report["levels"]) {
      EXPECT_GT(level["requests"].get<double>(), 0);
      EXPECT_EQ(level["errors"], 0);
    }
  }
  // main (also an I/O thread) + 1 more I/O thread; per instance a worker and
  // its one OpenMP helper: cls 1 x 2, cls_two 2 x 2.
  const int expected = 2 + 1 * 2 + 2 * 2;
  EXPECT_LE(thread_count(server.pid()), expected)
      << "more threads than 2 I/O threads + instances x threads: a request's compute ran off its model's worker";
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ecoinfer::serve
