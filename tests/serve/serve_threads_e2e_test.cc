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
#include <sched.h>

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
  // At most: main (also an I/O thread) + 1 more I/O thread; per instance a
  // compute thread and its one OpenMP helper: cls 1 x 2, cls_two 2 x 2.
  // Models share compute lanes (serve/compute_lanes.h), so fewer on small
  // machines: the next test checks that.
  const int expected = 2 + 1 * 2 + 2 * 2;
  EXPECT_LE(thread_count(server.pid()), expected)
      << "more threads than 2 I/O threads + instances x threads: a request's compute ran off its model's worker";
  EXPECT_EQ(server.stop(), 0);
}

// Two 2-thread models on a server limited to 2 CPUs: one OpenMP team for
// both, so libgomp never manages more threads than CPUs (with a worker per
// model it had two teams, and rec computed in 12 ms instead of 7:
// docs/PERFORMANCE.md, "Compute lanes").
TEST(ServeThreads, TwoMultiThreadedModelsShareOneTeamOnTwoCpus) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (CPU_COUNT(&mine) < 2) GTEST_SKIP() << "needs 2 CPUs";
  cpu_set_t two;  // the first two CPUs this test may use; the server inherits them
  CPU_ZERO(&two);
  for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < 2; ++cpu) {
    if (CPU_ISSET(cpu, &mine)) {
      CPU_SET(cpu, &two);
      ++taken;
    }
  }

  const fs::path model = testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx";
  ASSERT_TRUE(fs::exists(model)) << model << " missing: run scripts/fetch-models.sh";
  const fs::path dir = testing::temp_dir("serve_threads_two_models");
  for (const char* name : {"cls", "cls_b"}) {
    fs::create_directories(dir / "repo" / name / "1");
    fs::create_symlink(model, dir / "repo" / name / "1" / "model.onnx");
    std::ofstream(dir / "repo" / name / "config.json") << R"({"threads": 2})";
  }
  testing::SpawnedProcess server;
  ASSERT_EQ(sched_setaffinity(0, sizeof two, &two), 0);
  const int port = testing::start_serve(server, testing::cli_path().string(), (dir / "repo").string(),
                                        {"--io-threads", "2"}, 60s);
  ASSERT_EQ(sched_setaffinity(0, sizeof mine, &mine), 0);
  ASSERT_GT(port, 0) << "the server did not start";
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const char* name : {"cls", "cls_b"}) {
    testing::CliOutcome run = testing::run_cli("loadgen --url " + url + " --model " + name +
                                               " --shape x=1x3x48x192 --concurrency 1,2 --duration 0.3 --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const nlohmann::json report = nlohmann::json::parse(run.out);
    for (const auto& level : report["levels"]) EXPECT_EQ(level["errors"], 0);
  }
  // main + 1 more I/O thread, one lane and its one OpenMP helper: 4. With a
  // compute thread per model it was 6 (two teams on two CPUs).
  EXPECT_LE(thread_count(server.pid()), 4) << "the two models did not share one compute lane";
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ecoinfer::serve
