// `ecoinfer serve` end to end: the real server process on a free loopback
// port, a repository holding the real cls model, a small built model and a
// broken one, driven with curl as a user (or a Triton HTTP client) would.
#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* kToken = "s3cret-token";
const char* kClsOutput = "softmax_0.tmp_0";

std::string cli() { return testing::cli_path().string(); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// y = 2 * x on FP32 ?x3, saved as DIR/<name>/1/model.onnx.
void add_doubling_model(const fs::path& repo, const std::string& name, const std::string& config) {
  fs::create_directories(repo / name / "1");
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3});
  b.initializer("two", {}, {2.0f});
  b.node("Mul", {"x", "two"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3});
  b.save(repo / name / "1" / "model.onnx");
  if (!config.empty()) std::ofstream(repo / name / "config.json") << config;
}

// A running `ecoinfer serve`, stopped with SIGTERM at the end.
class ServerProcess {
 public:
  ServerProcess(const fs::path& repo, const fs::path& dir, const std::vector<std::string>& extra) {
    log_ = dir / "server.log";
    std::vector<std::string> args = {cli(), "serve", "--model-repository", repo.string(), "--http-port", "0",
                                     "--http-address", "127.0.0.1", "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::fopen(log_.c_str(), "w");
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::string marker = "listening on http://127.0.0.1:";
    for (int i = 0; i < 300 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::string log = read_file(log_);
      if (auto at = log.find(marker); at != std::string::npos) port_ = std::stoi(log.substr(at + marker.size()));
    }
  }
  ~ServerProcess() {
    if (pid_ > 0 && exit_code_ < 0) stop();
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string log() const { return read_file(log_); }
  // SIGTERM, then the exit code (waits at most ~10 s).
  int stop() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    return exit_code_ = 124;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
  json json_body() const { return json::parse(body, nullptr, false); }
};

// curl with the token unless `token` is empty; `body_file` is sent as is.
HttpReply curl(const std::string& method, const std::string& url, const fs::path& dir, const std::string& body_file = "",
               const std::vector<std::string>& headers = {}, const std::string& token = kToken) {
  static int n = 0;
  const fs::path out = dir / ("reply" + std::to_string(++n)), head = dir / ("head" + std::to_string(n));
  std::string cmd = "curl -s -X " + method + " -o " + out.string() + " -D " + head.string() + " -w '%{http_code}'";
  if (!token.empty()) cmd += " -H 'Authorization: Bearer " + token + "'";
  for (const auto& h : headers) cmd += " -H '" + h + "'";
  if (!body_file.empty()) cmd += " --data-binary @" + body_file;
  cmd += " '" + url + "'";
  HttpReply r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[16] = {};
  if (p && std::fgets(buf, sizeof buf, p)) r.status = std::atoi(buf);
  if (p) pclose(p);
  r.headers = read_file(head);
  r.body = read_file(out);
  return r;
}

fs::path write_body(const fs::path& dir, const std::string& name, const std::string& body) {
  std::ofstream(dir / name, std::ios::binary) << body;
  return dir / name;
}

// Nested "data": [[[[...]]]] in the tensor's shape.
json nested(const float* p, const Shape& shape, size_t dim) {
  json a = json::array();
  int64_t stride = 1;
  for (size_t i = dim + 1; i < shape.size(); ++i) stride *= shape[i];
  for (int64_t i = 0; i < shape[dim]; ++i) a.push_back(dim + 1 == shape.size() ? json(p[i]) : nested(p + i * stride, shape, dim + 1));
  return a;
}

json infer_body(const Tensor& x, bool nest) {
  std::vector<float> flat(x.data<float>(), x.data<float>() + x.numel());
  return {{"id", "req-1"},
          {"inputs", {{{"name", "x"}, {"shape", x.shape()}, {"datatype", "FP32"},
                        {"data", nest ? nested(x.data<float>(), x.shape(), 0) : json(flat)}}}}};
}

Tensor tensor_from_json(const json& out) {
  Shape shape = out["shape"].get<Shape>();
  return Tensor::from_vector<float>(shape, out["data"].get<std::vector<float>>());
}

class ServeE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Outside a test temp_dir() is shared by every process, and ctest runs
    // each test of this suite as its own process, two at a time: the pid
    // keeps their repositories apart.
    dir_ = new fs::path(testing::temp_dir("serve_e2e_" + std::to_string(getpid())));
    const fs::path repo = *dir_ / "repo";
    fs::create_directories(repo / "cls" / "1");
    fs::copy_file(testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx", repo / "cls" / "1" / "model.onnx");
    std::ofstream(repo / "cls" / "config.json")
        << R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 1000}, "response_cache": true})";
    add_doubling_model(repo, "double", "");
    add_doubling_model(repo, "slow", R"({"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": 2000000}})");
    fs::create_directories(repo / "cls_bf16" / "1");
    fs::copy_file(testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx", repo / "cls_bf16" / "1" / "model.onnx");
    std::ofstream(repo / "cls_bf16" / "config.json") << R"({"max_batch_size": 8, "precision": "bf16"})";
    fs::create_directories(repo / "broken" / "1");
    std::ofstream(repo / "broken" / "1" / "model.onnx") << "not an onnx file";
    std::ofstream(*dir_ / "token") << kToken << "\n";
    server_ = new ServerProcess(repo, *dir_, {"--auth-token-file", (*dir_ / "token").string(),
                                              "--max-body-bytes", "2000000"});
    // The reference: `ecoinfer run` on the same input.
    x_ = new Tensor(*read_npy(testing::fixtures_dir() / "ort/ch_ppocr_mobile_v2.0_cls_infer/2x3x48x192/x.npy"));
    const std::string x_path = (testing::fixtures_dir() / "ort/ch_ppocr_mobile_v2.0_cls_infer/2x3x48x192/x.npy").string();
    std::system((cli() + " run " + (repo / "cls/1/model.onnx").string() + " --threads 1 --input x=" + x_path +
                 " --output-dir " + (*dir_ / "run").string() + " > /dev/null 2>&1").c_str());
    auto y = read_npy(*dir_ / "run" / (std::string(kClsOutput) + ".npy"));
    expected_ = new Tensor(y ? *y : Tensor());
  }
  static void TearDownTestSuite() {
    delete server_;
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete x_;
    delete expected_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_GT(server_->port(), 0) << server_->log();
    ASSERT_TRUE(expected_->defined()) << "ecoinfer run failed";
  }
  static std::string url(const std::string& path) { return server_->url(path); }
  static HttpReply post_json(const std::string& path, const json& body, const std::vector<std::string>& headers = {}) {
    return curl("POST", url(path), *dir_, write_body(*dir_, "body.json", body.dump()).string(), headers);
  }

  static fs::path* dir_;
  static ServerProcess* server_;
  static Tensor* x_;
  static Tensor* expected_;
};
fs::path* ServeE2E::dir_ = nullptr;
ServerProcess* ServeE2E::server_ = nullptr;
Tensor* ServeE2E::x_ = nullptr;
Tensor* ServeE2E::expected_ = nullptr;

TEST_F(ServeE2E, HealthAndRepositoryIndexReportTheBrokenModel) {
  EXPECT_EQ(curl("GET", url("/v2/health/live"), *dir_, "", {}, "").status, 200);  // no token needed
  HttpReply ready = curl("GET", url("/v2/health/ready"), *dir_, "", {}, "");
  EXPECT_EQ(ready.status, 400) << ready.body;  // 4xx = not ready: a model failed to load
  EXPECT_EQ(ready.json_body()["ready"], false);
  HttpReply index = curl("POST", url("/v2/repository/index"), *dir_);
  ASSERT_EQ(index.status, 200);
  bool broken_seen = false;
  for (const json& e : index.json_body()) {
    if (e["name"] == "broken") {
      broken_seen = true;
      EXPECT_EQ(e["state"], "UNAVAILABLE");
      EXPECT_NE(e["reason"].get<std::string>().find("not a valid ONNX model"), std::string::npos) << e.dump();
    } else {
      EXPECT_EQ(e["state"], "READY") << e.dump();
    }
  }
  EXPECT_TRUE(broken_seen) << index.body;
  EXPECT_EQ(post_json("/v2/models/broken/infer", infer_body(*x_, false)).status, 503);
}

TEST_F(ServeE2E, ServerAndModelMetadata) {
  HttpReply meta = curl("GET", url("/v2"), *dir_);
  ASSERT_EQ(meta.status, 200);
  const json m = meta.json_body();
  EXPECT_EQ(m["name"], "ecoinfer");
  EXPECT_NE(std::find(m["extensions"].begin(), m["extensions"].end(), "binary_tensor_data"), m["extensions"].end());
  for (const std::string path : {"/v2/models/cls", "/v2/models/cls/versions/1"}) {
    HttpReply model = curl("GET", url(path), *dir_);
    ASSERT_EQ(model.status, 200) << path;
    const json j = model.json_body();
    EXPECT_EQ(j["name"], "cls");
    EXPECT_EQ(j["versions"], json::array({"1"}));
    EXPECT_EQ(j["inputs"][0]["name"], "x");
    EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
    EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1, 3, -1, -1}));
    EXPECT_EQ(j["outputs"][0]["name"], kClsOutput);
  }
  EXPECT_EQ(curl("GET", url("/v2/models/cls/ready"), *dir_).status, 200);
  EXPECT_EQ(curl("GET", url("/v2/models/cls/versions/1/ready"), *dir_).status, 200);
  EXPECT_EQ(curl("GET", url("/v2/models/cls/versions/7"), *dir_).status, 404);
  EXPECT_EQ(curl("GET", url("/v2/models/nope"), *dir_).status, 404);
  EXPECT_EQ(curl("GET", url("/v2/models/nope/ready"), *dir_).status, 404);
}

TEST_F(ServeE2E, JsonInferenceNestedAndFlatEqualsEcoinferRun) {
  for (bool nest : {true, false}) {
    HttpReply r = post_json("/v2/models/cls/versions/1/infer", infer_body(*x_, nest));
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.json_body();
    EXPECT_EQ(j["model_name"], "cls");
    EXPECT_EQ(j["model_version"], "1");
    EXPECT_EQ(j["id"], "req-1");
    ASSERT_EQ(j["outputs"].size(), 1u);
    EXPECT_EQ(j["outputs"][0]["name"], kClsOutput);
    EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
    EXPECT_TRUE(testing::tensors_close(tensor_from_json(j["outputs"][0]), *expected_, 1e-5, 1e-6));
  }
}

// precision "bf16" in config.json runs the fp32 file's convolutions in
// bfloat16: close to fp32, same class per image.
TEST_F(ServeE2E, Bf16ModelAnswersCloseToFp32) {
  HttpReply r = post_json("/v2/models/cls_bf16/infer", infer_body(*x_, false));
  ASSERT_EQ(r.status, 200) << r.body;
  const Tensor y = tensor_from_json(r.json_body()["outputs"][0]);
  ASSERT_EQ(y.shape(), expected_->shape());
  EXPECT_TRUE(testing::tensors_close(y, *expected_, 0.05, 0.02));
  const int64_t classes = y.dim(1);
  for (int64_t n = 0; n < y.dim(0); ++n) {
    const float* a = y.data<float>() + n * classes;
    const float* b = expected_->data<float>() + n * classes;
    EXPECT_EQ(std::max_element(a, a + classes) - a, std::max_element(b, b + classes) - b) << "image " << n;
  }
}

TEST_F(ServeE2E, BinaryTensorsInAndOut) {
  const std::string raw(static_cast<const char*>(x_->raw_data()), x_->nbytes());
  const std::string header =
      json{{"inputs", {{{"name", "x"}, {"shape", x_->shape()}, {"datatype", "FP32"},
                        {"parameters", {{"binary_data_size", raw.size()}}}}}},
           {"outputs", {{{"name", kClsOutput}, {"parameters", {{"binary_data", true}}}}}}}
          .dump();
  const fs::path body = write_body(*dir_, "binary.bin", header + raw);
  HttpReply r = curl("POST", url("/v2/models/cls/infer"), *dir_, body.string(),
                     {"Inference-Header-Content-Length: " + std::to_string(header.size()),
                      "Content-Type: application/octet-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("application/octet-stream"), std::string::npos) << r.headers;
  const std::string marker = "Inference-Header-Content-Length: ";
  const auto at = r.headers.find(marker);
  ASSERT_NE(at, std::string::npos) << r.headers;
  const size_t json_length = std::stoul(r.headers.substr(at + marker.size()));
  const json j = json::parse(r.body.substr(0, json_length));
  const size_t n = j["outputs"][0]["parameters"]["binary_data_size"].get<size_t>();
  ASSERT_EQ(n, expected_->nbytes());
  ASSERT_EQ(r.body.size(), json_length + n);
  Tensor y = Tensor::zeros(DataType::kFloat32, j["outputs"][0]["shape"].get<Shape>());
  std::memcpy(y.raw_data(), r.body.data() + json_length, n);
  EXPECT_TRUE(testing::tensors_close(y, *expected_, 1e-5, 1e-6));
}

TEST_F(ServeE2E, RepeatedRequestIsACacheHit) {
  json body = infer_body(*x_, false);
  body["id"] = "cache-test";
  body["inputs"][0]["data"][0] = 0.123f;  // an input no other test sends
  HttpReply first = post_json("/v2/models/cls/infer", body);
  HttpReply second = post_json("/v2/models/cls/infer", body);
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(first.json_body()["parameters"]["cache_hit"], false);
  EXPECT_EQ(second.json_body()["parameters"]["cache_hit"], true);
  EXPECT_EQ(second.json_body()["outputs"], first.json_body()["outputs"]);
}

TEST_F(ServeE2E, BadRequestsGetClearErrors) {
  auto expect_error = [](const HttpReply& r, int status, const std::string& words) {
    EXPECT_EQ(r.status, status) << r.body;
    const json j = r.json_body();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << r.body;
  };
  json wrong_type = infer_body(*x_, false);
  wrong_type["inputs"][0]["datatype"] = "INT64";
  wrong_type["inputs"][0]["data"] = std::vector<int64_t>(x_->numel(), 1);
  expect_error(post_json("/v2/models/cls/infer", wrong_type), 400, "must be float");
  json strings = infer_body(*x_, false);
  strings["inputs"][0]["data"][5] = "five";
  expect_error(post_json("/v2/models/cls/infer", strings), 400, "not a number");
  json wrong_shape = {{"inputs", {{{"name", "x"}, {"shape", {1, 4, 2, 2}}, {"datatype", "FP32"},
                                   {"data", std::vector<float>(16, 0.5f)}}}}};
  expect_error(post_json("/v2/models/cls/infer", wrong_shape), 400, "shape");
  json wrong_count = infer_body(*x_, false);
  wrong_count["inputs"][0]["shape"] = {1, 3, 48, 192};
  expect_error(post_json("/v2/models/cls/infer", wrong_count), 400, "elements");
  json wrong_name = infer_body(*x_, false);
  wrong_name["inputs"][0]["name"] = "image";
  expect_error(post_json("/v2/models/cls/infer", wrong_name), 400, "needs input 'x'");
  json bad_output = infer_body(*x_, false);
  bad_output["outputs"] = {{{"name", "nope"}}};
  expect_error(post_json("/v2/models/cls/infer", bad_output), 400, "no output 'nope'");
  expect_error(curl("POST", url("/v2/models/cls/infer"), *dir_, write_body(*dir_, "bad.json", "{\"inputs\": [").string()),
               400, "not valid JSON");
  expect_error(post_json("/v2/models/unknown/infer", infer_body(*x_, false)), 404, "unknown model");
  json huge = {{"inputs", {{{"name", "x"}, {"shape", {100000, 100000, 100000}}, {"datatype", "FP32"}, {"data", {}}}}}};
  expect_error(post_json("/v2/models/double/infer", huge), 400, "more elements");
  expect_error(curl("POST", url("/v2/models/cls/infer"), *dir_,
                    write_body(*dir_, "big.json", std::string(3'000'000, ' ')).string()),
               413, "larger than");
}

TEST_F(ServeE2E, TokenIsRequiredEverywhereButHealth) {
  for (const std::string path : {"/v2", "/v2/models/cls", "/metrics", "/v2/models/cls/ready"}) {
    EXPECT_EQ(curl("GET", url(path), *dir_, "", {}, "").status, 401) << path;
    EXPECT_EQ(curl("GET", url(path), *dir_, "", {}, "wrong-token").status, 401) << path;
  }
  EXPECT_EQ(post_json("/v2/models/cls/infer", infer_body(*x_, false)).status, 200);
  HttpReply no_token = curl("POST", url("/v2/models/cls/infer"), *dir_,
                            write_body(*dir_, "x.json", infer_body(*x_, false).dump()).string(), {}, "");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(curl("GET", url("/v2/health/ready"), *dir_, "", {}, "").status, 400);  // answered, not 401
}

TEST_F(ServeE2E, SmallModelWithDefaultConfigAndTimeoutParameter) {
  json body = {{"inputs", {{{"name", "x"}, {"shape", {2, 3}}, {"datatype", "FP32"}, {"data", {{1, 2, 3}, {4, 5, 6}}}}}}};
  HttpReply r = post_json("/v2/models/double/infer", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["outputs"][0]["data"], json::array({2, 4, 6, 8, 10, 12}));
  // "slow" waits 2 s for a batch; a 50 ms timeout expires first.
  body["parameters"] = {{"timeout", 50000}};
  HttpReply late = post_json("/v2/models/slow/infer", body);
  EXPECT_EQ(late.status, 503) << late.body;
  EXPECT_NE(late.body.find("timed out"), std::string::npos) << late.body;
}

TEST_F(ServeE2E, MetricsCountRequestsAndEnergy) {
  ASSERT_EQ(post_json("/v2/models/double/infer",
                      {{"inputs", {{{"name", "x"}, {"shape", {1, 3}}, {"datatype", "FP32"}, {"data", {1, 2, 3}}}}}})
                .status,
            200);
  HttpReply m = curl("GET", url("/metrics"), *dir_);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos);
  for (const std::string name :
       {"ecoinfer_request_success_total{model=\"double\",version=\"1\"}", "ecoinfer_inference_total{model=\"double\"",
        "ecoinfer_execution_total{", "ecoinfer_request_duration_seconds_bucket{", "ecoinfer_queue_duration_seconds_sum{",
        "ecoinfer_compute_duration_seconds_count{", "ecoinfer_batch_size_bucket{", "ecoinfer_cache_hits_total{",
        "ecoinfer_energy_joules_total{model=\"double\",version=\"1\",method=\"", "ecoinfer_carbon_grams_total{",
        "ecoinfer_request_failure_total{model=\"cls\",version=\"1\",reason=\"bad_request\"}"}) {
    EXPECT_NE(m.body.find(name), std::string::npos) << name;
  }
}

// Opens `n` sockets to the server and sends a request on each, twice.
int keep_alive_round_trips(int port, int n) {
  std::vector<int> fds;
  int answered = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) { close(fd); break; }
    fds.push_back(fd);
  }
  const std::string req = "GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n";
  for (int round = 0; round < 2; ++round) {
    for (int fd : fds) (void)!write(fd, req.data(), req.size());
    for (int fd : fds) {
      char buf[512];
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const ssize_t got = read(fd, buf, sizeof buf);
      if (got > 12 && std::string(buf, 12) == "HTTP/1.1 200") ++answered;
    }
  }
  for (int fd : fds) close(fd);
  return answered;
}

int thread_count(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

TEST_F(ServeE2E, HoldsAThousandKeepAliveConnectionsWithFewThreads) {
  const int before = thread_count(server_->pid());
  EXPECT_EQ(keep_alive_round_trips(server_->port(), 1000), 2000);
  EXPECT_EQ(thread_count(server_->pid()), before);
  EXPECT_LT(before, 32);
}

TEST(ServeShutdown, SigtermFinishesTheRequestInFlightAndExitsZero) {
  const fs::path dir = testing::temp_dir("serve_e2e_shutdown");
  add_doubling_model(dir / "repo", "slow", R"({"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": 5000000}})");
  ServerProcess server(dir / "repo", dir, {});
  ASSERT_GT(server.port(), 0) << server.log();
  const fs::path body = write_body(dir, "req.json", R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})");
  HttpReply reply;
  std::thread client([&] { reply = curl("POST", server.url("/v2/models/slow/infer"), dir, body.string(), {}, ""); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the request now waits in the batcher (5 s delay)
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(), 0) << server.log();
  client.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));  // not the 5 s delay
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["outputs"][0]["data"], json::array({2, 4, 6}));
  EXPECT_NE(curl("GET", server.url("/v2/health/live"), dir, "", {}, "").status, 200);  // no longer accepting
}

}  // namespace
}  // namespace ecoinfer
