// Reading images for the OCR pipeline: any format OpenCV's imgcodecs decodes
// (PNG, JPEG, BMP, TIFF, WebP...), returned as 8-bit BGR as PaddleOCR reads
// them with cv2.imread, so every later stage sees the same pixels.
//
//   auto image = ecoinfer::ocr::read_image("page.png");
//   if (!image) { std::cerr << image.status().message() << "\n"; return 1; }
//
// Decoding loads OpenCV's imgcodecs on first use, through the module
// libecoinfer_imgdecode.so (image_decoder_module.h says why and where it is
// found); without the module, decode_image says so and how to fix it.
//
// The pipeline splits it in two stages: read_file_bytes (the outside world,
// never cached) and decode_image (content-addressed: cached by the bytes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "ecoinfer/status.h"
#include "ocr/ocr_api.h"  // kDefaultMaxPixels

namespace ecoinfer::ocr {

// A missing file, a folder, an unreadable or an empty file each give a
// one-line error (without the path: the caller names the file).
Expected<std::string> read_file_bytes(const std::filesystem::path& path);

// Bytes that are no image, or an image over max_pixels, give a one-line
// error; never an exception.
Expected<cv::Mat> decode_image(std::string_view bytes, int64_t max_pixels = kDefaultMaxPixels);

// Loads the image decoder module now rather than at the first decode: a
// server pays for imgcodecs' ~120 libraries when it loads the OCR model,
// not in its first request, and a missing module fails the load.
Status load_image_decoder();

// Both, with the path in the error.
Expected<cv::Mat> read_image(const std::filesystem::path& path, int64_t max_pixels = kDefaultMaxPixels);

}  // namespace ecoinfer::ocr
