// Triton's system shared memory extension through the real `ecoinfer serve`
// over loopback: the test creates POSIX shared memory segments itself
// (shm_open, ftruncate, mmap) as a Triton client does, registers regions,
// and sends cls and rec requests whose input and output live there. The
// outputs must equal, byte for byte, those of the same request sent with
// binary tensors in the HTTP body.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "shm-token";
constexpr const char* kClsOutput = "softmax_0.tmp_0";
constexpr const char* kRecOutput = "softmax_11.tmp_0";

// A POSIX shared memory segment, as a client creates it; unlinked at the end.
class Segment {
 public:
  Segment(const std::string& tag, size_t size) : key_("/ecoinfer_test_" + std::to_string(getpid()) + "_" + tag), size_(size) {
    const int fd = shm_open(key_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, static_cast<off_t>(size)) == 0)
      data_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
  }
  ~Segment() {
    if (data_ && data_ != MAP_FAILED) munmap(data_, size_);
    shm_unlink(key_.c_str());
  }
  bool ok() const { return data_ && data_ != MAP_FAILED; }
  const std::string& key() const { return key_; }
  char* at(size_t offset) { return static_cast<char*>(data_) + offset; }

 private:
  std::string key_;
  size_t size_;
  void* data_ = nullptr;
};

struct Reply {
  int status = 0;
  size_t json_length = 0;  // Inference-Header-Content-Length, 0 when absent
  std::string body;
  json json_part() const { return json::parse(body.substr(0, json_length ? json_length : body.size()), nullptr, false); }
};

size_t header_value(const std::string& headers, const std::string& name) {
  std::string lower = headers;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = lower.find("\r\n" + name + ":");
  return at == std::string::npos ? 0 : std::stoul(headers.substr(at + name.size() + 3));
}

// One request on its own connection (Connection: close), read to the end.
Reply http(int port, const std::string& method, const std::string& path, const std::string& body = "",
           size_t json_length = 0, const std::string& token = kToken) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Reply r;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return r;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + std::string(token) + "\r\n";
  if (json_length) request += "Inference-Header-Content-Length: " + std::to_string(json_length) + "\r\n";
  request += "\r\n" + body;
  for (std::string_view rest = request; !rest.empty();) {
    const ssize_t n = send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos || all.size() < 12) return r;
  const std::string headers = all.substr(0, end);
  r.status = std::stoi(headers.substr(9, 3));
  r.json_length = header_value(headers, "inference-header-content-length");
  r.body = all.substr(end + 4);
  return r;
}

std::string raw_bytes(const Tensor& t) { return {static_cast<const char*>(t.raw_data()), t.nbytes()}; }

class ServeShmE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::temp_dir("serve_shm_e2e_" + std::to_string(getpid())));
    const fs::path repo = *dir_ / "repo";
    for (auto [name, file] : {std::pair{"cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx"},
                              std::pair{"rec", "ch_PP-OCRv4_rec_infer.onnx"}}) {
      fs::create_directories(repo / name / "1");
      fs::create_symlink(testing::models_dir() / file, repo / name / "1" / "model.onnx");
    }
    std::ofstream(*dir_ / "token") << kToken;
    server_ = new testing::SpawnedProcess();
    port_ = testing::start_serve(*server_, testing::cli_path().string(), repo.string(),
                                 {"--auth-token-file", (*dir_ / "token").string()}, 30s);
  }
  static void TearDownTestSuite() {
    delete server_;
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
  }
  void SetUp() override {
    ASSERT_GT(port_, 0) << "ecoinfer serve did not start";
    http(port_, "POST", "/v2/systemsharedmemory/unregister");  // each test starts with no regions
  }

  static Reply register_region(const std::string& name, const std::string& key, size_t offset, size_t byte_size) {
    return http(port_, "POST", "/v2/systemsharedmemory/region/" + name + "/register",
                json{{"key", key}, {"offset", offset}, {"byte_size", byte_size}}.dump());
  }
  // An infer request whose input x is in region `in` and whose output is in region `out`.
  static Reply infer_shm(const std::string& model, const Shape& shape, const std::string& in, size_t in_size,
                         const std::string& output, const std::string& out, size_t out_size, size_t out_offset = 0) {
    // What tritonclient's InferRequestedOutput.set_shared_memory sends: binary_data turned off.
    json output_params = {{"binary_data", false}, {"shared_memory_region", out}, {"shared_memory_byte_size", out_size}};
    if (out_offset) output_params["shared_memory_offset"] = out_offset;
    const json request = {
        {"inputs", {{{"name", "x"}, {"shape", shape}, {"datatype", "FP32"},
                     {"parameters", {{"shared_memory_region", in}, {"shared_memory_byte_size", in_size}}}}}},
        {"outputs", {{{"name", output}, {"parameters", output_params}}}}};
    return http(port_, "POST", "/v2/models/" + model + "/infer", request.dump());
  }
  // The same input as Triton binary data in the body; the output's bytes.
  static std::string infer_binary(const std::string& model, const Tensor& x) {
    const std::string header = json{{"inputs", {{{"name", "x"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                                 {"parameters", {{"binary_data_size", x.nbytes()}}}}}},
                                    {"parameters", {{"binary_data_output", true}}}}
                                   .dump();
    const Reply r = http(port_, "POST", "/v2/models/" + model + "/infer", header + raw_bytes(x), header.size());
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
    return r.json_length ? r.body.substr(r.json_length) : "";
  }

  static fs::path* dir_;
  static testing::SpawnedProcess* server_;
  static int port_;
};
fs::path* ServeShmE2E::dir_ = nullptr;
testing::SpawnedProcess* ServeShmE2E::server_ = nullptr;
int ServeShmE2E::port_ = 0;

TEST_F(ServeShmE2E, RegisterStatusUnregister) {
  Segment seg("reg", 8192);
  ASSERT_TRUE(seg.ok());
  Reply r = register_region("a", seg.key(), 0, 4096);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  ASSERT_EQ(register_region("b", seg.key(), 4100, 4092).status, 200);  // an unaligned offset, up to the end
  r = http(port_, "GET", "/v2/systemsharedmemory/status");
  ASSERT_EQ(r.status, 200);
  const json expected = json::array({{{"name", "a"}, {"key", seg.key()}, {"offset", 0}, {"byte_size", 4096}},
                                     {{"name", "b"}, {"key", seg.key()}, {"offset", 4100}, {"byte_size", 4092}}});
  EXPECT_EQ(r.json_part(), expected) << r.body;
  r = http(port_, "GET", "/v2/systemsharedmemory/region/b/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json_part(), json::array({expected[1]}));
  EXPECT_EQ(http(port_, "GET", "/v2/systemsharedmemory/region/nope/status").status, 404);

  EXPECT_EQ(register_region("a", seg.key(), 0, 16).status, 400);  // duplicate name
  r = register_region("c", "/ecoinfer_no_such_segment", 0, 16);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("cannot open key"), std::string::npos) << r.body;
  r = register_region("c", seg.key(), 4096, 4097);  // one byte past the segment's end
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("beyond the end"), std::string::npos) << r.body;
  EXPECT_EQ(http(port_, "POST", "/v2/systemsharedmemory/region/c/register", "{not json").status, 400);
  EXPECT_EQ(http(port_, "POST", "/v2/systemsharedmemory/region/c/register", R"({"key": "/x"})").status, 400);

  EXPECT_EQ(http(port_, "POST", "/v2/systemsharedmemory/region/a/unregister").status, 200);
  EXPECT_EQ(http(port_, "GET", "/v2/systemsharedmemory/status").json_part(), json::array({expected[1]}));
  EXPECT_EQ(http(port_, "POST", "/v2/systemsharedmemory/unregister").status, 200);
  EXPECT_EQ(http(port_, "GET", "/v2/systemsharedmemory/status").json_part(), json::array());
  // The bearer token applies here as everywhere but health.
  EXPECT_EQ(http(port_, "GET", "/v2/systemsharedmemory/status", "", 0, "").status, 401);
}

TEST_F(ServeShmE2E, MetadataListsTheExtension) {
  const Reply r = http(port_, "GET", "/v2");
  ASSERT_EQ(r.status, 200);
  const json extensions = r.json_part()["extensions"];
  EXPECT_NE(std::find(extensions.begin(), extensions.end(), "system_shared_memory"), extensions.end()) << r.body;
}

TEST_F(ServeShmE2E, ClsAndRecInSharedMemoryEqualBinaryTensors) {
  struct Case {
    std::string model, output;
    Shape shape;
  };
  for (const Case& c : {Case{"cls", kClsOutput, {1, 3, 48, 192}}, Case{"rec", kRecOutput, {1, 3, 48, 320}}}) {
    const Tensor x = testing::random_tensor(DataType::kFloat32, c.shape, 7);
    const std::string expected = infer_binary(c.model, x);
    ASSERT_FALSE(expected.empty()) << c.model;
    Segment in("in_" + c.model, x.nbytes()), out("out_" + c.model, 2 << 20);
    ASSERT_TRUE(in.ok() && out.ok());
    std::memcpy(in.at(0), x.raw_data(), x.nbytes());
    ASSERT_EQ(register_region("in", in.key(), 0, x.nbytes()).status, 200);
    ASSERT_EQ(register_region("out", out.key(), 0, 2 << 20).status, 200);
    const size_t out_offset = 100;  // not aligned: a slice anywhere in the region
    const Reply r = infer_shm(c.model, c.shape, "in", x.nbytes(), c.output, "out", expected.size() + 64, out_offset);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(r.json_length, 0u) << "no binary data follows: the output is in shared memory";
    const json o = r.json_part()["outputs"][0];
    EXPECT_FALSE(o.contains("data"));
    EXPECT_EQ(o["parameters"]["shared_memory_region"], "out");
    EXPECT_EQ(o["parameters"]["shared_memory_byte_size"], expected.size());
    EXPECT_EQ(o["parameters"]["shared_memory_offset"], out_offset);
    EXPECT_TRUE(std::string(out.at(out_offset), expected.size()) == expected) << c.model << ": outputs differ";
    http(port_, "POST", "/v2/systemsharedmemory/unregister");
  }
}

TEST_F(ServeShmE2E, BadSharedMemoryRequestsAre400) {
  const Shape shape = {1, 3, 48, 192};
  const size_t in_size = 3 * 48 * 192 * 4;
  Segment in("bad_in", in_size), out("bad_out", 4096);
  ASSERT_TRUE(in.ok() && out.ok());
  ASSERT_EQ(register_region("in", in.key(), 0, in_size).status, 200);
  ASSERT_EQ(register_region("tiny", out.key(), 0, 4).status, 200);
  ASSERT_EQ(register_region("out", out.key(), 0, 4096).status, 200);

  Reply r = infer_shm("cls", shape, "in", in_size, kClsOutput, "tiny", 4);  // cls gives 1x2 FP32: 8 bytes
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("needs 8 bytes"), std::string::npos) << r.body;
  r = infer_shm("cls", shape, "nowhere", in_size, kClsOutput, "out", 4096);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("no shared memory region 'nowhere'"), std::string::npos) << r.body;
  r = infer_shm("cls", shape, "in", in_size - 4, kClsOutput, "out", 4096);  // size disagrees with the shape
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(std::to_string(in_size)), std::string::npos) << r.body;
  r = infer_shm("cls", shape, "in", in_size, kClsOutput, "out", 4096, 4095);  // slice past the region's end
  EXPECT_EQ(r.status, 400);

  ASSERT_EQ(infer_shm("cls", shape, "in", in_size, kClsOutput, "out", 4096).status, 200);
  ASSERT_EQ(http(port_, "POST", "/v2/systemsharedmemory/region/out/unregister").status, 200);
  r = infer_shm("cls", shape, "in", in_size, kClsOutput, "out", 4096);  // unregistered, then used
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("no shared memory region 'out'"), std::string::npos) << r.body;
}

// Unregistering a region while a request that writes into it runs must not
// unmap it under that request: the request holds the mapping. The request
// either wins the race (200, output written) or, when the unregister comes
// before it was parsed, gets 400; never a crash.
TEST_F(ServeShmE2E, UnregisterWhileARequestRunsIsSafe) {
  const Shape shape = {1, 3, 48, 1280};  // a wide line: rec computes long enough to unregister meanwhile
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 3);
  const std::string expected = infer_binary("rec", x);
  ASSERT_FALSE(expected.empty());
  Segment in("race_in", x.nbytes()), out("race_out", 8 << 20);
  ASSERT_TRUE(in.ok() && out.ok());
  std::memcpy(in.at(0), x.raw_data(), x.nbytes());
  ASSERT_EQ(register_region("in", in.key(), 0, x.nbytes()).status, 200);
  ASSERT_EQ(register_region("out", out.key(), 0, 8 << 20).status, 200);
  Reply r;
  std::thread request([&] { r = infer_shm("rec", shape, "in", x.nbytes(), kRecOutput, "out", 8 << 20); });
  std::this_thread::sleep_for(3ms);
  EXPECT_EQ(http(port_, "POST", "/v2/systemsharedmemory/unregister").status, 200);
  request.join();
  if (r.status == 200) {
    EXPECT_TRUE(std::string(out.at(0), expected.size()) == expected) << "output written into the unregistered region";
  } else {
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("is registered"), std::string::npos) << r.body;
  }
  EXPECT_EQ(http(port_, "GET", "/v2/systemsharedmemory/status").json_part(), json::array());
  EXPECT_EQ(http(port_, "GET", "/v2/health/live").status, 200);
}

}  // namespace
}  // namespace ecoinfer
