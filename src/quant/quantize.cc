// quantize_model: load -> (raise the opset) -> calibrate -> rewrite -> save
// -> fidelity on held-out samples.
#include "quant/quantize.h"

#include <algorithm>

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
  message += "; try --per-channel, another --method, more representative --calibration data, or --exclude those layers";
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

  RewriteResult rewrite;
  if (options.mode == QuantMode::kStatic) {
    const auto tensors = tensors_to_calibrate(quantized.graph(), options);
    ECOINFER_ASSIGN_OR_RETURN(auto ranges, collect_ranges(fp32, tensors, samples.calibration, options, progress));
    report.calibration_samples = static_cast<int>(samples.calibration.size());
    ECOINFER_ASSIGN_OR_RETURN(rewrite, rewrite_static(*quantized.mutable_graph(), ranges, options));
  } else {
    ECOINFER_ASSIGN_OR_RETURN(rewrite, rewrite_dynamic(*quantized.mutable_graph(), options));
  }
  if (rewrite.quantized.empty())
    return invalid_argument(fmt::format("nothing to quantize in {}: no {} with a float weight{}", in.string(),
                                        options.mode == QuantMode::kStatic ? "Conv, MatMul or Gemm" : "MatMul",
                                        rewrite.excluded > 0 ? " that --exclude leaves" : ""));
  report.quantized_nodes = static_cast<int>(rewrite.quantized.size());
  report.excluded_nodes = rewrite.excluded;
  for (const QuantizedNode& n : rewrite.quantized) ++report.quantized_by_op[n.op_type];
  quantized.set_producer_name("ecoinfer quantize");
  ECOINFER_RETURN_IF_ERROR(save_model_proto(quantized, out));

  ECOINFER_ASSIGN_OR_RETURN(FidelityResult fidelity, measure_fidelity(fp32, quantized, rewrite.quantized, samples.held_out,
                                                                      options.threads, progress));
  report.int8_runner = fidelity.int8_runner;
  report.outputs = std::move(fidelity.outputs);
  report.layers = std::move(fidelity.layers);
  report.passed = std::all_of(report.outputs.begin(), report.outputs.end(),
                              [&](const OutputFidelity& o) { return o.cosine >= options.min_cosine; });
  report.fp32_bytes = size_of(in);
  report.int8_bytes = size_of(out);
  return report;
}

}  // namespace ecoinfer::quant
