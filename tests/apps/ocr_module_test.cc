// The OCR app (with OpenCV core and imgproc) lives in libecoinfer_ocr.so,
// loaded only when an OCR command runs or a pipeline model is served
// (src/apps/ocr/ocr_module.h): the command does not link OpenCV, `bench`
// and a served plain model never map it, `ocr` does, and a missing or
// foreign module is one clear error, in the command and in the server.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ocr/ocr_module.h"
#include "serve/spawned_process.h"
#include "test_util.h"

namespace ecoinfer::ocr {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A 2x1 RGB PNG (as in image_decoder_module_test.cc): decodes, holds no text.
constexpr char kTwoPixelPng[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x02\x00\x00\x00\x01"
    "\x08\x02\x00\x00\x00\x7b\x40\xe8\xdd\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\xf8\xcf\x00\x04"
    "\xff\x01\x07\x00\x01\xff\x3d\x7d\x8c\x49\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

fs::path write_png(const fs::path& dir, const std::string& name = "two-pixels.png") {
  const fs::path png = dir / name;
  std::ofstream(png, std::ios::binary) << std::string_view(kTwoPixelPng, sizeof kTwoPixelPng - 1);
  return png;
}

std::string cls_model() { return (testing::models_dir() / "ch_ppocr_mobile_v2.0_cls_infer.onnx").string(); }

// The command run with the dynamic loader's trace of every library it
// opens, linked or dlopen()ed, over its whole life (on stderr).
testing::CliOutcome run_traced(const std::string& args) {
  return testing::run_command("env LD_DEBUG=files " + testing::cli_path().string() + " " + args);
}

// A line "file=<name or path>  [0];  needed by / dynamically loaded by ...",
// whose name or path holds `library` (and `folder`, when given).
bool opened(const testing::CliOutcome& traced, const std::string& library, const std::string& folder = "") {
  std::istringstream lines(traced.err);
  for (std::string line; std::getline(lines, line);) {
    const size_t file = line.find("file=");
    if (file == std::string::npos) continue;
    const std::string path = line.substr(file, line.find(' ', file) - file);
    if (path.find(library) != std::string::npos && path.find(folder) != std::string::npos) return true;
  }
  return false;
}

TEST(OcrModule, TheCommandLinksNoOpenCv) {
  const auto ldd = testing::run_command("ldd " + testing::cli_path().string());
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  EXPECT_EQ(ldd.out.find("libopencv_"), std::string::npos) << ldd.out;
  EXPECT_EQ(ldd.out.find(kOcrModuleFile), std::string::npos) << ldd.out;
}

TEST(OcrModule, BenchNeverOpensOpenCvAndOcrOpensItThroughTheModule) {
  const auto bench = run_traced("bench " + cls_model() + " --shape x=1x3x48x192 --warmup 1 --iters 1 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err.substr(0, 2000);
  ASSERT_TRUE(opened(bench, "libecoinfer.so")) << "LD_DEBUG=files traced nothing";
  EXPECT_FALSE(opened(bench, "libopencv_core")) << "bench opened OpenCV";
  EXPECT_FALSE(opened(bench, kOcrModuleFile));

  const fs::path png = write_png(testing::temp_dir("ocr_module_traced"));
  const auto ocr = run_traced("ocr --no-cache --json " + png.string());
  ASSERT_EQ(ocr.exit_code, 0) << ocr.err.substr(ocr.err.size() > 2000 ? ocr.err.size() - 2000 : 0);
  EXPECT_TRUE(opened(ocr, kOcrModuleFile));
  EXPECT_TRUE(opened(ocr, "libopencv_core"));
  EXPECT_TRUE(opened(ocr, "libopencv_imgproc"));
}

TEST(OcrModule, MissingModuleIsOneLineNamingTheFileAndTheFix) {
  const fs::path dir = testing::temp_dir("ocr_module_missing");
  const std::string png = write_png(dir).string();
  const std::string missing = "/nonexistent/libecoinfer_ocr.so";
  const std::string env = "env " + std::string(kOcrModuleEnv) + "=" + missing + " " + testing::cli_path().string();
  auto outcome = testing::run_command(env + " ocr --no-cache " + png);
  testing::expect_clean_failure(outcome, missing);
  EXPECT_NE(outcome.err.find("cmake --build build --target ecoinfer_ocr_module"), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.err.find(kOcrModuleEnv), std::string::npos) << outcome.err;

  // quantize --pipeline ocr reaches the pipeline through the same module.
  const fs::path images = dir / "images";
  fs::create_directories(images);
  for (const char* name : {"a.png", "b.png", "c.png"}) write_png(images, name);
  outcome = testing::run_command(env + " quantize --pipeline ocr --calibration " + images.string() + " --out " +
                                 (dir / "int8").string());
  testing::expect_clean_failure(outcome, missing);
}

TEST(OcrModule, ALibraryWithoutTheEntryPointIsRefused) {
  const std::string png = write_png(testing::temp_dir("ocr_module_wrong")).string();
  const std::string wrong = (testing::binary_dir() / "libecoinfer.so").string();
  const auto outcome = testing::run_command("env " + std::string(kOcrModuleEnv) + "=" + wrong + " " +
                                            testing::cli_path().string() + " ocr --no-cache " + png);
  testing::expect_clean_failure(outcome, kOcrModuleSymbol);
}

// After `cmake --install`, the installed command finds the module in
// <prefix>/lib, beside the installed libecoinfer.so, not the build tree's.
TEST(OcrModule, TheInstalledCommandFindsTheInstalledModule) {
  const fs::path dir = testing::temp_dir("ocr_module_install");
  const fs::path prefix = dir / "prefix";
  const auto install = testing::run_command("cmake --install " + testing::binary_dir().string() + " --prefix " +
                                            prefix.string());
  ASSERT_EQ(install.exit_code, 0) << install.err;
  const fs::path png = write_png(dir);
  const auto ocr = testing::run_command("env LD_DEBUG=files " + (prefix / "bin" / "ecoinfer").string() +
                                        " ocr --no-cache --models-dir " + testing::models_dir().string() + " " +
                                        png.string());
  ASSERT_EQ(ocr.exit_code, 0) << ocr.err.substr(ocr.err.size() > 2000 ? ocr.err.size() - 2000 : 0);
  // As found through the RUNPATH: <prefix>/bin/../lib/...
  EXPECT_TRUE(opened(ocr, std::string("/lib/") + kOcrModuleFile, prefix.string())) << "not the installed module";
  EXPECT_TRUE(opened(ocr, "/lib/libecoinfer_imgdecode.so", prefix.string())) << "not the installed decoder";
}

// `ecoinfer serve` on a repository: its port once it listens, or 0.
int start_server(testing::SpawnedProcess& server, const fs::path& repo) {
  return testing::start_serve(server, testing::cli_path().string(), repo.string(), {}, 60s);
}

std::string maps_of(int pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str();
}

TEST(OcrModule, ServingAPlainModelMapsNoOpenCv) {
  const fs::path repo = testing::temp_dir("ocr_module_serve_plain") / "repo";
  fs::create_directories(repo / "cls" / "1");
  fs::copy_file(cls_model(), repo / "cls" / "1" / "model.onnx");
  testing::SpawnedProcess server;
  const int port = start_server(server, repo);
  ASSERT_GT(port, 0) << "the server did not start";
  const auto ready = testing::run_command("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                                          std::to_string(port) + "/v2/models/cls/ready");
  EXPECT_EQ(ready.out, "200");
  const std::string maps = maps_of(server.pid());
  ASSERT_NE(maps.find("libecoinfer.so"), std::string::npos) << "cannot read the server's maps";
  EXPECT_EQ(maps.find("libopencv_"), std::string::npos);
  EXPECT_EQ(maps.find(kOcrModuleFile), std::string::npos);
}

// A pipeline model without the module: UNAVAILABLE with the reason, which
// names the file; the server itself runs.
TEST(OcrModule, ServedPipelineWithoutTheModuleIsUnavailableWithTheReason) {
  const fs::path repo = testing::temp_dir("ocr_module_serve_missing") / "repo";
  fs::create_directories(repo / "ocr" / "1");
  std::ofstream(repo / "ocr" / "1" / "pipeline.json")
      << nlohmann::json{{"pipeline", "ocr"}, {"models_dir", testing::models_dir().string()}}.dump();
  const std::string missing = "/nonexistent/libecoinfer_ocr.so";
  ::setenv(kOcrModuleEnv, missing.c_str(), 1);  // the server inherits it
  testing::SpawnedProcess server;
  const int port = start_server(server, repo);
  ::unsetenv(kOcrModuleEnv);
  ASSERT_GT(port, 0) << "the server did not start";
  const auto index = testing::run_command("curl -s -X POST http://127.0.0.1:" + std::to_string(port) +
                                          "/v2/repository/index");
  EXPECT_NE(index.out.find("UNAVAILABLE"), std::string::npos) << index.out;
  EXPECT_NE(index.out.find(missing), std::string::npos) << index.out;
}

}  // namespace
}  // namespace ecoinfer::ocr
