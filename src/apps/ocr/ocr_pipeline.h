// The OCR system (PaddleOCR's TextSystem) on ecoinfer's pipeline layer:
// detect text boxes, cut each one out upright, fix upside-down ones, read
// them. The stages are listed in ocr_stages.h; the executor runs images in
// micro-batches on `workers` threads, with the stage cache when given one.
//
// This is the implementation inside libecoinfer_ocr.so and the OCR tests;
// the command and the server use it through OcrEngine (ocr_api.h), which
// carries no OpenCV type. Options and results: ocr_api.h.
//
//   auto ocr = ecoinfer::ocr::OcrPipeline::load({.models_dir = "models", .workers = 2});
//   if (!ocr) { std::cerr << ocr.status().message() << "\n"; return 1; }
//   auto lines = (*ocr)->run(read_image("page.png").value());
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "ecoinfer/session.h"
#include "ocr/ctc_decode.h"
#include "ocr/db_postprocess.h"
#include "ocr/image_io.h"
#include "ocr/model_input_recorder.h"
#include "ocr/ocr_api.h"
#include "pipeline/executor.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage_cache.h"

namespace ecoinfer::ocr {

class OcrPipeline {
 public:
  static Expected<std::unique_ptr<OcrPipeline>> load(const OcrOptions& options);

  // Reads, decodes and reads the text of every file. workers: 0 takes
  // options().workers (another count compares speed-ups on the same models).
  OcrBatchResult run_files(const std::vector<std::string>& paths, pipeline::StageCache* cache = nullptr,
                           int workers = 0) const;
  // One decoded image (8-bit BGR, read_image's output). Lines in reading order.
  Expected<std::vector<OcrLine>> run(const cv::Mat& image, pipeline::RunProfile* profile = nullptr) const;

  const OcrOptions& options() const { return options_; }
  const pipeline::Pipeline& file_pipeline() const { return from_files_; }
  // The model files this pipeline loaded (det, cls when used, rec).
  const std::vector<std::filesystem::path>& model_files() const { return model_files_; }
  // Model runs recorded so far with save_model_inputs (0 without).
  int saved_model_inputs() const { return recorder_ ? recorder_->saved() : 0; }

 private:
  OcrPipeline(OcrOptions options, pipeline::Pipeline from_files, pipeline::Pipeline from_images)
      : options_(std::move(options)), from_files_(std::move(from_files)), from_images_(std::move(from_images)) {}
  pipeline::RunOptions run_options(pipeline::StageCache* cache, int workers = 0) const;

  OcrOptions options_;
  std::vector<std::filesystem::path> model_files_;
  std::shared_ptr<ModelInputRecorder> recorder_;
  pipeline::Pipeline from_files_;
  pipeline::Pipeline from_images_;
};

}  // namespace ecoinfer::ocr
