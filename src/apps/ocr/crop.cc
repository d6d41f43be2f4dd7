#include "ocr/crop.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace ecoinfer::ocr {

cv::Mat crop_text_box(const cv::Mat& image, const Quad& box) {
  const int width = std::max(
      1, static_cast<int>(std::max(cv::norm(box[0] - box[1]), cv::norm(box[2] - box[3]))));
  const int height = std::max(
      1, static_cast<int>(std::max(cv::norm(box[0] - box[3]), cv::norm(box[1] - box[2]))));
  const cv::Point2f target[4] = {{0, 0},
                                 {static_cast<float>(width), 0},
                                 {static_cast<float>(width), static_cast<float>(height)},
                                 {0, static_cast<float>(height)}};
  const cv::Mat transform = cv::getPerspectiveTransform(box.data(), target);
  cv::Mat crop;
  cv::warpPerspective(image, crop, transform, cv::Size(width, height), cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  if (static_cast<double>(crop.rows) / crop.cols >= 1.5) {
    cv::Mat turned;
    cv::rotate(crop, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    return turned;
  }
  return crop;
}

}  // namespace ecoinfer::ocr
