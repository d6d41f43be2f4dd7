// ecoinfer info MODEL: what a model takes, gives, and costs.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "precision_options.h"

namespace ecoinfer::cli {
namespace {

struct InfoOptions {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
  bool no_optimize = false;
  bool ops = false;
  Precision precision = Precision::kFp32;
};

nlohmann::json describe_json(const ValueDescription& v) {
  nlohmann::json dims = nlohmann::json::array();
  for (const auto& d : v.shape) dims.push_back(d.is_fixed() ? nlohmann::json(d.value) : nlohmann::json(d.symbol.empty() ? "?" : d.symbol));
  return {{"name", v.name}, {"type", std::string(dtype_name(v.dtype))}, {"shape", v.has_shape ? dims : nlohmann::json(nullptr)}};
}

// FLOPs for the given shapes, by running the model once on generated inputs.
// Returns -1 when shapes are not known (dynamic dims without --shape).
Expected<int64_t> flops_for(const Session& session, const std::map<std::string, Shape>& given, std::string* note) {
  auto shapes = resolve_input_shapes(session, given);
  if (!shapes) {
    *note = shapes.status().message();
    return int64_t{-1};
  }
  std::vector<NodeTrace> trace;
  auto out = session.run(make_inputs(session, *shapes, 1), &trace);
  if (!out) return out.status();
  std::string shown;
  for (const auto& [name, shape] : *shapes) shown += (shown.empty() ? "" : ", ") + name + "=" + shape_to_string(shape);
  *note = shown;
  return estimate_flops(trace);
}

int print_supported_ops(bool json) {
  if (json) {
    fmt::print("{}\n", nlohmann::json(supported_operators()).dump());
  } else {
    fmt::print("ecoinfer runs these ONNX operators (default domain, opsets 7 to 17):\n");
    for (const auto& op : supported_operators()) fmt::print("  {}\n", op);
  }
  return 0;
}

int run_info(const InfoOptions& o) {
  if (o.ops) return print_supported_ops(o.json);
  if (o.model.empty()) return fail("give a MODEL.onnx (or --ops for the supported operators)");
  auto given = parse_shape_flags(o.shapes);
  if (!given) return fail(given.status().message());
  auto session = Session::load(o.model, {.threads = 0, .optimize = !o.no_optimize, .precision = o.precision});
  if (!session) return fail(session.status().message());
  const Session& s = **session;
  std::string flops_note;
  auto flops = flops_for(s, *given, &flops_note);
  if (!flops) return fail(flops.status().message());
  const ModelSummary& m = s.summary();
  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["ir_version"] = m.ir_version;
    j["opset"] = m.opset;
    j["producer"] = m.producer;
    for (const auto& v : s.inputs()) j["inputs"].push_back(describe_json(v));
    for (const auto& v : s.outputs()) j["outputs"].push_back(describe_json(v));
    for (const auto& [op, n] : m.op_histogram) j["op_histogram"][op] = n;
    j["nodes"] = m.node_count;
    j["parameters"] = m.parameter_count;
    j["flops"] = *flops >= 0 ? nlohmann::json(*flops) : nlohmann::json(nullptr);
    j["flops_for"] = flops_note;
    j["precision"] = describe_precision(s);
    j["onednn_isa"] = onednn_cpu_isa();
    // Primitives exist only once the model ran, i.e. when its shapes are known.
    j["onednn_implementations"] = implementations_json();
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model      {}\n", o.model);
  fmt::print("format     ONNX IR {}, opset {}, produced by {}\n", m.ir_version, m.opset, m.producer.empty() ? "?" : m.producer);
  fmt::print("inputs\n");
  for (const auto& v : s.inputs()) fmt::print("  {:<24} {:<8} {}\n", v.name, dtype_name(v.dtype), v.shape_string());
  fmt::print("outputs\n");
  for (const auto& v : s.outputs()) fmt::print("  {:<24} {:<8} {}\n", v.name, dtype_name(v.dtype), v.shape_string());
  fmt::print("parameters {} ({:.2f} M)\n", m.parameter_count, static_cast<double>(m.parameter_count) / 1e6);
  if (*flops >= 0) fmt::print("FLOPs      {:.3f} GFLOP per run for {} (multiply-add = 2)\n", static_cast<double>(*flops) / 1e9, flops_note);
  else fmt::print("FLOPs      unknown: {}\n", flops_note);
  fmt::print("precision  {}   oneDNN ISA {}\n", describe_precision(s), onednn_cpu_isa());
  if (*flops >= 0) print_implementations();
  fmt::print("nodes      {}\n", m.node_count);
  for (const auto& [op, n] : m.op_histogram) fmt::print("  {:<24} {}\n", op, n);
  return 0;
}

}  // namespace

int fail(const std::string& message) {
  std::fprintf(stderr, "ecoinfer: error: %s\n", message.c_str());
  return kExitFailure;
}

void add_info_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Show a model's inputs, outputs, operators, parameters and FLOPs.\n"
                                             "  ecoinfer info model.onnx --shape x=1x3x48x320");
  sub->add_option("model", o->model, "the .onnx file");
  sub->add_option("--shape", o->shapes, "NAME=DIMS for the FLOP estimate when an input has dynamic dimensions, e.g. x=1x3x48x320");
  sub->add_flag("--json", o->json, "print one JSON object");
  sub->add_flag("--no-optimize", o->no_optimize, "run the graph as written, without graph optimizations (for debugging)");
  sub->add_flag("--ops", o->ops, "list the operators ecoinfer supports");
  add_precision_option(sub, o->precision);
  commands.emplace_back(sub, [o] { return run_info(*o); });
}

}  // namespace ecoinfer::cli
