// The OCR system as pipeline stages (src/pipeline), one per step of
// PaddleOCR's TextSystem, each reusing the functions of this folder:
//
//   path -> read file -> encoded -> image decode -> image, image_size
//   image -> det preprocess -> det_input -> det model -> det_map
//   det_map, image -> DB postprocess -> boxes -> crop (with image) -> crops
//   crops -> cls preprocess -> cls_input -> cls model -> cls_probs
//   crops, cls_probs -> rotate -> upright, rotated
//   upright -> rec preprocess -> rec_input -> rec model -> rec_probs
//   rec_probs, upright, boxes, rotated -> CTC decode -> lines (JSON text)
//
// Values between stages are tensors: an image is uint8 HxWx3 (BGR), boxes
// float Nx9 (four corners x, y clockwise from top-left, then the box
// score), crops a list of images, model inputs and outputs a list of the
// per-batch tensors PaddleOCR would run (batches of 6 by aspect ratio).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "ecoinfer/session.h"
#include "ocr/ctc_decode.h"
#include "ocr/db_postprocess.h"
#include "ocr/model_input_recorder.h"
#include "pipeline/pipeline.h"

namespace ecoinfer::ocr {

struct OcrStageSettings {
  DbOptions db;
  float drop_score = 0.5f;
  int64_t max_pixels = 0;
  // Not null: the preprocessing stages also write each model input there
  // (as "det", "cls", "rec"), and skip the stage cache so every item runs.
  std::shared_ptr<ModelInputRecorder> recorder;
};

struct OcrModels {
  std::shared_ptr<const Session> det, cls, rec;  // cls may be null: no direction classifier
  std::string det_hash, cls_hash, rec_hash, keys_hash;  // file hashes, for the cache key and lineage
  std::shared_ptr<const CtcDecoder> decoder;
};

// from_files: the pipeline input is "path" (text); else "image" (a tensor).
// Outputs: "lines" (JSON text) and "image_size" (int64 [height, width]).
std::vector<pipeline::Stage> ocr_stages(const OcrModels& models, const OcrStageSettings& settings, bool from_files);

// An 8-bit BGR image as a uint8 HxWx3 tensor (a copy), and back (a view
// over the tensor's memory: keep the tensor alive).
Tensor image_tensor(const cv::Mat& bgr);
cv::Mat image_view(const Tensor& t);

}  // namespace ecoinfer::ocr
