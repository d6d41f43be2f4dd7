// ecoinfer quantize --pipeline ocr --calibration IMAGE_DIR: the three OCR
// models quantized at once, calibrated on what the OCR pipeline really feeds
// them. The fp32 pipeline reads the images with its model inputs recorded
// (det: the resized page, cls and rec: the batches of cropped, rotated,
// resized lines), then each model is quantized on its own recording with the
// settings that keep it above --min-cosine (docs/OCR.md), into MODELS_DIR/int8/
// where `ecoinfer ocr --precision int8` looks.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "ocr/ocr_api.h"
#include "ocr_cli.h"
#include "quantize_flags.h"

namespace ecoinfer::cli {
namespace {
namespace fs = std::filesystem;

// How each model is quantized: settings tried in order, the first whose
// fidelity meets --min-cosine is kept (the last one's file is kept when none
// does). Measured on the OCR pipeline's own inputs from rendered text lines
// (docs/OCR.md). The early layers of det's and rec's backbones carry error
// that spreads through the rest (rec with every Conv int8: cosine 0.95; det:
// 0.986); and the end-to-end criterion is stricter than cosine: text changed
// on at most 1% of lines, where fp32 itself hesitates between "0" and "o" on
// about 3% of them, so any perturbation flips some. These settings are the
// int8 share that keeps both: det's last 12 Conv (the FPN neck's output and
// the DB head), all of cls, rec's transformer MatMuls.
struct Settings {
  quant::RangeMethod method;
  double percentile = 99.99;
  int exclude_first = 0;
  std::vector<std::string> exclude;
};

struct ModelRecipe {
  const char* name;  // the recording's folder: det, cls, rec
  const char* file;
  std::vector<Settings> tries;
};

const std::vector<ModelRecipe>& recipes() {
  using quant::RangeMethod;
  static const std::vector<ModelRecipe> r = {
      // 62 Conv in graph order: the first 50 fp32 (56 if that is not enough).
      // The head's ConvTranspose stay fp32 too: int8 there moves box edges
      // by a pixel, enough to flip two knife-edge lines of the corpus.
      {"det", ocr::kDetModelFile,
       {{RangeMethod::kPercentile, 99.999, 50, {"ConvTranspose"}}, {RangeMethod::kPercentile, 99.999, 56, {"ConvTranspose"}}}},
      {"cls", ocr::kClsModelFile, {{RangeMethod::kPercentile, 99.99, 0}, {RangeMethod::kPercentile, 99.99, 20}}},
      // 38 Conv then 13 MatMul: the MatMuls int8.
      {"rec", ocr::kRecModelFile, {{RangeMethod::kMinMax, 99.99, 0, {"Conv"}}, {RangeMethod::kMinMax, 99.99, 8, {"Conv"}}}},
  };
  return r;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
    if (ext == e) return true;
  return false;
}

Expected<std::vector<std::string>> calibration_images(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return not_found(fmt::format("--calibration {} is not a folder: with --pipeline ocr it holds the images to calibrate on",
                                 dir.string()));
  std::vector<std::string> images;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_image_file(e.path())) images.push_back(e.path().string());
  std::sort(images.begin(), images.end());
  if (images.size() < 3)
    return invalid_argument(fmt::format("--calibration {} has {} image(s) (PNG, JPEG, BMP, TIFF, WebP): give at least 3, "
                                        "better a few dozen like the ones you will read", dir.string(), images.size()));
  return images;
}

// A recording folder that goes away unless the user asked to keep it.
struct RecordingDir {
  fs::path path;
  bool keep = false;
  ~RecordingDir() {
    std::error_code ec;
    if (!keep && !path.empty()) fs::remove_all(path, ec);
  }
};

// Reads the images with the fp32 pipeline, recording the model inputs.
Status record_model_inputs(const fs::path& models_dir, const std::vector<std::string>& images, const fs::path& dir,
                           int threads) {
  ocr::OcrOptions options;
  options.models_dir = models_dir;
  options.workers = threads > 0 ? threads : 1;
  options.save_model_inputs = dir;
  ECOINFER_ASSIGN_OR_RETURN(auto pipe, ocr::load_ocr_engine(options));
  fmt::print(stderr, "reading {} calibration images with the fp32 OCR pipeline\n", images.size());
  const ocr::OcrBatchResult result = pipe->run_files(images);
  for (size_t i = 0; i < images.size(); ++i)
    if (!result.images[i])
      fmt::print(stderr, "ecoinfer: warning: {}: {} (skipped)\n", images[i], result.images[i].status().message());
  for (const ModelRecipe& r : recipes()) {
    std::error_code ec;
    if (!fs::is_directory(dir / r.name, ec))
      return invalid_argument(fmt::format("the calibration images gave the {} model no input (no text found?): "
                                          "give images that hold text lines", r.name));
  }
  return Status::ok();
}

int samples_in(const fs::path& model_dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& input : fs::directory_iterator(model_dir, ec))
    for (const auto& f : fs::directory_iterator(input.path(), ec)) n += f.path().extension() == ".npy";
  return n;
}

}  // namespace

int run_quantize_pipeline(const QuantizeFlags& f) {
  if (!f.model.empty() || f.calibration.empty() || f.calibration_random > 0) {
    fmt::print(stderr, "ecoinfer: error: --pipeline ocr takes no MODEL and needs --calibration IMAGE_DIR "
                       "(a folder of images with text): see ecoinfer quantize --help\n");
    return 2;
  }
  auto images = calibration_images(f.calibration);
  if (!images) return fail(images.status().message());
  const fs::path models_dir = f.models_dir.empty() ? default_ocr_models_dir() : fs::path(f.models_dir);
  const fs::path out_dir = f.out.empty() ? models_dir / ocr::kInt8ModelsSubdir : fs::path(f.out);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return fail(fmt::format("cannot create --out folder {}: {}", out_dir.string(), ec.message()));

  RecordingDir recording;
  recording.keep = !f.save_model_inputs.empty();
  recording.path = recording.keep ? fs::path(f.save_model_inputs)
                                  : fs::temp_directory_path() / fmt::format("ecoinfer-ocr-calibration-{}", getpid());
  // Never empty a folder of the user's: a kept recording must start empty,
  // or an older one's files would be calibrated on too.
  if (recording.keep && fs::exists(recording.path, ec) && !fs::is_empty(recording.path, ec)) {
    return fail(fmt::format("--save-model-inputs {} is not empty: give a new or empty folder", recording.path.string()));
  }
  if (!recording.keep) fs::remove_all(recording.path, ec);
  if (Status s = record_model_inputs(models_dir, *images, recording.path, f.threads); !s.is_ok()) return fail(s.message());

  nlohmann::json doc = {{"pipeline", "ocr"}, {"calibration_images", images->size()}, {"out", out_dir.string()}};
  doc["models"] = nlohmann::json::array();
  std::string failures;
  for (const ModelRecipe& r : recipes()) {
    const int samples = samples_in(recording.path / r.name);
    if (!f.json) fmt::print(stderr, "quantizing {} ({} recorded inputs)\n", r.name, samples);
    QuantizeFlags one = f;
    std::optional<quant::QuantizeReport> report;
    for (size_t t = 0; t < r.tries.size() && !(report && report->passed); ++t) {
      const Settings& s = r.tries[t];
      one = f;
      one.model = (models_dir / r.file).string();
      one.out = (out_dir / r.file).string();
      one.method = std::string(quant::method_name(s.method));
      one.percentile = s.percentile;
      one.per_channel = true;
      one.exclude_first = s.exclude_first;
      one.exclude.insert(one.exclude.end(), s.exclude.begin(), s.exclude.end());
      auto options = to_options(one);
      if (!options) return fail(options.status().message());
      options->calibration.folder = recording.path / r.name;
      options->calibration.held_out = f.held_out > 0 ? f.held_out : std::max(2, samples / 5);
      auto attempt = quant::quantize_model(one.model, one.out, *options, show_progress);
      if (!attempt) return fail(attempt.status().with_context(r.name).message());
      report = std::move(*attempt);
    }
    nlohmann::json j = report_json(one, *report);
    j["name"] = r.name;
    doc["models"].push_back(std::move(j));
    if (!f.json) print_report(one, *report);
    if (!report->passed)
      failures += fmt::format("{}{} ({} was written): {}", failures.empty() ? "" : "; ", r.name, one.out,
                              report->failure_message());
  }
  doc["passed"] = failures.empty();
  // Beside the models, so what they were made from and how close they are stays known.
  std::ofstream(out_dir / "quantize-report.json") << doc.dump(2) << "\n";
  if (f.json) fmt::print("{}\n", doc.dump(2));
  else if (failures.empty()) fmt::print("int8 OCR models in {}: run ecoinfer ocr IMAGE... --precision int8\n", out_dir.string());
  if (!failures.empty()) return fail("fidelity under --min-cosine for " + failures);
  return 0;
}

}  // namespace ecoinfer::cli
