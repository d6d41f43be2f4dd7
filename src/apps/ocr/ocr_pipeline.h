// The OCR system (PaddleOCR's TextSystem) on ecoinfer's pipeline layer:
// detect text boxes, cut each one out upright, fix upside-down ones, read
// them. The stages are listed in ocr_stages.h; the executor runs images in
// micro-batches on `workers` threads, with the stage cache when given one.
//
//   auto ocr = ecoinfer::ocr::OcrPipeline::load({.models_dir = "models", .workers = 2});
//   if (!ocr) { std::cerr << ocr.status().message() << "\n"; return 1; }
//   OcrBatchResult r = (*ocr)->run_files({"a.png", "b.jpg"});
//   for (auto& image : r.images) if (image) for (auto& line : image->lines) std::cout << line.text;
//
// Models: ch_PP-OCRv4_det_infer.onnx, ch_ppocr_mobile_v2.0_cls_infer.onnx,
// ch_PP-OCRv4_rec_infer.onnx and ppocr_keys_v1.txt in models_dir; with
// precision kInt8 the three models come from models_dir/int8/ under the same
// names (`ecoinfer quantize --pipeline ocr` writes them there).
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
#include "pipeline/executor.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage_cache.h"

namespace ecoinfer::ocr {

inline constexpr const char* kDetModelFile = "ch_PP-OCRv4_det_infer.onnx";
inline constexpr const char* kClsModelFile = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
inline constexpr const char* kRecModelFile = "ch_PP-OCRv4_rec_infer.onnx";
inline constexpr const char* kKeysFile = "ppocr_keys_v1.txt";
inline constexpr const char* kInt8ModelsSubdir = "int8";

// kInt8: the quantized det, cls and rec models from models_dir/int8/.
// kBf16: the fp32 files run with bf16 matrix ops (SessionOptions::precision).
enum class OcrPrecision { kFp32, kBf16, kInt8 };
const char* ocr_precision_name(OcrPrecision p);
Expected<OcrPrecision> parse_ocr_precision(const std::string& name);

struct OcrOptions {
  std::filesystem::path models_dir = "models";
  int threads = 1;           // intra-op threads per model run (0: all cores)
  int workers = 1;           // pipeline workers: stage tasks running at once
  size_t batch_size = 4;     // images per micro-batch
  bool use_cls = true;       // run the 0/180 degree classifier
  float drop_score = 0.5f;   // lines read with lower confidence are dropped
  int64_t max_pixels = kDefaultMaxPixels;
  DbOptions db;
  OcrPrecision precision = OcrPrecision::kFp32;
  // Not empty: every tensor fed to det, cls and rec is also written to
  // save_model_inputs/<det|cls|rec>/x/<hash>.npy (model_input_recorder.h),
  // calibration data for `ecoinfer quantize`. Preprocessing then skips the
  // stage cache, so cached images are recorded too.
  std::filesystem::path save_model_inputs;
};

struct OcrLine {
  std::string text;        // UTF-8
  float confidence = 0;    // recognition confidence, mean per character
  Quad box;                // clockwise from top-left, source-image pixels
  float box_score = 0;     // detection score of the box
  bool rotated = false;    // the cls model turned the crop by 180 degrees
};

struct OcrImage {
  int width = 0, height = 0;
  std::vector<OcrLine> lines;  // reading order
};

struct OcrBatchResult {
  std::vector<Expected<OcrImage>> images;  // per input, in order; a bad file fails alone
  pipeline::RunProfile profile;
  nlohmann::json lineage;                  // with a cache (docs/PIPELINES.md)
};

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
