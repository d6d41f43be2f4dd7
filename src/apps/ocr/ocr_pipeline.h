// The OCR system (PaddleOCR's TextSystem): detect text boxes, cut each one
// out upright, fix upside-down ones, and read them.
//
//   auto ocr = ecoinfer::ocr::OcrPipeline::load({.models_dir = "models", .threads = 2});
//   if (!ocr) { std::cerr << ocr.status().message() << "\n"; return 1; }
//   auto image = ecoinfer::ocr::read_image("page.png");
//   auto lines = (*ocr)->run(*image);   // text, confidence, box per line
//
// Stages, in order (each timed when a StageTimes is given):
//   det preprocess -> det model -> DB postprocess -> crop
//   -> cls preprocess -> cls model -> rec preprocess -> rec model -> CTC decode
// Models: ch_PP-OCRv4_det_infer.onnx, ch_ppocr_mobile_v2.0_cls_infer.onnx,
// ch_PP-OCRv4_rec_infer.onnx and ppocr_keys_v1.txt in models_dir.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "ecoinfer/session.h"
#include "ocr/ctc_decode.h"
#include "ocr/db_postprocess.h"

namespace ecoinfer::ocr {

inline constexpr const char* kDetModelFile = "ch_PP-OCRv4_det_infer.onnx";
inline constexpr const char* kClsModelFile = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
inline constexpr const char* kRecModelFile = "ch_PP-OCRv4_rec_infer.onnx";
inline constexpr const char* kKeysFile = "ppocr_keys_v1.txt";

struct OcrOptions {
  std::filesystem::path models_dir = "models";
  int threads = 0;           // intra-op threads per model run (0: all cores)
  bool use_cls = true;       // run the 0/180 degree classifier
  float drop_score = 0.5f;   // lines read with lower confidence are dropped
  DbOptions db;
};

struct OcrLine {
  std::string text;        // UTF-8
  float confidence = 0;    // recognition confidence, mean per character
  Quad box;                // clockwise from top-left, source-image pixels
  float box_score = 0;     // detection score of the box
  bool rotated = false;    // the cls model turned the crop by 180 degrees
};

enum class Stage {
  kImageDecode,   // reading and decoding the file (timed by the caller)
  kDetPreprocess,
  kDetModel,
  kDbPostprocess,
  kCrop,
  kClsPreprocess,
  kClsModel,
  kRecPreprocess,
  kRecModel,
  kCtcDecode,
  kCount,
};
inline constexpr size_t kStageCount = static_cast<size_t>(Stage::kCount);
const char* stage_name(Stage stage);

// Wall seconds per stage, added up over every run that is given it.
struct StageTimes {
  std::array<double, kStageCount> seconds{};
  double& operator[](Stage s) { return seconds[static_cast<size_t>(s)]; }
  double operator[](Stage s) const { return seconds[static_cast<size_t>(s)]; }
  double total() const;
};

class OcrPipeline {
 public:
  static Expected<std::unique_ptr<OcrPipeline>> load(const OcrOptions& options);

  // image: 8-bit BGR (read_image's output). Lines in reading order.
  Expected<std::vector<OcrLine>> run(const cv::Mat& image, StageTimes* times = nullptr) const;

  const OcrOptions& options() const { return options_; }

 private:
  OcrPipeline(OcrOptions options, std::unique_ptr<Session> det, std::unique_ptr<Session> cls,
              std::unique_ptr<Session> rec, CtcDecoder decoder);

  Expected<std::vector<TextBox>> detect(const cv::Mat& image, StageTimes& times) const;
  Status classify(std::vector<cv::Mat>& crops, std::vector<bool>& rotated, StageTimes& times) const;
  Expected<std::vector<RecText>> recognize(const std::vector<cv::Mat>& crops, StageTimes& times) const;

  OcrOptions options_;
  std::unique_ptr<Session> det_;
  std::unique_ptr<Session> cls_;
  std::unique_ptr<Session> rec_;
  CtcDecoder decoder_;
};

}  // namespace ecoinfer::ocr
