// Reading images for the OCR pipeline: any format OpenCV's imgcodecs decodes
// (PNG, JPEG, BMP, TIFF, WebP...), returned as 8-bit BGR as PaddleOCR reads
// them with cv2.imread, so every later stage sees the same pixels.
//
//   auto image = ecoinfer::ocr::read_image("page.png");
//   if (!image) { std::cerr << image.status().message() << "\n"; return 1; }
#pragma once

#include <filesystem>

#include <opencv2/core.hpp>

#include "ecoinfer/status.h"

namespace ecoinfer::ocr {

// A missing file, a folder, an unreadable file or bytes that are no image
// each give a one-line error naming the path; never an exception.
Expected<cv::Mat> read_image(const std::filesystem::path& path);

}  // namespace ecoinfer::ocr
