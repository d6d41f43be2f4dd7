// Post-training quantization of an ONNX model: fp32 in, QDQ (static) or
// MatMulInteger (dynamic) ONNX out, with a fidelity report measured on
// held-out inputs.
//
//   ecoinfer::quant::QuantizeOptions o;
//   o.calibration.random_count = 8;
//   o.calibration.shapes = {{"x", {1, 3, 48, 192}}};
//   auto report = ecoinfer::quant::quantize_model("cls.onnx", "cls.int8.onnx", o);
//   if (!report) { std::cerr << report.status().message() << "\n"; }
//   else if (!report->passed) { /* fidelity under o.min_cosine: see report->worst_layers */ }
//
// Static mode: activations asymmetric uint8 (per tensor, range from the
// calibration method), weights symmetric int8 (zero point 0, per output
// channel with per_channel), bias int32 with scale s_x * s_w. QuantizeLinear ->
// DequantizeLinear pairs go on the activation inputs of Conv, ConvTranspose,
// MatMul and Gemm (and of a Concat whose output is quantized, with the
// output's parameters); every other op stays fp32. The file is the standard QDQ format that ONNX
// Runtime's quantizer writes.
//
// Dynamic mode (transformer-style models): MatMul with an fp32 weight becomes
// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(s_x * s_w); no
// calibration data is needed for the ranges, only for the fidelity report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::quant {

enum class RangeMethod { kMinMax, kPercentile, kEntropy };
enum class QuantMode { kStatic, kDynamic };

// Where calibration and held-out inputs come from: a folder, or random data.
//
// Folder layout: DIR/<input name>/*.npy, one sample per file, taken in file
// name order; every input folder must hold the same number of files. The
// last `held_out` samples are kept for the fidelity report and never used for
// calibration.
// Random: `random_count` calibration samples and `held_out` further samples,
// floats uniform in [-1, 1) (integers in [0, 100)), shapes from `shapes`
// (required for every input with a dynamic dimension). Dynamic mode needs
// no calibration samples: random_count may be 0 there.
struct CalibrationSource {
  std::filesystem::path folder;  // empty: random
  int random_count = 0;
  std::map<std::string, Shape> shapes;
  int held_out = 2;
  uint32_t seed = 1;
};

struct QuantizeOptions {
  QuantMode mode = QuantMode::kStatic;
  RangeMethod method = RangeMethod::kMinMax;
  double percentile = 99.99;  // kPercentile: the share of |values| kept inside the range
  bool per_channel = false;
  // Node names or op types that stay fp32.
  std::vector<std::string> exclude;
  // Static mode: the first this many nodes it would quantize, in graph
  // order, stay fp32 (the early layers of PaddleOCR's det and rec carry
  // the error that spreads through the rest).
  int exclude_first = 0;
  CalibrationSource calibration;
  double min_cosine = 0.99;
  // Static mode: while an output's cosine is under min_cosine, try keeping
  // in fp32 the quantized node that adds the most error of its own (its
  // output's cosine drop against its inputs', on the held-out samples), one
  // node at a time, keeping each only when the output's cosine improves; at
  // most this many tries (0: never).
  int auto_exclude = 0;
  int threads = 0;  // ecoinfer sessions for calibration and fidelity (0: all cores)
};

// The agreement of one model output between fp32 and int8 over the held-out
// samples: the lowest cosine similarity of any sample, the largest absolute
// difference, and the share of positions whose argmax over the last axis
// agrees.
struct OutputFidelity {
  std::string name;
  double cosine = 1;
  double max_abs_error = 0;
  double top1_agreement = 1;
};

// The output of one quantized node, fp32 model against int8 model (lowest
// cosine over the held-out samples): where the error comes from.
struct LayerFidelity {
  std::string node;
  std::string op_type;
  std::string tensor;
  double cosine = 1;
  double max_abs_error = 0;
  double input_cosine = 1;  // its activation inputs' (lowest): cosine - input_cosine is its own share
};

struct QuantizeReport {
  std::string mode;    // "static" | "dynamic"
  std::string method;  // "minmax" | "percentile" | "entropy" | "none" (dynamic)
  bool per_channel = false;
  int calibration_samples = 0;
  int held_out_samples = 0;
  int quantized_nodes = 0;
  int excluded_nodes = 0;
  std::vector<std::string> auto_excluded;  // kept fp32 by auto_exclude (the tries that helped), in order
  std::map<std::string, int> quantized_by_op;
  // How the int8 model was run for the fidelity report: "ecoinfer", or
  // "ecoinfer (float emulation of the Q/DQ graph)" where the engine has no
  // kernels for the quantized ops yet.
  std::string int8_runner;
  std::vector<OutputFidelity> outputs;
  std::vector<LayerFidelity> layers;  // sorted, worst first
  double min_cosine = 0.99;
  bool passed = true;  // every output's cosine >= min_cosine
  int64_t fp32_bytes = 0;
  int64_t int8_bytes = 0;
  // "output 'y': cosine 0.95 < 0.99; worst layers: conv3 (Conv) 0.93, ..."
  std::string failure_message() const;
};

// Progress of the calibration and fidelity runs: a phase ("calibrating",
// "histograms", "fidelity"), samples done, samples in all.
using ProgressFn = std::function<void(const std::string& phase, int done, int total)>;

std::string_view method_name(RangeMethod m);
Expected<RangeMethod> parse_method(const std::string& name);
Expected<QuantMode> parse_mode(const std::string& name);

// Writes the quantized model to `out` and returns the fidelity report. A
// fidelity under min_cosine is not an error here (report.passed is false and
// the file is written); the caller decides.
Expected<QuantizeReport> quantize_model(const std::filesystem::path& in, const std::filesystem::path& out,
                                        const QuantizeOptions& options, const ProgressFn& progress = {});

}  // namespace ecoinfer::quant
