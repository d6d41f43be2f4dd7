// ecoinfer bench MODEL: latency percentiles, throughput, load time, memory.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "profile.h"
#include "energy_options.h"
#include "precision_options.h"

namespace ecoinfer::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::vector<std::string> shapes;
  std::vector<std::string> fills;  // NAME=VALUE: that input holds VALUE everywhere
  int threads = 0;
  int warmup = 5;
  int iters = 50;
  bool json = false;
  bool profile = false;
  bool no_optimize = false;
  Precision precision = Precision::kFp32;
  EnergyFlags energy;
};

struct LatencyStats {
  double p50, p90, p99, mean, min;
};

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

LatencyStats summarize(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  const double mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / static_cast<double>(seconds.size());
  return {percentile(seconds, 50), percentile(seconds, 90), percentile(seconds, 99), mean, seconds.front()};
}

// "bench  [#########-----------]  23/50" on a terminal, nothing otherwise.
void show_progress(int done, int total) {
  if (!stderr_is_terminal()) return;
  const int width = 30;
  const int filled = total ? done * width / total : width;
  std::fprintf(stderr, "\rbench  [%s%s] %d/%d", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '-').c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\r%*s\r", width + 30, "");
  std::fflush(stderr);
}

// --fill NAME=VALUE: generated inputs are uniform noise (integers in
// [0, 100)); a transformer's attention_mask is 1 and 0, and its values
// decide the softmax's work (a mask of 0..99 adds up to 990000 to the
// scores, whose exps then underflow: ONNX Runtime's softmax runs 14x
// slower on them).
Status fill_inputs(const std::vector<std::string>& fills, std::vector<NamedTensor>& inputs) {
  for (const std::string& f : fills) {
    const size_t eq = f.find('=');
    if (eq == std::string::npos) return invalid_argument(fmt::format("--fill wants NAME=VALUE, got '{}'", f));
    const std::string name = f.substr(0, eq);
    double value = 0;
    try {
      value = std::stod(f.substr(eq + 1));
    } catch (const std::exception&) {
      return invalid_argument(fmt::format("--fill {}: '{}' is not a number", name, f.substr(eq + 1)));
    }
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const NamedTensor& t) { return t.name == name; });
    if (it == inputs.end()) return invalid_argument(fmt::format("--fill: the model has no input '{}'", name));
    Tensor& t = it->tensor;
    switch (t.dtype()) {
      case DataType::kFloat32: std::fill_n(t.data<float>(), t.numel(), static_cast<float>(value)); break;
      case DataType::kInt64: std::fill_n(t.data<int64_t>(), t.numel(), static_cast<int64_t>(value)); break;
      case DataType::kInt32: std::fill_n(t.data<int32_t>(), t.numel(), static_cast<int32_t>(value)); break;
      default: return invalid_argument(fmt::format("--fill {}: only float32, int64 and int32 inputs", name));
    }
  }
  return Status::ok();
}

int run_bench(const BenchOptions& o) {
  auto given = parse_shape_flags(o.shapes);
  if (!given) return fail(given.status().message());
  const auto load_start = std::chrono::steady_clock::now();
  auto session = Session::load(o.model, {.threads = o.threads, .optimize = !o.no_optimize, .precision = o.precision});
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  if (!session) return fail(session.status().message());
  const Session& s = **session;
  auto shapes = resolve_input_shapes(s, *given);
  if (!shapes) return fail(shapes.status().message());
  std::vector<NamedTensor> inputs = make_inputs(s, *shapes, 42);
  if (Status st = fill_inputs(o.fills, inputs); !st.is_ok()) return fail(st.message());
  auto energy = prepare_energy(o.energy, resolve_thread_count(o.threads));
  if (!energy) return fail(energy.status().message());

  std::vector<NodeTrace> trace;  // the first run also yields the FLOP count
  auto first = s.run(inputs, &trace);
  if (!first) return fail(first.status().message());
  const int64_t flops = estimate_flops(trace);
  for (int i = 1; i < o.warmup; ++i) {
    if (auto r = s.run(inputs); !r) return fail(r.status().message());
  }
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(o.iters));
  // Energy covers the timed loop only: warm-up (primitive creation, cold
  // caches) is excluded, and the total is split over the timed runs.
  if (Status m = start_meters(*energy); !m.is_ok()) return fail(m.message());
  for (int i = 0; i < o.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = s.run(inputs);
    samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!r) return fail(r.status().message());
    show_progress(i + 1, o.iters);
  }
  EnergyRun energy_run;
  if (Status m = stop_meters(*energy, energy_run); !m.is_ok()) return fail(m.message());
  const LatencyStats st = summarize(samples);
  const int64_t batch = shapes->empty() || shapes->front().second.empty() ? 1 : shapes->front().second.front();
  const int threads = resolve_thread_count(o.threads);
  const std::string isa = onednn_cpu_isa();
  const int64_t rss = peak_rss_bytes();
  energy_run.inferences = o.iters;
  energy_run.batch = batch;
  energy_run.model = o.model;
  if (Status w = write_emissions_row(*energy, energy_run); !w.is_ok()) return fail(w.message());
  // Profiled runs come after the timed loop so tracing never skews latency.
  std::optional<Profile> profile;
  if (o.profile) {
    auto p = profile_session(s, inputs, std::min(o.iters, 20));
    if (!p) return fail(p.status().message());
    profile = std::move(*p);
  }

  std::string shape_text;
  for (const auto& [name, shape] : *shapes) shape_text += (shape_text.empty() ? "" : " ") + name + "=" + shape_to_string(shape);
  if (o.json) {
    nlohmann::json j = {
        {"model", o.model}, {"shapes", shape_text}, {"batch", batch}, {"threads", threads},
        {"warmup", o.warmup}, {"iters", o.iters}, {"load_seconds", load_seconds},
        {"latency_ms", {{"p50", st.p50 * 1e3}, {"p90", st.p90 * 1e3}, {"p99", st.p99 * 1e3}, {"mean", st.mean * 1e3}, {"min", st.min * 1e3}}},
        {"throughput_runs_per_s", 1.0 / st.mean}, {"throughput_items_per_s", static_cast<double>(batch) / st.mean},
        {"flops_per_run", flops}, {"gflops_per_s", static_cast<double>(flops) / st.p50 / 1e9},
        {"peak_rss_bytes", rss}, {"onednn_isa", isa}, {"precision", describe_precision(s)},
        {"onednn_implementations", implementations_json()}};
    energy_json(*energy, energy_run, j);
    if (profile) j["profile"] = profile_json(*profile, SIZE_MAX);
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model       {}  ({})\n", o.model, shape_text);
  fmt::print("threads     {}   oneDNN ISA {}   precision {}\n", threads, isa, describe_precision(s));
  fmt::print("load        {}\n", format_seconds(load_seconds));
  fmt::print("latency     p50 {}  p90 {}  p99 {}  mean {}  ({} runs after {} warm-up)\n", format_seconds(st.p50),
             format_seconds(st.p90), format_seconds(st.p99), format_seconds(st.mean), o.iters, o.warmup);
  fmt::print("throughput  {:.1f} runs/s, {:.1f} items/s (batch {})\n", 1.0 / st.mean, static_cast<double>(batch) / st.mean, batch);
  fmt::print("compute     {:.3f} GFLOP per run, {:.1f} GFLOP/s at p50\n", static_cast<double>(flops) / 1e9,
             static_cast<double>(flops) / st.p50 / 1e9);
  fmt::print("peak RSS    {}\n", format_bytes(rss));
  print_implementations();
  print_energy(*energy, energy_run);
  if (profile) print_profile(*profile, 15);
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Measure latency (p50/p90/p99/mean), throughput, load time, peak memory, and energy and carbon\n"
               "per inference (with the method: measured or estimated) on generated inputs.\n"
               "  ecoinfer bench model.onnx --shape x=1x3x48x320 --threads 1 --iters 100\n"
               "  ecoinfer bench model.onnx --shape x=1x3x48x320 --precision bf16   (bf16 Conv/MatMul)");
  sub->add_option("model", o->model, "the .onnx file")->required();
  sub->add_option("--shape", o->shapes, "NAME=DIMS for each input with dynamic dimensions, e.g. x=1x3x48x320");
  sub->add_option("--threads", o->threads, "intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_option("--warmup", o->warmup, "untimed runs first (creates primitives, warms caches)")->check(CLI::PositiveNumber);
  sub->add_option("--iters", o->iters, "timed runs")->check(CLI::PositiveNumber);
  sub->add_option("--fill", o->fills, "NAME=VALUE: that input holds VALUE everywhere (e.g. attention_mask=1; generated inputs are noise)");
  sub->add_flag("--json", o->json, "print one JSON object");
  sub->add_flag("--profile", o->profile, "also print time per op type and per node (top 15, share of total; --json lists every node)");
  sub->add_flag("--no-optimize", o->no_optimize, "run the graph as written, without graph optimizations");
  add_precision_option(sub, o->precision);
  add_energy_flags(sub, o->energy);
  commands.emplace_back(sub, [o] { return run_bench(*o); });
}

}  // namespace ecoinfer::cli
