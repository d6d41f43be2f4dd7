// quantize_model: load -> (raise the opset) -> calibrate -> rewrite -> save
// -> fidelity on held-out samples.
#include "quant/quantize.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "ecoinfer/session.h"
#include "quant/calibration.h"
#include "quant/fidelity.h"
#include "quant/model_proto.h"
#include "quant/opset_upgrade.h"
#include "quant/qdq_rewrite.h"

namespace ecoinfer::quant {
namespace fs = std::filesystem;

std::string_view method_name(RangeMethod m) {
  switch (m) {
    case RangeMethod::kMinMax: return "minmax";
    case RangeMethod::kPercentile: return "percentile";
    case RangeMethod::kEntropy: return "entropy";
  }
  return "?";
}

Expected<RangeMethod> parse_method(const std::string& name) {
  if (name == "minmax") return RangeMethod::kMinMax;
  if (name == "percentile") return RangeMethod::kPercentile;
  if (name == "entropy") return RangeMethod::kEntropy;
  return invalid_argument(fmt::format("unknown --method '{}': use minmax, percentile or entropy", name));
}

Expected<QuantMode> parse_mode(const std::string& name) {
  if (name == "static") return QuantMode::kStatic;
  if (name == "dynamic") return QuantMode::kDynamic;
  return invalid_argument(fmt::format("unknown --mode '{}': use static or dynamic", name));
}

std::string QuantizeReport::failure_message() const {
  std::string message;
  for (const OutputFidelity& o : outputs) {
    if (o.cosine >= min_cosine) continue;
    message += fmt::format("{}output '{}': cosine {:.4f} < {}", message.empty() ? "" : "; ", o.name, o.cosine, min_cosine);
  }
  if (message.empty()) return message;
  message += "; worst layers:";
  const size_t shown = std::min<size_t>(layers.size(), 5);
  for (size_t i = 0; i < shown; ++i)
    message += fmt::format("{} {} ({}) {:.4f}", i == 0 ? "" : ",", layers[i].node, layers[i].op_type, layers[i].cosine);
  if (!auto_excluded.empty()) message += fmt::format("; {} node(s) already kept fp32 by --auto-exclude", auto_excluded.size());
  message += "; try --per-channel, another --method, more representative --calibration data, --exclude those layers "
             "or --auto-exclude N";
  return message;
}

namespace {

// Input rank of every node in one traced fp32 run, by node name: Softmax's
// axis meaning depends on it when the opset is raised past 13. Read from the
// first output (same rank for the ops that need it): the trace of a first
// run can hold empty input shapes for inputs already released.
Expected<std::map<std::string, size_t>> input_ranks(const Session& session, const Sample& sample) {
  std::vector<NodeTrace> trace;
  auto out = session.run(sample, &trace);
  if (!out) return out.status().with_context("fp32 run");
  std::map<std::string, size_t> ranks;
  for (const NodeTrace& t : trace)
    if (!t.output_shapes.empty()) ranks[t.name] = t.output_shapes[0].size();
  return ranks;
}

int64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

struct QuantizedModel {
  onnx::ModelProto model;
  RewriteResult rewrite;
  FidelityResult fidelity;
};

double lowest_cosine(const QuantizedModel& m) {
  double lowest = 1;
  for (const OutputFidelity& o : m.fidelity.outputs) lowest = std::min(lowest, o.cosine);
  return lowest;
}

// The layer, not yet tried, whose output lost the most cosine against its
// own inputs: the error it adds itself, where the lowest output cosine would
// mostly name the deepest layer, which only inherits the error of the ones
// before it. Empty when every layer was tried.
std::string largest_own_error(const std::vector<LayerFidelity>& layers, const std::set<std::string>& tried) {
  const LayerFidelity* worst = nullptr;
  for (const LayerFidelity& l : layers) {
    if (tried.count(l.node)) continue;
    if (!worst || l.input_cosine - l.cosine > worst->input_cosine - worst->cosine) worst = &l;
  }
  return worst ? worst->node : std::string();
}

// Rewrites a copy of `unquantized` (the fp32 graph at the needed opset) and
// measures it against fp32 on the held-out samples.
Expected<QuantizedModel> rewrite_and_measure(const onnx::ModelProto& fp32, const onnx::ModelProto& unquantized,
                                             const std::map<std::string, FloatRange>& ranges, const Samples& samples,
                                             const QuantizeOptions& options, const fs::path& in,
                                             const ProgressFn& progress) {
  QuantizedModel m;
  m.model = unquantized;
  if (options.mode == QuantMode::kStatic) {
    ECOINFER_ASSIGN_OR_RETURN(m.rewrite, rewrite_static(*m.model.mutable_graph(), ranges, options));
  } else {
    ECOINFER_ASSIGN_OR_RETURN(m.rewrite, rewrite_dynamic(*m.model.mutable_graph(), options));
  }
  if (m.rewrite.quantized.empty())
    return invalid_argument(fmt::format("nothing to quantize in {}: no {} with a float weight{}", in.string(),
                                        options.mode == QuantMode::kStatic ? "Conv, ConvTranspose, MatMul or Gemm" : "MatMul",
                                        m.rewrite.excluded > 0 ? " that --exclude leaves" : ""));
  m.model.set_producer_name("ecoinfer quantize");
  ECOINFER_ASSIGN_OR_RETURN(m.fidelity, measure_fidelity(fp32, m.model, m.rewrite.quantized, samples.held_out,
                                                         options.threads, progress));
  return m;
}

Status check_paths(const fs::path& in, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
    return invalid_argument(fmt::format("--out {} is the input model: choose another file name", out.string()));
  return Status::ok();
}

}  // namespace

Expected<QuantizeReport> quantize_model(const fs::path& in, const fs::path& out, const QuantizeOptions& options,
                                        const ProgressFn& progress) {
  ECOINFER_RETURN_IF_ERROR(check_paths(in, out));
  if (options.auto_exclude < 0) return invalid_argument("--auto-exclude must be 0 or more (the most nodes to keep fp32)");
  if (options.auto_exclude > 0 && options.mode != QuantMode::kStatic)
    return invalid_argument("--auto-exclude works in static mode only (dynamic mode has no calibrated layers to drop)");
  if (options.min_cosine < -1 || options.min_cosine > 1)
    return invalid_argument(fmt::format("--min-cosine {} is outside [-1, 1]", options.min_cosine));
  ECOINFER_ASSIGN_OR_RETURN(onnx::ModelProto fp32, load_model_proto(in));
  ECOINFER_ASSIGN_OR_RETURN(auto fp32_session, Session::load(in, {.threads = options.threads}));
  ECOINFER_ASSIGN_OR_RETURN(Samples samples, load_samples(options.calibration, fp32_session->inputs(),
                                                                options.mode == QuantMode::kStatic));

  QuantizeReport report;
  report.mode = options.mode == QuantMode::kStatic ? "static" : "dynamic";
  report.method = options.mode == QuantMode::kStatic ? std::string(method_name(options.method)) : "none";
  report.per_channel = options.per_channel;
  report.held_out_samples = static_cast<int>(samples.held_out.size());
  report.min_cosine = options.min_cosine;

  onnx::ModelProto quantized = fp32;
  constants_to_initializers(*quantized.mutable_graph());
  const int64_t needed_opset = options.mode == QuantMode::kDynamic ? 11 : (options.per_channel ? 13 : 10);
  if (default_opset(quantized) < needed_opset) {
    ECOINFER_ASSIGN_OR_RETURN(auto ranks, input_ranks(*fp32_session, samples.calibration.empty() ? samples.held_out[0]
                                                                                               : samples.calibration[0]));
    ECOINFER_RETURN_IF_ERROR(upgrade_opset(quantized, needed_opset, ranks));
  }
  fp32_session.reset();

  std::map<std::string, FloatRange> ranges;
  if (options.mode == QuantMode::kStatic) {
    const auto tensors = tensors_to_calibrate(quantized.graph(), options);
    ECOINFER_ASSIGN_OR_RETURN(ranges, collect_ranges(fp32, tensors, samples.calibration, options, progress));
    report.calibration_samples = static_cast<int>(samples.calibration.size());
  }
  // One rewrite and fidelity measurement; then, while the fidelity is short
  // and auto_exclude allows, the same with one more node kept fp32, kept
  // only when the output improves (error does not always add up: a node's
  // rounding can cancel another's). The ranges were measured for every
  // candidate, so no new calibration is needed.
  const onnx::ModelProto unquantized = std::move(quantized);
  QuantizeOptions round = options;
  ECOINFER_ASSIGN_OR_RETURN(QuantizedModel best, rewrite_and_measure(fp32, unquantized, ranges, samples, round, in, progress));
  std::set<std::string> tried;
  for (int attempt = 0; attempt < options.auto_exclude && lowest_cosine(best) < options.min_cosine; ++attempt) {
    const std::string candidate = largest_own_error(best.fidelity.layers, tried);
    if (candidate.empty()) break;
    tried.insert(candidate);
    QuantizeOptions trial = round;
    trial.exclude.push_back(candidate);
    if (progress) progress("auto-exclude", attempt + 1, options.auto_exclude);
    auto measured = rewrite_and_measure(fp32, unquantized, ranges, samples, trial, in, progress);
    if (!measured) {
      if (measured.status().message().find("nothing to quantize") != std::string::npos) break;
      return measured.status();
    }
    if (lowest_cosine(*measured) <= lowest_cosine(best)) continue;
    best = std::move(*measured);
    round = std::move(trial);
    report.auto_excluded.push_back(candidate);
  }
  ECOINFER_RETURN_IF_ERROR(save_model_proto(best.model, out));
  report.quantized_nodes = static_cast<int>(best.rewrite.quantized.size());
  report.excluded_nodes = best.rewrite.excluded;
  for (const QuantizedNode& n : best.rewrite.quantized) ++report.quantized_by_op[n.op_type];
  report.int8_runner = best.fidelity.int8_runner;
  report.outputs = std::move(best.fidelity.outputs);
  report.layers = std::move(best.fidelity.layers);
  report.passed = std::all_of(report.outputs.begin(), report.outputs.end(),
                              [&](const OutputFidelity& o) { return o.cosine >= options.min_cosine; });
  report.fp32_bytes = size_of(in);
  report.int8_bytes = size_of(out);
  return report;
}

}  // namespace ecoinfer::quant
