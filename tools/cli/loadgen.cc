// ecoinfer loadgen: drive a running KServe v2 server (ecoinfer serve, or
// Triton) at increasing concurrency and report throughput, latency, and the
// server's own queue/compute split and energy per inference for each level.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "serve/loadgen/loadgen.h"

namespace ecoinfer::cli {
namespace {

struct LoadgenFlags {
  serve::LoadgenOptions options;
  std::vector<std::string> shapes;
  std::vector<std::string> input_files;
  std::string concurrency = "1";
  std::string shared_memory = "none";
  int timeout_ms = 30000;
  bool json = false;
};

Expected<std::vector<int>> parse_levels(const std::string& text) {
  std::vector<int> levels;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, end - start);
    if (part.empty() || part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos || std::stoi(part) < 1) {
      return invalid_argument(fmt::format("--concurrency '{}' is not a list of counts of at least 1, e.g. 1,4,16,64", text));
    }
    levels.push_back(std::stoi(part));
    start = end + 1;
  }
  return levels;
}

// NAME=FILE.npy: a tensor; NAME=ANY.OTHER: the file's bytes, one BYTES
// element (an encoded image for an OCR pipeline model).
Status read_input_files(const std::vector<std::string>& flags, serve::LoadgenOptions& options) {
  for (const std::string& flag : flags) {
    const auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
      return invalid_argument(fmt::format("--input '{}' is not NAME=FILE, e.g. --input x=image.npy", flag));
    }
    const std::string name = flag.substr(0, eq), file = flag.substr(eq + 1);
    if (std::filesystem::path(file).extension() != ".npy") {
      std::ifstream in(file, std::ios::binary);
      if (!in) return not_found(fmt::format("--input {}: cannot read '{}'; check the path", flag, file));
      options.bytes_inputs[name] = std::string(std::istreambuf_iterator<char>(in), {});
      continue;
    }
    auto tensor = read_npy(file);
    if (!tensor) return tensor.status().with_context("--input " + flag);
    options.inputs[name] = *tensor;
  }
  return Status::ok();
}

std::string share(const std::optional<double>& v) { return v ? fmt::format("{:.0f}%", *v * 100) : "-"; }

void print_table(const serve::LoadgenReport& r) {
  std::string inputs;
  for (const auto& in : r.inputs) inputs += fmt::format("{}{}={} {}", inputs.empty() ? "" : ", ", in.name, shape_to_string(in.shape), in.datatype);
  fmt::print("model {}{} at {}: {}; {} data; {:g} s per level\n", r.model, r.version.empty() ? "" : " version " + r.version,
             r.url, inputs, r.system_shared_memory ? "system shared memory" : r.binary ? "binary" : "JSON", r.duration_s);
  fmt::print("{:>11} {:>9} {:>8} {:>8} {:>8} {:>12} {:>7} {:>6} {:>8} {:>12} {:>12}  {}\n", "concurrency", "infer/s",
             "p50 ms", "p90 ms", "p99 ms", "overhead ms", "errors", "queue", "compute", "mJ/infer", "mg CO2e/inf",
             "energy method");
  for (const auto& l : r.levels) {
    const auto& s = l.server;
    fmt::print("{:>11} {:>9.1f} {:>8.2f} {:>8.2f} {:>8.2f} {:>12} {:>7} {:>6} {:>8} {:>12} {:>12}  {}\n", l.concurrency,
               l.inferences_per_s, l.p50_ms, l.p90_ms, l.p99_ms,
               l.overhead_p50_ms ? fmt::format("{:.3f}", *l.overhead_p50_ms) : "-", l.errors,
               share(s ? s->queue_share : std::nullopt),
               share(s ? s->compute_share : std::nullopt),
               s && s->joules_per_inference ? fmt::format("{:.3f}", *s->joules_per_inference * 1e3) : "-",
               s && s->carbon_mg_per_inference ? fmt::format("{:.4f}", *s->carbon_mg_per_inference) : "-",
               s ? s->energy_method : "");
  }
  for (const auto& l : r.levels) {
    for (const auto& [kind, n] : l.error_kinds) fmt::print("  concurrency {}: {} x {}\n", l.concurrency, n, kind);
    if (l.server && l.server->cache_hits > 0 && l.server->requests > 0) {
      fmt::print("  concurrency {}: {:.0f}% of requests answered from the server's response cache; {} mJ per request\n",
                 l.concurrency, 100 * l.server->cache_hits / l.server->requests,
                 l.server->joules_per_request ? fmt::format("{:.3f}", *l.server->joules_per_request * 1e3) : "-");
    }
  }
  for (const auto& l : r.levels) {
    if (l.overhead_p50_ms && l.compute_p50_ms)
      fmt::print("  concurrency {}: overhead = latency - the server's compute_seconds, p50 {:.3f} ms ({:.1f}% of "
                 "latency) over {:.2f} ms of compute\n",
                 l.concurrency, *l.overhead_p50_ms, *l.overhead_share_p50 * 100, *l.compute_p50_ms);
  }
  if (!r.metrics_note.empty()) fmt::print("server figures unavailable: {}\n", r.metrics_note);
}

int run_loadgen_command(LoadgenFlags& f) {
  auto shapes = parse_shape_flags(f.shapes);
  if (!shapes) return fail(shapes.status().message());
  f.options.shapes = *shapes;
  if (Status s = read_input_files(f.input_files, f.options); !s) return fail(s.message());
  auto levels = parse_levels(f.concurrency);
  if (!levels) return fail(levels.status().message());
  f.options.concurrency = *levels;
  f.options.timeout = std::chrono::milliseconds(f.timeout_ms);
  f.options.system_shared_memory = f.shared_memory == "system";
  auto report = serve::run_loadgen(f.options, [](int concurrency, double seconds) {
    if (stderr_is_terminal()) std::fprintf(stderr, "loadgen: concurrency %d for %g s...\n", concurrency, seconds);
  });
  if (!report) return fail(report.status().message());
  if (f.json) {
    fmt::print("{}\n", serve::to_json(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    print_table(*report);
  }
  return 0;
}

}  // namespace

void add_loadgen_command(CLI::App& app, CommandList& commands) {
  auto flags = std::make_shared<LoadgenFlags>();
  CLI::App* cmd = app.add_subcommand(
      "loadgen",
      "Load a running inference server (ecoinfer serve, or any KServe v2 / Triton HTTP server) with N concurrent\n"
      "keep-alive clients per level and report throughput, p50/p90/p99 latency, and from the server's /metrics the\n"
      "queue and compute shares of its latency and the energy and carbon per inference.\n"
      "Example: ecoinfer loadgen --url http://127.0.0.1:8000 --model cls --shape x=1x3x48x192 --concurrency 1,4,16");
  cmd->add_option("--url", flags->options.url, "Server base URL")->default_str(flags->options.url);
  cmd->add_option("--model", flags->options.model, "Model name on the server")->required();
  cmd->add_option("--version", flags->options.version, "Model version (default: the server's choice)");
  cmd->add_option("--shape", flags->shapes,
                  "Input shape NAME=DIMS, needed for dynamic dimensions (repeatable), e.g. x=1x3x48x192; the first\n"
                  "dimension is the batch each request carries");
  cmd->add_option("--input", flags->input_files, "Input data instead of random values (repeatable): NAME=FILE.npy for a tensor, or NAME=FILE for a\n"
                  "BYTES input (e.g. --input image=page.png for an OCR pipeline model: the file is one element)");
  cmd->add_option("--concurrency", flags->concurrency, "Comma-separated client counts, one level each, e.g. 1,4,16,64")
      ->default_str("1");
  cmd->add_option("--duration", flags->options.duration_s, "Seconds per level")->default_str("5");
  cmd->add_option("--distinct-inputs", flags->options.distinct_inputs,
                  "Different random request bodies to cycle through (a server's response cache answers repeats)")
      ->default_str("16");
  cmd->add_option("--timeout-ms", flags->timeout_ms, "Per-request timeout in milliseconds")->default_str("30000");
  cmd->add_flag("--binary", flags->options.binary, "Send tensors with Triton's binary tensor extension instead of JSON");
  cmd->add_option("--shared-memory", flags->shared_memory,
                  "none: tensors travel in the HTTP bodies; system: in POSIX shared memory registered with the server\n"
                  "(Triton's system shared memory extension, as perf_analyzer's --shared-memory=system; the server must run\n"
                  "on this host). The loadgen checks once that the outputs equal a binary request's, and removes its\n"
                  "segments and regions at the end")
      ->check(CLI::IsMember({"none", "system"}))
      ->default_str("none");
  cmd->add_flag("--json", flags->json, "Print the report as JSON");
  commands.emplace_back(cmd, [flags] { return run_loadgen_command(*flags); });
}

}  // namespace ecoinfer::cli
