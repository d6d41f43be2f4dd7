// Detection preprocessing, as PaddleOCR's DetResizeForTest (limit_type
// "max") and NormalizeImage do it: scale so the longer side is at most
// limit_side_len, round both sides to multiples of 32 (the DB network
// downsamples by 32), then normalize with ImageNet mean and std.
//
//   DetInput in = det_preprocess(bgr_image);   // in.tensor: 1x3xHxW float
//   // run the det model on in.tensor; its map is HxW, the image is
//   // in.source_height x in.source_width.
#pragma once

#include <opencv2/core.hpp>

#include "ecoinfer/tensor.h"

namespace ecoinfer::ocr {

inline constexpr int kDetLimitSideLen = 960;

struct DetSize {
  int height = 0;
  int width = 0;
};

// The network input size for an image of `height` x `width`: PaddleOCR's
// rule, with Python's round() (half to even) and a 32-pixel minimum.
DetSize det_resize_shape(int height, int width, int limit_side_len = kDetLimitSideLen);

struct DetInput {
  Tensor tensor;  // 1x3xHxW float32, channels in the image's BGR order
  int source_height = 0;
  int source_width = 0;
};

// PaddleOCR reads BGR with OpenCV and applies mean (0.485, 0.456, 0.406) and
// std (0.229, 0.224, 0.225) in that channel order, i.e. to B, G, R: the model
// was trained that way, so this does the same rather than "fixing" it.
DetInput det_preprocess(const cv::Mat& bgr, int limit_side_len = kDetLimitSideLen);

}  // namespace ecoinfer::ocr
