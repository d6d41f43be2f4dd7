#include "ocr/image_io.h"

#include <fstream>
#include <iterator>
#include <vector>

#include <opencv2/imgcodecs.hpp>

namespace ecoinfer::ocr {
namespace fs = std::filesystem;

Expected<cv::Mat> read_image(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path.string() + ": image file does not exist");
  if (fs::is_directory(path, ec)) return invalid_argument(path.string() + ": is a folder, not an image file");
  // Reading the bytes ourselves tells "cannot read" apart from "not an image",
  // which cv::imread reports the same way (an empty Mat).
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path.string() + ": cannot open the image file (permissions?)");
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return invalid_argument(path.string() + ": the file is empty, not an image");
  cv::Mat image;
  try {
    image = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return invalid_argument(path.string() + ": cannot decode the image: " + e.err);
  }
  if (image.empty())
    return invalid_argument(path.string() +
                            ": not an image OpenCV can decode (expected PNG, JPEG, BMP, TIFF or WebP)");
  return image;
}

}  // namespace ecoinfer::ocr
