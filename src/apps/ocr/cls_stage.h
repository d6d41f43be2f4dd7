// Text direction classification (PaddleOCR's TextClassifier with the
// ch_ppocr_mobile_v2.0 cls model): is a crop upright ("0") or upside down
// ("180")? Upside-down crops are turned before recognition, which would
// otherwise read them as nonsense.
//
//   Tensor x = cls_batch_tensor(crops, batch);          // Nx3x48x192
//   // run the cls model -> probs Nx2
//   auto decisions = cls_decisions(probs);
//   apply_rotations(crops, batch, decisions);
#pragma once

#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::ocr {

inline constexpr int kClsHeight = 48;
inline constexpr int kClsWidth = 192;
inline constexpr int kClsBatchSize = 6;
inline constexpr float kClsThresh = 0.9f;  // rotate only when this sure

struct ClsDecision {
  int label = 0;       // 0: "0" degrees, 1: "180" degrees
  float score = 0;     // probability of that label
  bool rotate = false; // label "180" and score > kClsThresh
};

// Nx3x48x192 float32, crops resized to height 48 (width by aspect ratio,
// at most 192), (x / 255 - 0.5) / 0.5, zero padded.
Tensor cls_batch_tensor(const std::vector<cv::Mat>& crops, std::span<const size_t> batch);

// The cls model's output (Nx2 probabilities) -> one decision per row.
Expected<std::vector<ClsDecision>> cls_decisions(const Tensor& probs);

// Turns crops[batch[i]] by 180 degrees where decisions[i].rotate.
void apply_rotations(std::vector<cv::Mat>& crops, std::span<const size_t> batch,
                     const std::vector<ClsDecision>& decisions);

}  // namespace ecoinfer::ocr
