#include "ocr/det_preprocess.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace ecoinfer::ocr {
namespace {

// round(v / 32) * 32 with Python 3's round(): ties go to the even multiple.
int round_to_32(int v) {
  const int rounded = static_cast<int>(std::nearbyint(static_cast<double>(v) / 32.0)) * 32;
  return std::max(rounded, 32);
}

}  // namespace

DetSize det_resize_shape(int height, int width, int limit_side_len) {
  double ratio = 1.0;
  if (std::max(height, width) > limit_side_len)
    ratio = height > width ? static_cast<double>(limit_side_len) / height : static_cast<double>(limit_side_len) / width;
  const int resize_h = static_cast<int>(height * ratio);
  const int resize_w = static_cast<int>(width * ratio);
  return {round_to_32(resize_h), round_to_32(resize_w)};
}

DetInput det_preprocess(const cv::Mat& bgr, int limit_side_len) {
  const DetSize size = det_resize_shape(bgr.rows, bgr.cols, limit_side_len);
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(size.width, size.height));  // bilinear, as cv2.resize
  DetInput in;
  in.source_height = bgr.rows;
  in.source_width = bgr.cols;
  in.tensor = Tensor::zeros(DataType::kFloat32, {1, 3, size.height, size.width});
  static constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
  static constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};
  float* out = in.tensor.data<float>();
  const size_t plane = static_cast<size_t>(size.height) * size.width;
  for (int y = 0; y < size.height; ++y) {
    const uchar* row = resized.ptr<uchar>(y);
    for (int x = 0; x < size.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v = row[x * 3 + c] * (1.0f / 255.0f);
        out[c * plane + static_cast<size_t>(y) * size.width + x] = (v - kMean[c]) / kStd[c];
      }
    }
  }
  return in;
}

}  // namespace ecoinfer::ocr
