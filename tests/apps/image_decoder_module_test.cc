// OpenCV's imgcodecs (and the ~120 libraries it drags: GDAL, x265, ICU...)
// is loaded only when an image is decoded, through libecoinfer_imgdecode.so
// (src/apps/ocr/image_decoder_module.h): the command and the library do not
// link it, decoding still works, and a missing module is one clear error.
// This program links no imgcodecs itself, so it sees what the CLI sees.
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "ocr/image_decoder_module.h"
#include "ocr/image_io.h"
#include "test_util.h"

namespace ecoinfer::ocr {
namespace {
namespace fs = std::filesystem;

// A 2x1 RGB PNG: one red pixel, then one blue one (made with Python's zlib).
constexpr char kTwoPixelPng[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x02\x00\x00\x00\x01"
    "\x08\x02\x00\x00\x00\x7b\x40\xe8\xdd\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\xf8\xcf\x00\x04"
    "\xff\x01\x07\x00\x01\xff\x3d\x7d\x8c\x49\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
constexpr std::string_view kPng(kTwoPixelPng, sizeof kTwoPixelPng - 1);

bool mapped_in_this_process(const std::string& library) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(library) != std::string::npos;
}

fs::path write_png(const std::string& test) {
  const fs::path png = testing::temp_dir(test) / "two-pixels.png";
  std::ofstream(png, std::ios::binary) << kPng;
  return png;
}

TEST(ImageDecoderModule, ImgcodecsLoadsOnTheFirstDecodeAndGivesBgr) {
  EXPECT_FALSE(mapped_in_this_process("libopencv_imgcodecs")) << "linked, not loaded on demand";
  auto image = decode_image(kPng);
  ASSERT_TRUE(image) << image.status().message();
  EXPECT_TRUE(mapped_in_this_process(kImageDecoderModuleFile));
  EXPECT_TRUE(mapped_in_this_process("libopencv_imgcodecs"));
  ASSERT_EQ(image->rows, 1);
  ASSERT_EQ(image->cols, 2);
  ASSERT_EQ(image->type(), CV_8UC3);
  EXPECT_EQ(image->at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));  // red, in BGR order
  EXPECT_EQ(image->at<cv::Vec3b>(0, 1), cv::Vec3b(255, 0, 0));  // blue
  // Bytes that are no image still say so through the module.
  auto text = decode_image("this is no image");
  ASSERT_FALSE(text);
  EXPECT_NE(text.status().message().find("not an image"), std::string::npos) << text.status().message();
}

TEST(ImageDecoderModule, CommandAndLibraryDoNotLinkImgcodecs) {
  for (const fs::path& binary : {testing::cli_path(), testing::binary_dir() / "libecoinfer.so"}) {
    const auto ldd = testing::run_command("ldd " + binary.string());
    ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
    EXPECT_EQ(ldd.out.find("imgcodecs"), std::string::npos) << binary << ":\n" << ldd.out;
    EXPECT_EQ(ldd.out.find("gdal"), std::string::npos) << binary << ":\n" << ldd.out;
  }
}

TEST(ImageDecoderModule, CommandDecodesThroughTheModule) {
  const auto ok = testing::run_cli("ocr --no-cache --json " + write_png("module_cli_ok").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\"lines\""), std::string::npos) << ok.out;
}

TEST(ImageDecoderModule, MissingModuleIsOneLineNamingTheFileAndTheFix) {
  const std::string png = write_png("module_missing").string();
  const std::string missing = "/nonexistent/libecoinfer_imgdecode.so";
  const auto outcome = testing::run_command("env " + std::string(kImageDecoderModuleEnv) + "=" + missing + " " +
                                            testing::cli_path().string() + " ocr --no-cache " + png);
  testing::expect_clean_failure(outcome, missing);
  EXPECT_NE(outcome.err.find("cmake --build build --target ecoinfer_imgdecode"), std::string::npos) << outcome.err;
}

TEST(ImageDecoderModule, ALibraryWithoutTheDecoderIsRefused) {
  const std::string png = write_png("module_wrong").string();
  const std::string wrong = (testing::binary_dir() / "libecoinfer.so").string();
  const auto outcome = testing::run_command("env " + std::string(kImageDecoderModuleEnv) + "=" + wrong + " " +
                                            testing::cli_path().string() + " ocr --no-cache " + png);
  testing::expect_clean_failure(outcome, kImageDecoderSymbol);
}

}  // namespace
}  // namespace ecoinfer::ocr
