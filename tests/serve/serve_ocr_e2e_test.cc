// The OCR pipeline served by `ecoinfer serve`: the real server process on a
// free loopback port with a repository holding the OCR pipeline model
// (ocr/1/pipeline.json) and the real cls ONNX model, driven with curl. A
// rendered text image goes in as BYTES, in JSON (base64 text) and in Triton's
// binary form; the text must equal `ecoinfer ocr --json` on the same file.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/backend/base64.h"
#include "spawned_process.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// Triton's binary BYTES element: a 4-byte little-endian length, then the bytes.
std::string length_prefixed(const std::string& bytes) {
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + bytes;
}

struct Reply {
  int status = 0;
  std::string headers, body;
  json json_body() const { return json::parse(body, nullptr, false); }
};

class ServeOcrE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::temp_dir("serve_ocr_e2e_" + std::to_string(getpid())));
    const fs::path repo = *dir_ / "repo";
    fs::create_directories(repo / "ocr" / "1");
    std::ofstream(repo / "ocr" / "1" / "pipeline.json")
        << json{{"pipeline", "ocr"}, {"models_dir", testing::models_dir().string()}}.dump();
    std::ofstream(repo / "ocr" / "config.json") << R"({"response_cache": true})";
    // The same pipeline with config.json's precision: bf16 matrix ops.
    fs::create_directories(repo / "ocr_bf16" / "1");
    fs::copy_file(repo / "ocr" / "1" / "pipeline.json", repo / "ocr_bf16" / "1" / "pipeline.json");
    std::ofstream(repo / "ocr_bf16" / "config.json") << R"({"precision": "bf16"})";
    fs::create_directories(repo / "cls" / "1");
    fs::copy_file(testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx", repo / "cls" / "1" / "model.onnx");
    render("green energy model 2026", *dir_ / "text.png");
    render("Paris winter market", *dir_ / "other.png");
    server_ = new testing::SpawnedProcess();
    port_ = testing::start_serve(*server_, testing::cli_path().string(), repo.string(), {}, 60s);
    // The reference: `ecoinfer ocr --json` on the same file.
    auto cli = testing::run_cli("ocr --json --no-cache --threads 1 --models-dir " + testing::models_dir().string() +
                                " " + (*dir_ / "text.png").string());
    reference_ = new json(json::parse(cli.out, nullptr, false));
  }
  static void TearDownTestSuite() {
    delete server_;
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
    delete reference_;
  }
  void SetUp() override {
    ASSERT_GT(port_, 0) << "the server did not start";
    ASSERT_TRUE(reference_->contains("images")) << "ecoinfer ocr --json failed";
  }

  // ImageMagick, as tests/apps/make_ocr_corpus.sh renders the corpus.
  static void render(const std::string& text, const fs::path& out) {
    const std::string cmd = "convert -background white -fill black -font DejaVu-Sans -pointsize 34 label:'" + text +
                            "' -bordercolor white -border 40x30 " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  static Reply curl(const std::string& method, const std::string& path, const std::string& body = "",
                    const std::vector<std::string>& headers = {}) {
    static int n = 0;
    const fs::path in = *dir_ / ("body" + std::to_string(++n)), out = *dir_ / ("reply" + std::to_string(n)),
                   head = *dir_ / ("head" + std::to_string(n));
    std::string cmd = "curl -s -X " + method + " -o " + out.string() + " -D " + head.string() + " -w '%{http_code}'";
    for (const auto& h : headers) cmd += " -H '" + h + "'";
    if (!body.empty()) {
      std::ofstream(in, std::ios::binary) << body;
      cmd += " --data-binary @" + in.string();
    }
    cmd += " http://127.0.0.1:" + std::to_string(port_) + path;
    Reply r;
    FILE* p = popen(cmd.c_str(), "r");
    char code[16] = {};
    if (p && std::fgets(code, sizeof code, p)) r.status = std::atoi(code);
    if (p) pclose(p);
    r.headers = read_file(head);
    r.body = read_file(out);
    return r;
  }

  // A JSON infer request: the image's bytes as base64 text (JSON strings hold text).
  static Reply infer_json(const std::string& model, const std::string& image_bytes) {
    const json body = {{"inputs", {{{"name", "image"}, {"shape", json::array({1})}, {"datatype", "BYTES"},
                                    {"data", json::array({base64(image_bytes)})}}}}};
    return curl("POST", "/v2/models/" + model + "/infer", body.dump());
  }

  static std::string expected_text() {
    std::string text;
    for (const json& l : (*reference_)["images"][0]["lines"]) text += (text.empty() ? "" : "\n") + l["text"].get<std::string>();
    return text;
  }

  static json output(const json& reply, const std::string& name) {
    for (const json& o : reply["outputs"])
      if (o["name"] == name) return o;
    return json();
  }

  static fs::path* dir_;
  static testing::SpawnedProcess* server_;
  static int port_;
  static json* reference_;
};
fs::path* ServeOcrE2E::dir_ = nullptr;
testing::SpawnedProcess* ServeOcrE2E::server_ = nullptr;
int ServeOcrE2E::port_ = 0;
json* ServeOcrE2E::reference_ = nullptr;

TEST_F(ServeOcrE2E, MetadataDescribesThePipelineModel) {
  Reply r = curl("GET", "/v2/models/ocr");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json_body();
  EXPECT_EQ(j["platform"], "ecoinfer_ocr");
  EXPECT_EQ(j["versions"], json::array({"1"}));
  EXPECT_EQ(j["inputs"], json::parse(R"([{"name":"image","datatype":"BYTES","shape":[-1]}])"));
  EXPECT_EQ(j["outputs"], json::parse(R"([{"name":"text","datatype":"BYTES","shape":[-1]},
                                          {"name":"lines","datatype":"BYTES","shape":[-1]}])"));
  EXPECT_EQ(curl("GET", "/v2/models/ocr/ready").status, 200);
  EXPECT_EQ(curl("GET", "/v2/health/ready").status, 200);
}

TEST_F(ServeOcrE2E, JsonBytesGiveTheTextOfEcoinferOcr) {
  ASSERT_FALSE(expected_text().empty()) << reference_->dump();
  Reply r = infer_json("ocr", read_file(*dir_ / "text.png"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json_body();
  const json text = output(j, "text");
  EXPECT_EQ(text["datatype"], "BYTES");
  EXPECT_EQ(text["shape"], json::array({1}));
  EXPECT_EQ(text["data"], json::array({expected_text()}));
  // The lines output is `ecoinfer ocr --json`'s per-image object.
  const json lines = json::parse(output(j, "lines")["data"][0].get<std::string>());
  const json& ref = (*reference_)["images"][0];
  EXPECT_EQ(lines["width"], ref["width"]);
  EXPECT_EQ(lines["height"], ref["height"]);
  ASSERT_EQ(lines["lines"].size(), ref["lines"].size());
  for (size_t i = 0; i < ref["lines"].size(); ++i) {
    EXPECT_EQ(lines["lines"][i]["text"], ref["lines"][i]["text"]);
    EXPECT_EQ(lines["lines"][i]["box"], ref["lines"][i]["box"]);
    EXPECT_NEAR(lines["lines"][i]["confidence"].get<double>(), ref["lines"][i]["confidence"].get<double>(), 1e-4);
  }
  EXPECT_GT(j["parameters"]["energy_joules"].get<double>(), 0);
  EXPECT_FALSE(j["parameters"]["energy_method"].get<std::string>().empty());
}

TEST_F(ServeOcrE2E, BinaryBytesInAndOut) {
  const std::string image = length_prefixed(read_file(*dir_ / "text.png"));
  const json header = {{"inputs", {{{"name", "image"}, {"shape", json::array({1})}, {"datatype", "BYTES"},
                                    {"parameters", {{"binary_data_size", image.size()}}}}}},
                       {"outputs", {{{"name", "text"}, {"parameters", {{"binary_data", true}}}}}}};
  const std::string h = header.dump();
  Reply r = curl("POST", "/v2/models/ocr/infer", h + image,
                 {"Inference-Header-Content-Length: " + std::to_string(h.size()),
                  "Content-Type: application/octet-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string marker = "inference-header-content-length: ";
  std::string lower = r.headers;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = lower.find(marker);
  ASSERT_NE(at, std::string::npos) << r.headers;
  const size_t json_size = std::stoul(lower.substr(at + marker.size()));
  const json j = json::parse(r.body.substr(0, json_size));
  ASSERT_EQ(j["outputs"].size(), 1u) << j.dump();  // only the requested output
  EXPECT_EQ(j["outputs"][0]["name"], "text");
  EXPECT_EQ(j["outputs"][0]["datatype"], "BYTES");
  const std::string binary = r.body.substr(json_size);
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], binary.size());
  EXPECT_EQ(binary, length_prefixed(expected_text()));
}

TEST_F(ServeOcrE2E, TheCacheKeysOnTheImageBytes) {
  const std::string text_png = read_file(*dir_ / "text.png");
  Reply first = infer_json("ocr", text_png);
  Reply again = infer_json("ocr", text_png);
  Reply other = infer_json("ocr", read_file(*dir_ / "other.png"));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(again.status, 200) << again.body;
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_TRUE(again.json_body()["parameters"]["cache_hit"].get<bool>());
  EXPECT_EQ(output(again.json_body(), "text"), output(first.json_body(), "text"));
  EXPECT_FALSE(other.json_body()["parameters"]["cache_hit"].get<bool>());
  // Another image's own text (exact OCR accuracy is tests/apps' business, not the server's).
  const std::string other_text = output(other.json_body(), "text")["data"][0].get<std::string>();
  EXPECT_NE(other_text, expected_text());
  EXPECT_NE(other_text.find("Paris"), std::string::npos) << other_text;
}

TEST_F(ServeOcrE2E, ABadImageIs400WithTheDecodersReason) {
  const std::string png = read_file(*dir_ / "text.png");
  Reply truncated = infer_json("ocr", png.substr(0, png.size() / 2));
  EXPECT_EQ(truncated.status, 400);
  EXPECT_NE(truncated.json_body()["error"].get<std::string>().find("element 0: the PNG file is truncated"),
            std::string::npos) << truncated.body;
  Reply not_image = infer_json("ocr", "this is plain text, not an image");
  EXPECT_EQ(not_image.status, 400);
  EXPECT_NE(not_image.json_body()["error"].get<std::string>().find("not an image"), std::string::npos)
      << not_image.body;
  // One bad image fails the whole request (documented: all or nothing).
  const json two = {{"inputs", {{{"name", "image"}, {"shape", json::array({2})}, {"datatype", "BYTES"},
                                 {"data", {base64(png), "garbage"}}}}}};
  Reply mixed = curl("POST", "/v2/models/ocr/infer", two.dump());
  EXPECT_EQ(mixed.status, 400);
  EXPECT_NE(mixed.body.find("element 1"), std::string::npos) << mixed.body;
  // A number is not an image.
  const json numbers = {{"inputs", {{{"name", "image"}, {"shape", json::array({1})}, {"datatype", "FP32"}, {"data", json::array({1.0})}}}}};
  Reply wrong_type = curl("POST", "/v2/models/ocr/infer", numbers.dump());
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(wrong_type.body.find("must be BYTES"), std::string::npos) << wrong_type.body;
  // The server still answers afterwards.
  EXPECT_EQ(infer_json("ocr", png).status, 200);
}

TEST_F(ServeOcrE2E, BytesSentToAnFp32ModelAre400) {
  const json body = {{"inputs", {{{"name", "x"}, {"shape", json::array({1})}, {"datatype", "BYTES"}, {"data", json::array({"hello"})}}}}};
  Reply r = curl("POST", "/v2/models/cls/infer", body.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json_body()["error"],
            "input 'x' of model 'cls' must be float, got BYTES (strings); this model takes numbers (its metadata "
            "lists each input's datatype)") << r.body;
  // Malformed binary BYTES: the length prefix claims more than was sent.
  const std::string bad = std::string("\x10\x00\x00\x00", 4) + "abc";
  const std::string h = json{{"inputs", {{{"name", "image"}, {"shape", json::array({1})}, {"datatype", "BYTES"},
                                          {"parameters", {{"binary_data_size", bad.size()}}}}}}}.dump();
  Reply short_element = curl("POST", "/v2/models/ocr/infer", h + bad,
                             {"Inference-Header-Content-Length: " + std::to_string(h.size())});
  EXPECT_EQ(short_element.status, 400);
  EXPECT_NE(short_element.body.find("says 16 bytes"), std::string::npos) << short_element.body;
}

TEST_F(ServeOcrE2E, MetricsCountOcrRequestsWithEnergy) {
  ASSERT_EQ(infer_json("ocr", read_file(*dir_ / "other.png")).status, 200);
  Reply m = curl("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("ecoinfer_request_success_total{model=\"ocr\",version=\"1\"}"), std::string::npos);
  EXPECT_NE(m.body.find("ecoinfer_energy_joules_total{model=\"ocr\",version=\"1\",method="), std::string::npos)
      << m.body.substr(0, 2000);
}

// config.json's precision reaches the pipeline: the bf16 model reads what
// `ecoinfer ocr --precision bf16` reads.
TEST_F(ServeOcrE2E, PrecisionFromConfigRunsThePipelineInBf16) {
  auto cli = testing::run_cli("ocr --json --no-cache --threads 1 --precision bf16 --models-dir " +
                              testing::models_dir().string() + " " + (*dir_ / "text.png").string());
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json doc = json::parse(cli.out);
  std::string expected;
  for (const json& l : doc["images"][0]["lines"])
    expected += (expected.empty() ? "" : "\n") + l["text"].get<std::string>();
  ASSERT_FALSE(expected.empty()) << cli.out;
  Reply r = infer_json("ocr_bf16", read_file(*dir_ / "text.png"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(output(r.json_body(), "text")["data"], json::array({expected}));
  // The confidence is bf16's, not fp32's (they differ by about 1e-3 here).
  const json served = json::parse(output(r.json_body(), "lines")["data"][0].get<std::string>());
  const double bf16 = doc["images"][0]["lines"][0]["confidence"].get<double>();
  const double fp32 = (*reference_)["images"][0]["lines"][0]["confidence"].get<double>();
  EXPECT_NEAR(served["lines"][0]["confidence"].get<double>(), bf16, 1e-5);
  EXPECT_GT(std::abs(bf16 - fp32), 1e-4) << "bf16 and fp32 read the line with the same confidence";
}

// int8 without the quantized files: the model is UNAVAILABLE with the reason
// (the command that makes them), the server runs, and is not ready.
TEST(ServeOcrInt8, MissingQuantizedModelsMakeTheModelUnavailableWithTheCommand) {
  const fs::path dir = testing::temp_dir("serve_ocr_int8_missing");
  const fs::path repo = dir / "repo";
  fs::create_directories(repo / "ocr" / "1");
  std::ofstream(repo / "ocr" / "1" / "pipeline.json")
      << json{{"pipeline", "ocr"}, {"models_dir", testing::models_dir().string()}}.dump();
  std::ofstream(repo / "ocr" / "config.json") << R"({"precision": "int8"})";
  testing::SpawnedProcess server;
  const int port = testing::start_serve(server, testing::cli_path().string(), repo.string(), {}, 60s);
  ASSERT_GT(port, 0) << "the server did not start";
  const auto ready = testing::run_command("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                                          std::to_string(port) + "/v2/health/ready");
  EXPECT_EQ(ready.out, "400");
  const auto index = testing::run_command("curl -s -X POST http://127.0.0.1:" + std::to_string(port) +
                                          "/v2/repository/index");
  EXPECT_NE(index.out.find("UNAVAILABLE"), std::string::npos) << index.out;
  EXPECT_NE(index.out.find("quantize --pipeline ocr"), std::string::npos) << index.out;
}

// ecoinfer loadgen drives the OCR model with an image file as its BYTES
// input, in Triton's binary form and in JSON (base64): every request answered.
TEST_F(ServeOcrE2E, LoadgenSendsAnImageFileAsBytes) {
  const std::string url = "--url http://127.0.0.1:" + std::to_string(port_);
  for (const std::string mode : {" --binary", ""}) {
    auto run = testing::run_cli("loadgen " + url + " --model ocr --input image=" + (*dir_ / "text.png").string() +
                                " --concurrency 1 --duration 1 --json" + mode);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json level = json::parse(run.out)["levels"][0];
    EXPECT_GT(level["requests"].get<int>(), 0) << mode << run.out;
    EXPECT_EQ(level["errors"].get<int>(), 0) << mode << run.out;
  }
  // An FP32 input given as a file of bytes, and BYTES not given: one-line errors.
  auto wrong = testing::run_cli("loadgen " + url + " --model cls --input x=" + (*dir_ / "text.png").string() +
                                " --duration 1");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("is FP32, not BYTES"), std::string::npos) << wrong.err;
  auto missing = testing::run_cli("loadgen " + url + " --model ocr --duration 1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("give its content with --input image=FILE"), std::string::npos) << missing.err;
}

TEST(Base64, EncodeAndDecodeRoundTrip) {
  for (const std::string bytes : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                                  std::string("\x89PNG\0\xff\x10", 7)}) {
    EXPECT_EQ(serve::encode_base64(bytes), base64(bytes));
    EXPECT_EQ(serve::decode_base64(serve::encode_base64(bytes)), bytes);
  }
}

TEST(Base64, DecodesWhatEncodes) {
  EXPECT_EQ(serve::decode_base64(base64("any\x89PNG bytes\xff")), "any\x89PNG bytes\xff");
  EXPECT_EQ(serve::decode_base64("aGVs\nbG8="), "hello");
  EXPECT_FALSE(serve::decode_base64("hello"));       // 5 characters: not base64
  EXPECT_FALSE(serve::decode_base64("\x89PNG\r\n"));  // raw bytes
  EXPECT_FALSE(serve::decode_base64("aGVsbG8=aGVs"));  // data after padding
}

}  // namespace
}  // namespace ecoinfer
