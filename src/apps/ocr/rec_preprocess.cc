#include "ocr/rec_preprocess.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/imgproc.hpp>

namespace ecoinfer::ocr {

int resized_width(int crop_height, int crop_width, int target_height, int max_width) {
  const double ratio = static_cast<double>(crop_width) / crop_height;
  const double w = std::ceil(target_height * ratio);
  return w > max_width ? max_width : std::max(1, static_cast<int>(w));
}

int rec_batch_width(const std::vector<cv::Mat>& crops, std::span<const size_t> batch) {
  double max_ratio = static_cast<double>(kRecMinWidth) / kRecHeight;
  for (size_t i : batch) max_ratio = std::max(max_ratio, static_cast<double>(crops[i].cols) / crops[i].rows);
  return static_cast<int>(kRecHeight * max_ratio);
}

std::vector<size_t> order_by_aspect_ratio(const std::vector<cv::Mat>& crops) {
  std::vector<size_t> order(crops.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return static_cast<double>(crops[a].cols) / crops[a].rows < static_cast<double>(crops[b].cols) / crops[b].rows;
  });
  return order;
}

Tensor resize_normalize_batch(const std::vector<cv::Mat>& crops, std::span<const size_t> batch, int height,
                              int width) {
  Tensor out = Tensor::zeros(DataType::kFloat32, {static_cast<int64_t>(batch.size()), 3, height, width});
  float* dst = out.data<float>();
  const size_t plane = static_cast<size_t>(height) * width;
  for (size_t n = 0; n < batch.size(); ++n) {
    const cv::Mat& crop = crops[batch[n]];
    const int w = resized_width(crop.rows, crop.cols, height, width);
    cv::Mat resized;
    cv::resize(crop, resized, cv::Size(w, height));
    float* image = dst + n * 3 * plane;
    for (int y = 0; y < height; ++y) {
      const uchar* row = resized.ptr<uchar>(y);
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          image[c * plane + static_cast<size_t>(y) * width + x] = (row[x * 3 + c] / 255.0f - 0.5f) / 0.5f;
    }
  }
  return out;
}

}  // namespace ecoinfer::ocr
