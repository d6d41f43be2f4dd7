// Recognition (and angle classification) preprocessing, as PaddleOCR's
// resize_norm_img: resize a crop to a fixed height keeping its aspect ratio,
// normalize to [-1, 1], and pad with zeros on the right to the batch width.
// Crops are batched in order of aspect ratio so that each batch is padded
// as little as possible.
//
//   std::vector<size_t> order = order_by_aspect_ratio(crops);
//   std::span<const size_t> batch(order.data(), std::min<size_t>(6, order.size()));
//   int width = rec_batch_width(crops, batch);          // >= 320
//   Tensor x = resize_normalize_batch(crops, batch, kRecHeight, width);  // Nx3x48xwidth
#pragma once

#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "ecoinfer/tensor.h"

namespace ecoinfer::ocr {

inline constexpr int kRecHeight = 48;
inline constexpr int kRecMinWidth = 320;  // PP-OCRv4 rec_image_shape 3,48,320
inline constexpr int kRecBatchSize = 6;

// min(ceil(height_target * w / h), max_width): a crop's width after resizing.
int resized_width(int crop_height, int crop_width, int target_height, int max_width);

// int(48 * max(320/48, widest w/h in the batch)): every crop of the batch
// fits at full resolution, and short lines still get PaddleOCR's 320.
int rec_batch_width(const std::vector<cv::Mat>& crops, std::span<const size_t> batch);

// Indices of `crops` sorted by width/height, narrowest first (stable).
std::vector<size_t> order_by_aspect_ratio(const std::vector<cv::Mat>& crops);

// Nx3xHxW float32 of crops[batch[i]]: each resized to H x resized_width
// (bilinear), scaled as (x / 255 - 0.5) / 0.5 in BGR channel order, zero
// padded on the right.
Tensor resize_normalize_batch(const std::vector<cv::Mat>& crops, std::span<const size_t> batch, int height,
                              int width);

}  // namespace ecoinfer::ocr
