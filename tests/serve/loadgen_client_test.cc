// The loadgen's parts on their own: the HTTP client against a real server
// process (python3 -m http.server, which closes every connection: the client
// must reconnect), deadlines against a listener that never answers, request
// bodies in JSON and binary form, percentiles, and the CLI's one-line error
// for an unreachable server.
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/loadgen/http_client.h"
#include "serve/loadgen/loadgen.h"
#include "serve/loadgen/request_builder.h"
#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

HttpUrl loopback(int port) { return *parse_http_url("http://127.0.0.1:" + std::to_string(port)); }

TEST(HttpUrl, ParsesHostPortAndPrefix) {
  auto u = parse_http_url("http://localhost:8000/prefix/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, "8000");
  EXPECT_EQ(u->base_path, "/prefix");
  EXPECT_EQ(parse_http_url("http://example.org")->port, "80");
  for (const char* bad : {"localhost:8000", "https://x:1", "http://:80", "http://x:0", "http://x:99999", "http://x:ab"}) {
    auto r = parse_http_url(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.status().message().find("http://host[:port]"), std::string::npos) << r.status().message();
  }
}

TEST(HttpClient, TalksToARealServerAndReconnectsWhenItClosesConnections) {
  const fs::path dir = testing::temp_dir("loadgen_http");
  std::ofstream(dir / "hello.txt") << "hello from disk";
  const int port = testing::free_loopback_port();
  testing::SpawnedProcess server;
  ASSERT_TRUE(server.start({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                            "--directory", dir.string()}));
  HttpClient client(loopback(port), 2s);
  // Wait for it to listen.
  Expected<HttpResponse> first = client.get("/hello.txt");
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !first && std::chrono::steady_clock::now() < deadline;
       first = client.get("/hello.txt")) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(first) << first.status().message();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "hello from disk");
  EXPECT_TRUE(first->header("content-type").has_value());
  for (int i = 0; i < 20; ++i) {  // HTTP/1.0 server: every request on a new connection
    auto r = client.get(i % 2 ? "/hello.txt" : "/missing");
    ASSERT_TRUE(r) << i << ": " << r.status().message();
    EXPECT_EQ(r->status, i % 2 ? 200 : 404);
  }
  auto post = client.post("/hello.txt", "{}", "application/json");
  ASSERT_TRUE(post) << post.status().message();
  EXPECT_EQ(post->status, 501) << "http.server has no POST: an HTTP error is a response, not a failure";
}

TEST(HttpClient, RefusedConnectionIsUnreachable) {
  HttpClient client(loopback(testing::free_loopback_port()), 1s);
  auto r = client.get("/v2/health/ready");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), HttpClient::kUnreachable);
  EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().message();
}

TEST(HttpClient, ServerThatNeverAnswersHitsTheDeadline) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 4), 0);  // the kernel accepts; nobody ever reads
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  HttpClient client(loopback(ntohs(a.sin_port)), 200ms);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client.get("/metrics");
  const auto took = std::chrono::steady_clock::now() - t0;
  close(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("timed out after 200 ms"), std::string::npos) << r.status().message();
  EXPECT_LT(took, 2s);
}

TEST(RequestBuilder, JsonBodyCarriesFlatDataShapeAndDatatype) {
  Tensor x = Tensor::from_vector<float>({1, 2}, {0.5f, -1.0f});
  Tensor ids = Tensor::from_vector<int64_t>({2}, {3, 7});
  InferBody b = make_infer_body({{"x", x}, {"ids", ids}}, {}, /*binary=*/false);
  EXPECT_EQ(b.content_type, "application/json");
  auto j = nlohmann::json::parse(b.body);
  EXPECT_EQ(j["inputs"][0]["name"], "x");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({1, 2}));
  EXPECT_EQ(j["inputs"][0]["data"], nlohmann::json({0.5, -1.0}));
  EXPECT_EQ(j["inputs"][1]["datatype"], "INT64");
  EXPECT_EQ(j["inputs"][1]["data"], nlohmann::json({3, 7}));
}

TEST(RequestBuilder, BinaryBodyFollowsTritonsExtension) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {1, 3, 4}, 5);
  Tensor m = Tensor::from_vector<bool>({2}, {true, false});
  InferBody b = make_infer_body({{"x", x}, {"mask", m}}, {}, /*binary=*/true);
  EXPECT_EQ(b.content_type, "application/octet-stream");
  ASSERT_EQ(b.headers.size(), 1u);
  EXPECT_EQ(b.headers[0].first, "Inference-Header-Content-Length");
  const size_t header_size = std::stoul(b.headers[0].second);
  auto j = nlohmann::json::parse(b.body.substr(0, header_size));
  EXPECT_EQ(j["inputs"][0]["parameters"]["binary_data_size"], x.nbytes());
  EXPECT_EQ(j["inputs"][1]["datatype"], "BOOL");
  EXPECT_FALSE(j["inputs"][0].contains("data"));
  EXPECT_EQ(j["parameters"]["binary_data_output"], true);
  ASSERT_EQ(b.body.size(), header_size + x.nbytes() + m.nbytes());
  EXPECT_EQ(std::memcmp(b.body.data() + header_size, x.raw_data(), x.nbytes()), 0);
  EXPECT_EQ(std::memcmp(b.body.data() + header_size + x.nbytes(), m.raw_data(), m.nbytes()), 0);
}

TEST(RequestBuilder, BytesElementIsLengthPrefixedInBinaryAndBase64InJson) {
  const std::string image("\x89PNG\r\n\x1a\n\0\xff", 10);
  Tensor x = Tensor::from_vector<float>({1}, {2.0f});
  InferBody bin = make_infer_body({{"x", x}}, {{"image", image}}, /*binary=*/true);
  const size_t header_size = std::stoul(bin.headers.at(0).second);
  auto j = nlohmann::json::parse(bin.body.substr(0, header_size));
  EXPECT_EQ(j["inputs"][1]["name"], "image");
  EXPECT_EQ(j["inputs"][1]["datatype"], "BYTES");
  EXPECT_EQ(j["inputs"][1]["shape"], nlohmann::json({1}));
  EXPECT_EQ(j["inputs"][1]["parameters"]["binary_data_size"], 4 + image.size());
  // After x's 4 bytes: Triton's element, a little-endian uint32 length then the bytes.
  EXPECT_EQ(bin.body.substr(header_size + 4), std::string("\x0a\0\0\0", 4) + image);

  InferBody text = make_infer_body({}, {{"image", image}}, /*binary=*/false);
  auto t = nlohmann::json::parse(text.body);
  EXPECT_EQ(t["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(t["inputs"][0]["data"], nlohmann::json({"iVBORw0KGgoA/w=="}));  // base64 of the ten bytes
}

TEST(RequestBuilder, DatatypeNamesRoundTrip) {
  for (const char* name : {"BOOL", "UINT8", "INT8", "INT32", "INT64", "FP16", "FP32", "FP64", "BF16"}) {
    EXPECT_EQ(kserve_datatype(datatype_from_kserve(name)), name);
  }
  EXPECT_EQ(datatype_from_kserve("BYTES"), DataType::kUndefined);
  Tensor r = random_input(DataType::kInt64, {1000}, 1);
  for (int64_t v : r.span<int64_t>()) ASSERT_TRUE(v >= 0 && v < 100);
}

TEST(Percentile, NearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 90), 90);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({}, 50), 0);
}

TEST(LoadgenCli, UnreachableServerIsOneLineAndExitOne) {
  const testing::CliOutcome o = testing::run_cli("loadgen --url http://127.0.0.1:" +
                                                 std::to_string(testing::free_loopback_port()) +
                                                 " --model cls --duration 1");
  testing::expect_clean_failure(o, "unreachable");
  EXPECT_EQ(o.err.rfind("ecoinfer: error: the server at http://127.0.0.1:", 0), 0u) << o.err;
  testing::expect_clean_failure(testing::run_cli("loadgen --model cls --concurrency 1,0"), "concurrency");
}

}  // namespace
}  // namespace ecoinfer::serve
