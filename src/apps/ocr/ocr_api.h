// The OCR app (PaddleOCR's TextSystem: det -> cls -> rec) as the programs
// that use it see it: options, results and the engine, with no OpenCV type.
//
// Why no OpenCV: the `ecoinfer` command and the server reach OCR through
// the module libecoinfer_ocr.so, loaded only when an OCR command runs or a
// pipeline model is served (ocr_module.h), so that `bench`, `run` and
// `serve` of a plain model never map OpenCV core and imgproc (and the GL,
// X11, LAPACK, TBB and OpenCL libraries they drag). Everything here is
// plain C++ and the pipeline layer's own types.
//
//   auto ocr = ecoinfer::ocr::load_ocr_engine({.models_dir = "models", .workers = 2});
//   if (!ocr) { std::cerr << ocr.status().message() << "\n"; return 1; }
//   OcrBatchResult r = (*ocr)->run_files({"a.png", "b.jpg"});
//   for (auto& image : r.images) if (image) for (auto& line : image->lines) std::cout << line.text;
//
// Models: ch_PP-OCRv4_det_infer.onnx, ch_ppocr_mobile_v2.0_cls_infer.onnx,
// ch_PP-OCRv4_rec_infer.onnx and ppocr_keys_v1.txt in models_dir; with
// precision kInt8 the three models come from models_dir/int8/ under the same
// names (`ecoinfer quantize --pipeline ocr` writes them there).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecoinfer/status.h"
#include "pipeline/executor.h"
#include "pipeline/stage_cache.h"

namespace ecoinfer::ocr {

inline constexpr const char* kDetModelFile = "ch_PP-OCRv4_det_infer.onnx";
inline constexpr const char* kClsModelFile = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
inline constexpr const char* kRecModelFile = "ch_PP-OCRv4_rec_infer.onnx";
inline constexpr const char* kKeysFile = "ppocr_keys_v1.txt";
inline constexpr const char* kInt8ModelsSubdir = "int8";

// Images with more pixels are refused before OCR spends memory on them
// (40 megapixels: larger than any phone photo we expect, about 120 MB as BGR).
inline constexpr int64_t kDefaultMaxPixels = 40'000'000;

// kInt8: the quantized det, cls and rec models from models_dir/int8/.
// kBf16: the fp32 files run with bf16 matrix ops (SessionOptions::precision).
enum class OcrPrecision { kFp32, kBf16, kInt8 };
const char* ocr_precision_name(OcrPrecision p);
Expected<OcrPrecision> parse_ocr_precision(const std::string& name);

// DB post-processing of the det map (db_postprocess.h says what each does).
struct DbOptions {
  float thresh = 0.3f;       // pixel is text when prob > thresh
  float box_thresh = 0.6f;   // box kept when its mean prob >= box_thresh
  float unclip_ratio = 1.5f;
  int min_size = 3;          // shortest side of a box, map pixels
  int max_candidates = 1000;
};

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

struct BoxPoint {
  float x = 0, y = 0;  // source-image pixels
};
using LineBox = std::array<BoxPoint, 4>;  // clockwise from top-left

struct OcrLine {
  std::string text;        // UTF-8
  float confidence = 0;    // recognition confidence, mean per character
  LineBox box;
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

// The loaded OCR system: its three models and the pipeline over them.
// Thread-safe: run_* may be called from several threads at once.
class OcrEngine {
 public:
  virtual ~OcrEngine() = default;

  // Reads, decodes and reads the text of every file. cache: the stage cache
  // (null: none), opened by the caller; the module runs its own copy of the
  // pipeline code on it, which is safe because StageCache keeps no state
  // outside the object (its folder, a size counter, a mutex). workers: 0 takes
  // options().workers (another count compares speed-ups on the same models).
  virtual OcrBatchResult run_files(const std::vector<std::string>& paths, pipeline::StageCache* cache = nullptr,
                                   int workers = 0) const = 0;
  // Encoded image files' bytes (PNG, JPEG, BMP, TIFF, WebP). All or nothing:
  // every image is decoded before any model runs, and the first that fails
  // fails the call with "<item_label> <index>: <why>".
  virtual Expected<std::vector<OcrImage>> run_encoded(const std::vector<std::string_view>& images,
                                                      const std::string& item_label = "image") const = 0;

  virtual const OcrOptions& options() const = 0;
  // The model files loaded (det, cls when used, rec).
  virtual const std::vector<std::filesystem::path>& model_files() const = 0;
  // Model runs recorded so far with save_model_inputs (0 without).
  virtual int saved_model_inputs() const = 0;
};

// Loads libecoinfer_ocr.so on the first call (ocr_module.h: where it is
// found) and the OCR models through it. Errors: a missing or foreign module,
// a missing model or keys file, each one line that says what to do.
Expected<std::unique_ptr<OcrEngine>> load_ocr_engine(const OcrOptions& options);

}  // namespace ecoinfer::ocr
