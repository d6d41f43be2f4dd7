#include "ocr/cls_stage.h"

#include <string>

#include <opencv2/imgproc.hpp>

#include "ocr/rec_preprocess.h"

namespace ecoinfer::ocr {

Tensor cls_batch_tensor(const std::vector<cv::Mat>& crops, std::span<const size_t> batch) {
  return resize_normalize_batch(crops, batch, kClsHeight, kClsWidth);
}

Expected<std::vector<ClsDecision>> cls_decisions(const Tensor& probs) {
  if (probs.dtype() != DataType::kFloat32 || probs.rank() != 2 || probs.dim(1) != 2)
    return invalid_model("the cls model should output Nx2 float probabilities (labels 0 and 180), got " +
                         shape_to_string(probs.shape()));
  std::vector<ClsDecision> out(static_cast<size_t>(probs.dim(0)));
  const float* p = probs.data<float>();
  for (size_t i = 0; i < out.size(); ++i) {
    const float p0 = p[2 * i], p180 = p[2 * i + 1];
    out[i].label = p180 > p0 ? 1 : 0;
    out[i].score = out[i].label ? p180 : p0;
    out[i].rotate = out[i].label == 1 && out[i].score > kClsThresh;
  }
  return out;
}

void apply_rotations(std::vector<cv::Mat>& crops, std::span<const size_t> batch,
                     const std::vector<ClsDecision>& decisions) {
  for (size_t i = 0; i < batch.size() && i < decisions.size(); ++i) {
    if (!decisions[i].rotate) continue;
    cv::Mat turned;
    cv::rotate(crops[batch[i]], turned, cv::ROTATE_180);
    crops[batch[i]] = turned;
  }
}

}  // namespace ecoinfer::ocr
