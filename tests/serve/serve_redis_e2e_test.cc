// Two `ecoinfer serve` replicas sharing a response cache in a real
// redis-server: one computes, the other answers the same request from Redis;
// then redis-server is killed mid-run and both keep answering (local cache).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model_builder.h"
#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string cli() { return testing::cli_path().string(); }

// Starts `ecoinfer serve` and returns its port (0 when it did not come up).
int start_server(testing::SpawnedProcess& p, const fs::path& repo, const std::string& redis_url) {
  return testing::start_serve(p, cli(), repo.string(), {"--redis", redis_url}, 20s);
}

// POSTs `body` with curl; the HTTP status and the parsed answer.
std::pair<int, json> infer(int port, const fs::path& dir, const json& body) {
  const fs::path in = dir / "body.json", out = dir / "answer.json";
  std::ofstream(in) << body.dump();
  const std::string cmd = "curl -s -o " + out.string() + " -w '%{http_code}' --data-binary @" + in.string() +
                          " http://127.0.0.1:" + std::to_string(port) + "/v2/models/double/infer";
  FILE* p = popen(cmd.c_str(), "r");
  char code[8] = {};
  if (p && std::fgets(code, sizeof code, p) == nullptr) code[0] = 0;
  if (p) pclose(p);
  std::ifstream answer(out);
  std::stringstream text;
  text << answer.rdbuf();
  return {std::atoi(code), json::parse(text.str(), nullptr, false)};
}

json request(float first) {
  return {{"inputs", {{{"name", "x"}, {"shape", {1, 3}}, {"datatype", "FP32"}, {"data", {first, 2, 3}}}}}};
}

TEST(ServeRedis, ReplicasShareTheCacheAndSurviveRedisDying) {
  const fs::path dir = testing::temp_dir("serve_redis_e2e");
  const fs::path repo = dir / "repo";
  fs::create_directories(repo / "double" / "1");
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3});
  b.initializer("two", {}, {2.0f});
  b.node("Mul", {"x", "two"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3});
  b.save(repo / "double" / "1" / "model.onnx");
  std::ofstream(repo / "double" / "config.json") << R"({"max_batch_size": 4, "response_cache": true})";

  const int redis_port = testing::free_loopback_port();
  testing::SpawnedProcess redis;
  ASSERT_TRUE(redis.start({"redis-server", "--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no"}));
  std::this_thread::sleep_for(300ms);  // redis-server is up within a few ms; the cache retries anyway
  const std::string url = "redis://127.0.0.1:" + std::to_string(redis_port);
  testing::SpawnedProcess a, c;
  const int port_a = start_server(a, repo, url), port_c = start_server(c, repo, url);
  ASSERT_GT(port_a, 0);
  ASSERT_GT(port_c, 0);

  auto [status1, first] = infer(port_a, dir, request(7));
  ASSERT_EQ(status1, 200) << first.dump();
  EXPECT_EQ(first["parameters"]["cache_hit"], false);
  auto [status2, shared] = infer(port_c, dir, request(7));  // the other replica: from Redis
  ASSERT_EQ(status2, 200);
  EXPECT_EQ(shared["parameters"]["cache_hit"], true) << shared.dump();
  EXPECT_EQ(shared["outputs"], first["outputs"]);

  redis.stop(SIGKILL);
  for (int i = 0; i < 3; ++i) {  // new inputs, then a repeat: every request answered
    auto [status, answer] = infer(port_c, dir, request(100 + i));
    ASSERT_EQ(status, 200) << answer.dump();
    EXPECT_EQ(answer["outputs"][0]["data"], json::array({2 * (100 + i), 4, 6}));
  }
  auto [status3, local] = infer(port_c, dir, request(100));
  ASSERT_EQ(status3, 200);
  EXPECT_EQ(local["parameters"]["cache_hit"], true);  // the local level still works
  EXPECT_EQ(WEXITSTATUS(a.stop(SIGTERM)), 0);
  EXPECT_EQ(WEXITSTATUS(c.stop(SIGTERM)), 0);
}

}  // namespace
}  // namespace ecoinfer
