#include "ocr/image_io.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "ocr/image_decoder_module.h"
#include "ocr/module_loader.h"

namespace ecoinfer::ocr {
namespace fs = std::filesystem;

Expected<std::string> read_file_bytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("image file does not exist");
  if (fs::is_directory(path, ec)) return invalid_argument("is a folder, not an image file");
  // Reading the bytes ourselves tells "cannot read" apart from "not an image",
  // which cv::imread reports the same way (an empty Mat).
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open the image file (permissions?)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return invalid_argument("the file is empty, not an image");
  return bytes;
}

namespace {

// libpng and libjpeg print their own complaint about a cut-off file to
// stderr before OpenCV gives up; recognizing the two commonest formats'
// end markers first gives one clear error instead.
Status check_not_truncated(std::string_view bytes) {
  constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
  constexpr std::string_view kPngEnd("IEND\xae\x42\x60\x82", 8);
  if (bytes.substr(0, 8) == kPngSignature && bytes.find(kPngEnd, bytes.size() >= 64 ? bytes.size() - 64 : 0) == bytes.npos)
    return invalid_argument("the PNG file is truncated (no IEND chunk at its end): download or copy it again");
  constexpr std::string_view kJpegStart("\xff\xd8\xff", 3);
  constexpr std::string_view kJpegEnd("\xff\xd9", 2);
  if (bytes.substr(0, 3) == kJpegStart && bytes.find(kJpegEnd, bytes.size() >= 64 ? bytes.size() - 64 : 0) == bytes.npos)
    return invalid_argument("the JPEG file is truncated (no end-of-image marker): download or copy it again");
  return Status::ok();
}

using DecodeFunction = decltype(&ecoinfer_imgdecode_v1);

// The decode function of libecoinfer_imgdecode.so, or why it could not be
// loaded; loaded once per process, on the first decode, never unloaded.
const Expected<DecodeFunction>& image_decoder() {
  static const Expected<DecodeFunction> decoder = []() -> Expected<DecodeFunction> {  // initialized once, thread-safe
    ECOINFER_ASSIGN_OR_RETURN(void* symbol, load_module_symbol({kImageDecoderModuleFile, kImageDecoderModuleEnv,
                                                                kImageDecoderSymbol, "image decoder module",
                                                                "ecoinfer_imgdecode"}));
    return reinterpret_cast<DecodeFunction>(symbol);
  }();
  return decoder;
}

}  // namespace

Status load_image_decoder() { return image_decoder().status(); }

Expected<cv::Mat> decode_image(std::string_view bytes, int64_t max_pixels) {
  if (bytes.empty()) return invalid_argument("the file is empty, not an image");
  ECOINFER_RETURN_IF_ERROR(check_not_truncated(bytes));
  const Expected<DecodeFunction>& decode = image_decoder();
  if (!decode) return decode.status();
  cv::Mat image;
  char error[512] = "";
  if ((*decode)(bytes.data(), bytes.size(), &image, error, sizeof error) != 0)
    return invalid_argument(std::string("cannot decode the image: ") + error);
  if (image.empty()) return invalid_argument("not an image OpenCV can decode (expected PNG, JPEG, BMP, TIFF or WebP)");
  if (static_cast<int64_t>(image.rows) * image.cols > max_pixels)
    return invalid_argument("image of " + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                            " pixels is over the limit of " + std::to_string(max_pixels) +
                            " pixels (scale it down, or raise --max-pixels)");
  return image;
}

Expected<cv::Mat> read_image(const fs::path& path, int64_t max_pixels) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.status().with_context(path.string());
  auto image = decode_image(*bytes, max_pixels);
  if (!image) return image.status().with_context(path.string());
  return image;
}

}  // namespace ecoinfer::ocr
