// The flags of `ecoinfer quantize`, shared by its one-model form
// (quantize.cc) and its pipeline form (quantize_ocr.cc).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecoinfer/status.h"
#include "quant/quantize.h"

namespace ecoinfer::cli {

struct QuantizeFlags {
  std::string model;
  std::string out;
  std::string calibration;
  int calibration_random = 0;
  std::vector<std::string> shapes;
  std::string method = "minmax";
  double percentile = 99.99;
  bool per_channel = false;
  std::string mode = "static";
  std::vector<std::string> exclude;
  int exclude_first = 0;
  double min_cosine = 0.99;
  int auto_exclude = 0;
  int held_out = 0;  // 0: the default (2 per model; a fifth of the samples with --pipeline)
  int threads = 0;
  bool json = false;
  // --pipeline ocr: the three OCR models at once, calibrated on images.
  std::string pipeline;
  std::string models_dir;
  std::string save_model_inputs;
};

Expected<quant::QuantizeOptions> to_options(const QuantizeFlags& f);
void show_progress(const std::string& phase, int done, int total);
void print_report(const QuantizeFlags& f, const quant::QuantizeReport& r);
nlohmann::json report_json(const QuantizeFlags& f, const quant::QuantizeReport& r);

// `ecoinfer quantize --pipeline ocr --calibration IMAGE_DIR` (quantize_ocr.cc).
int run_quantize_pipeline(const QuantizeFlags& f);

}  // namespace ecoinfer::cli
