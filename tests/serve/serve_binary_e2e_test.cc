// Binary tensors through the real `ecoinfer serve` over loopback TCP, the
// way the server now moves them without copies: bodies read in place (also
// when the binary section arrives in many small TCP segments, when two
// requests come in one segment, and as a chunked body), outputs written from
// the output tensor. The rec model's 1.06 MB output must equal `ecoinfer
// run` byte for byte.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
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

constexpr const char* kRecOutput = "softmax_11.tmp_0";

// A keep-alive connection that writes exactly the bytes it is given.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // each send() its own segment
    timeval tv{20, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Reply {
    int status = 0;
    std::string headers;
    std::string body;
    size_t json_length = 0;  // Inference-Header-Content-Length, 0 when absent
  };
  // One response (Content-Length framed); status 0 when the connection failed.
  Reply receive() {
    Reply r;
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    r.headers = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    r.status = std::stoi(r.headers.substr(9, 3));
    const size_t length = header_value(r.headers, "content-length");
    r.json_length = header_value(r.headers, "inference-header-content-length");
    while (pending_.size() < length)
      if (!fill()) return {};
    r.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return r;
  }

 private:
  static size_t header_value(const std::string& headers, const std::string& name) {
    std::string lower = headers;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = lower.find("\r\n" + name + ":");
    return at == std::string::npos ? 0 : std::stoul(headers.substr(at + name.size() + 3));
  }
  bool fill() {
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string raw_bytes(const Tensor& t) { return {static_cast<const char*>(t.raw_data()), t.nbytes()}; }

// Triton's binary request: JSON header, then the tensor's bytes.
std::pair<std::string, std::string> binary_request(const Tensor& x) {
  const std::string header = json{{"inputs", {{{"name", "x"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                               {"parameters", {{"binary_data_size", x.nbytes()}}}}}},
                                  {"parameters", {{"binary_data_output", true}}}}
                                 .dump();
  return {header, raw_bytes(x)};
}

std::string http_post(const std::string& model, const std::string& header, size_t body_size) {
  return "POST /v2/models/" + model + "/infer HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body_size) +
         "\r\nInference-Header-Content-Length: " + std::to_string(header.size()) + "\r\n\r\n";
}

// The output tensor's bytes of a binary reply (single output).
std::string output_bytes(const RawClient::Reply& r) {
  if (r.status != 200 || r.json_length == 0 || r.json_length > r.body.size()) return {};
  const json j = json::parse(r.body.substr(0, r.json_length), nullptr, false);
  if (j.is_discarded() || j["outputs"][0]["parameters"]["binary_data_size"] != r.body.size() - r.json_length) return {};
  return r.body.substr(r.json_length);
}

Tensor doubled(const Tensor& x) {
  Tensor y = x.clone();
  for (float& v : y.span<float>()) v *= 2;
  return y;
}

class ServeBinaryE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::temp_dir("serve_binary_e2e_" + std::to_string(getpid())));
    const fs::path repo = *dir_ / "repo";
    fs::create_directories(repo / "rec" / "1");
    fs::create_symlink(testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx", repo / "rec" / "1" / "model.onnx");
    fs::create_directories(repo / "double" / "1");
    testing::ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {-1, 3});
    b.initializer("two", {}, {2.0f});
    b.node("Mul", {"x", "two"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {-1, 3});
    b.save(repo / "double" / "1" / "model.onnx");
    std::ofstream(repo / "double" / "config.json") << R"({"max_batch_size": 0})";  // any row count per request
    server_ = new testing::SpawnedProcess();
    port_ = testing::start_serve(*server_, testing::cli_path().string(), repo.string(), {}, 30s);
  }
  static void TearDownTestSuite() {
    delete server_;
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
  }
  void SetUp() override { ASSERT_GT(port_, 0) << "ecoinfer serve did not start"; }

  static fs::path* dir_;
  static testing::SpawnedProcess* server_;
  static int port_;
};
fs::path* ServeBinaryE2E::dir_ = nullptr;
testing::SpawnedProcess* ServeBinaryE2E::server_ = nullptr;
int ServeBinaryE2E::port_ = 0;

TEST_F(ServeBinaryE2E, RecOutputEqualsEcoinferRunByteForByte) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {1, 3, 48, 320}, 11);
  ASSERT_TRUE(write_npy(*dir_ / "x.npy", x).is_ok());
  const std::string run = testing::cli_path().string() + " run " + (*dir_ / "repo/rec/1/model.onnx").string() +
                          " --threads 1 --input x=" + (*dir_ / "x.npy").string() + " --output-dir " +
                          (*dir_ / "run").string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(run.c_str()), 0) << run;
  auto expected = read_npy(*dir_ / "run" / (std::string(kRecOutput) + ".npy"));
  ASSERT_TRUE(expected) << expected.status().message();

  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  const auto [header, data] = binary_request(x);
  for (int round = 0; round < 2; ++round) {  // the second on the same keep-alive connection
    ASSERT_TRUE(client.send(http_post("rec", header, header.size() + data.size()) + header + data));
    const RawClient::Reply r = client.receive();
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_NE(r.headers.find("application/octet-stream"), std::string::npos) << r.headers;
    const std::string got = output_bytes(r);
    ASSERT_EQ(got.size(), expected->nbytes());
    EXPECT_TRUE(got == raw_bytes(*expected)) << "round " << round;
  }
}

TEST_F(ServeBinaryE2E, BinarySectionSplitAcrossManyTcpReads) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {700, 3}, 5);  // 8400 bytes
  const auto [header, data] = binary_request(x);
  const std::string request = http_post("double", header, header.size() + data.size()) + header + data;
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  // Pieces that end inside the HTTP header, inside the JSON, at the JSON's
  // end and at odd places of the binary data, each its own segment.
  const size_t head_end = request.size() - header.size() - data.size();
  const std::vector<size_t> cuts = {10, head_end - 3, head_end + 7, head_end + header.size(),
                                    head_end + header.size() + 1, head_end + header.size() + 4097, request.size()};
  size_t at = 0;
  for (size_t cut : cuts) {
    ASSERT_TRUE(client.send(std::string_view(request).substr(at, cut - at)));
    at = cut;
    std::this_thread::sleep_for(5ms);
  }
  const RawClient::Reply r = client.receive();
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_TRUE(output_bytes(r) == raw_bytes(doubled(x)));
}

TEST_F(ServeBinaryE2E, TwoRequestsInOneSegmentAreBothAnswered) {
  const Tensor a = testing::random_tensor(DataType::kFloat32, {5, 3}, 1);
  const Tensor b = testing::random_tensor(DataType::kFloat32, {9, 3}, 2);
  const auto [ha, da] = binary_request(a);
  const auto [hb, db] = binary_request(b);
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(http_post("double", ha, ha.size() + da.size()) + ha + da +
                          http_post("double", hb, hb.size() + db.size()) + hb + db));
  const RawClient::Reply ra = client.receive();
  const RawClient::Reply rb = client.receive();
  ASSERT_EQ(ra.status, 200) << ra.body;
  ASSERT_EQ(rb.status, 200) << rb.body;
  EXPECT_TRUE(output_bytes(ra) == raw_bytes(doubled(a)));
  EXPECT_TRUE(output_bytes(rb) == raw_bytes(doubled(b)));
}

// A chunked body has no length up front: Beast's parser reads it, and the
// binary input is copied (not aligned) rather than viewed.
TEST_F(ServeBinaryE2E, ChunkedBodyWithBinaryInput) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {33, 3}, 9);
  const auto [header, data] = binary_request(x);
  const std::string body = header + data;
  const auto hex = [](size_t n) { char buf[32]; std::snprintf(buf, sizeof buf, "%zx", n); return std::string(buf); };
  std::string request = "POST /v2/models/double/infer HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
                        "Inference-Header-Content-Length: " + std::to_string(header.size()) + "\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 100) {
    const std::string piece = body.substr(at, 100);
    request += hex(piece.size()) + "\r\n" + piece + "\r\n";
  }
  request += "0\r\n\r\n";
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(request));
  const RawClient::Reply r = client.receive();
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_TRUE(output_bytes(r) == raw_bytes(doubled(x)));
}

TEST_F(ServeBinaryE2E, ClientLeavingMidBodyDoesNotDisturbTheServer) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {400, 3}, 4);
  const auto [header, data] = binary_request(x);
  {
    RawClient leaving(port_);
    ASSERT_TRUE(leaving.connected());
    const std::string request = http_post("double", header, header.size() + data.size()) + header + data;
    ASSERT_TRUE(leaving.send(request.substr(0, request.size() / 2)));
  }  // closed with half the body unsent
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(http_post("double", header, header.size() + data.size()) + header + data));
  const RawClient::Reply r = client.receive();
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(output_bytes(r) == raw_bytes(doubled(x)));
}

}  // namespace
}  // namespace ecoinfer
