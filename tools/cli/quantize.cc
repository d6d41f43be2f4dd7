// ecoinfer quantize MODEL --out MODEL.int8.onnx: post-training int8
// quantization with a fidelity report on held-out inputs (src/quant/).
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "quant/quantize.h"
#include "quantize_flags.h"

namespace ecoinfer::cli {

// A bar that redraws itself on a terminal; one line per sample otherwise, so
// logs show where a long calibration is.
void show_progress(const std::string& phase, int done, int total) {
  if (!stderr_is_terminal()) {
    std::fprintf(stderr, "%s %d/%d\n", phase.c_str(), done, total);
    return;
  }
  const int width = 30;
  const int filled = total ? done * width / total : width;
  std::fprintf(stderr, "\r%-12s [%s%s] %d/%d", phase.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '-').c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\r%*s\r", width + 40, "");
  std::fflush(stderr);
}

Expected<quant::QuantizeOptions> to_options(const QuantizeFlags& f) {
  quant::QuantizeOptions o;
  ECOINFER_ASSIGN_OR_RETURN(o.mode, quant::parse_mode(f.mode));
  ECOINFER_ASSIGN_OR_RETURN(o.method, quant::parse_method(f.method));
  ECOINFER_ASSIGN_OR_RETURN(o.calibration.shapes, parse_shape_flags(f.shapes));
  o.percentile = f.percentile;
  o.per_channel = f.per_channel;
  o.exclude = f.exclude;
  o.exclude_first = f.exclude_first;
  o.min_cosine = f.min_cosine;
  o.auto_exclude = f.auto_exclude;
  o.threads = f.threads;
  o.calibration.folder = f.calibration;
  o.calibration.random_count = f.calibration_random;
  o.calibration.held_out = f.held_out > 0 ? f.held_out : 2;
  return o;
}

nlohmann::json report_json(const QuantizeFlags& f, const quant::QuantizeReport& r) {
  nlohmann::json j = {{"model", f.model}, {"out", f.out}, {"mode", r.mode}, {"method", r.method},
                      {"per_channel", r.per_channel}, {"calibration_samples", r.calibration_samples},
                      {"held_out_samples", r.held_out_samples}, {"quantized_nodes", r.quantized_nodes},
                      {"quantized_by_op", r.quantized_by_op}, {"excluded_nodes", r.excluded_nodes},
                      {"exclude", f.exclude}, {"exclude_first", f.exclude_first}, {"auto_excluded", r.auto_excluded},
                      {"int8_runner", r.int8_runner}, {"fp32_bytes", r.fp32_bytes}, {"int8_bytes", r.int8_bytes},
                      {"min_cosine", r.min_cosine}, {"passed", r.passed}};
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs)
    j["outputs"].push_back({{"name", o.name}, {"cosine", o.cosine}, {"max_abs_error", o.max_abs_error},
                            {"top1_agreement", o.top1_agreement}});
  j["layers"] = nlohmann::json::array();
  for (const auto& l : r.layers)
    j["layers"].push_back({{"node", l.node}, {"op_type", l.op_type}, {"tensor", l.tensor}, {"cosine", l.cosine},
                           {"input_cosine", l.input_cosine}, {"max_abs_error", l.max_abs_error}});
  return j;
}

void print_report(const QuantizeFlags& f, const quant::QuantizeReport& r) {
  fmt::print("quantized {} -> {} ({}, {}{})\n", f.model, f.out, r.mode, r.method, r.per_channel ? ", per-channel" : "");
  std::string ops;
  for (const auto& [op, n] : r.quantized_by_op) ops += fmt::format("{}{} {}", ops.empty() ? "" : ", ", op, n);
  fmt::print("  nodes      {} quantized ({}), {} excluded\n", r.quantized_nodes, ops, r.excluded_nodes);
  if (!r.auto_excluded.empty()) {
    std::string kept;
    for (const std::string& n : r.auto_excluded) kept += (kept.empty() ? "" : ", ") + n;
    fmt::print("  fp32       {} node(s) kept by --auto-exclude: {}\n", r.auto_excluded.size(), kept);
  }
  fmt::print("  size       {} -> {}\n", format_bytes(r.fp32_bytes), format_bytes(r.int8_bytes));
  fmt::print("  samples    {} calibration, {} held-out\n", r.calibration_samples, r.held_out_samples);
  fmt::print("  int8 run   {}\n", r.int8_runner);
  fmt::print("fidelity on held-out inputs, fp32 vs int8 (cosine: lowest over samples; top-1: argmax over the last axis)\n");
  fmt::print("  {:<28} {:>9} {:>12} {:>8}\n", "output", "cosine", "max abs err", "top-1");
  for (const auto& o : r.outputs)
    fmt::print("  {:<28} {:>9.5f} {:>12.4g} {:>7.1f}%\n", o.name, o.cosine, o.max_abs_error, 100 * o.top1_agreement);
  fmt::print("worst layers (output of the quantized node, fp32 vs int8)\n");
  for (size_t i = 0; i < r.layers.size() && i < 5; ++i)
    fmt::print("  {:<40} {:<8} cosine {:.5f}\n", r.layers[i].node, r.layers[i].op_type, r.layers[i].cosine);
  if (r.passed) fmt::print("ok: every output has cosine >= {}\n", r.min_cosine);
}

namespace {

int run_quantize(const QuantizeFlags& f) {
  if (!f.pipeline.empty()) return run_quantize_pipeline(f);
  if (f.model.empty() || f.out.empty()) {
    fmt::print(stderr, "ecoinfer: error: quantize needs MODEL and --out (or --pipeline ocr): see ecoinfer quantize --help\n");
    return 2;
  }
  auto options = to_options(f);
  if (!options) return fail(options.status().message());
  auto report = quant::quantize_model(f.model, f.out, *options, show_progress);
  if (!report) return fail(report.status().message());
  if (f.json) {
    fmt::print("{}\n", report_json(f, *report).dump(2));
  } else {
    print_report(f, *report);
  }
  if (!report->passed) return fail(fmt::format("fidelity under --min-cosine ({} was written): {}", f.out,
                                               report->failure_message()));
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, CommandList& commands) {
  auto f = std::make_shared<QuantizeFlags>();
  CLI::App* sub = app.add_subcommand(
      "quantize",
      "Quantize a model to int8 (post-training) and check it against fp32 on held-out inputs.\n"
      "Static (default): activations uint8 from calibration ranges, weights int8, standard QDQ ONNX.\n"
      "  ecoinfer quantize cls.onnx --out cls.int8.onnx --calibration-random 16 --shape x=1x3x48x192 --per-channel\n"
      "  ecoinfer quantize det.onnx --out det.int8.onnx --calibration samples/ --method entropy\n"
      "    (samples/x/*.npy: one file per sample for input x; the last --held-out files are kept for the report)\n"
      "  ecoinfer quantize --pipeline ocr --calibration page_images/    (det, cls and rec -> models/int8/)\n"
      "Fails (exit 1) when an output's cosine similarity is under --min-cosine, naming the worst layers.\n"
      "See docs/QUANTIZATION.md.");
  sub->add_option("model", f->model, "the fp32 .onnx file (not with --pipeline)");
  sub->add_option("--out", f->out, "where to write the quantized model (with --pipeline: the folder, default MODELS_DIR/int8)");
  auto* dir = sub->add_option("--calibration", f->calibration, "folder with DIR/<input name>/*.npy, one file per sample\n"
                                                        "(with --pipeline ocr: a folder of images with text)");
  auto* random = sub->add_option("--calibration-random", f->calibration_random,
                                 "calibrate on N random inputs (uniform in [-1, 1)) instead of a folder")
                     ->check(CLI::PositiveNumber);
  dir->excludes(random);
  sub->add_option("--shape", f->shapes, "NAME=1x3x48x320: the shape of a dynamic input for random data");
  sub->add_option("--method", f->method, "activation range: minmax, percentile or entropy (KL, TensorRT-style)")
      ->capture_default_str();
  sub->add_option("--percentile", f->percentile, "with --method percentile: the share of |x| kept in range")
      ->capture_default_str()->check(CLI::Range(50.0, 100.0));
  sub->add_flag("--per-channel", f->per_channel, "one weight scale per output channel (needs opset 13; raised if lower)");
  sub->add_option("--mode", f->mode, "static (QDQ, calibrated) or dynamic (MatMulInteger, ranges per run)")
      ->capture_default_str();
  sub->add_option("--exclude", f->exclude, "node name or op type to keep fp32 (repeatable)");
  sub->add_option("--min-cosine", f->min_cosine, "fail when an output's cosine similarity is lower")->capture_default_str();
  sub->add_option("--exclude-first", f->exclude_first,
                  "keep fp32 the first N nodes it would quantize, in graph order (early layers' error spreads)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--auto-exclude", f->auto_exclude,
                  "static mode: while under --min-cosine, try keeping fp32 the node adding the most error of its own\n"
                  "(its output's cosine drop against its inputs'), one at a time, kept only when the output improves;\n"
                  "at most N tries, each one fidelity run (default 0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--held-out", f->held_out,
                  "held-out samples for the fidelity report, not used to calibrate (default 2; --pipeline: a fifth)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--pipeline", f->pipeline,
                  "ocr: quantize the OCR models of MODELS_DIR at once, calibrated on the inputs the OCR pipeline\n"
                  "feeds them while reading the images of --calibration IMAGE_DIR; writes OUT (default MODELS_DIR/int8)\n"
                  "for `ecoinfer ocr --precision int8`, each model with the settings docs/OCR.md gives")
      ->check(CLI::IsMember({"ocr"}));
  sub->add_option("--models-dir", f->models_dir, "with --pipeline ocr: the fp32 models' folder (default: as ecoinfer ocr finds it)");
  sub->add_option("--save-model-inputs", f->save_model_inputs,
                  "with --pipeline ocr: keep the recorded model inputs there (DIR/<det|cls|rec>/x/*.npy; default: a temporary folder)");
  sub->add_option("--threads", f->threads, "intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", f->json, "print the report as one JSON object");
  commands.emplace_back(sub, [f] { return run_quantize(*f); });
}

}  // namespace ecoinfer::cli
