#include "compare/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <malloc.h>
#include <string>

#include <fmt/format.h>

#include "quant/fidelity.h"

namespace ecoinfer::compare {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// "VmRSS:  1234 kB" -> bytes; 0 when absent.
int64_t status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size())) * 1024;
  return 0;
}

Status run_once(const Session& s, const std::vector<NamedTensor>& inputs, std::vector<NodeTrace>* trace = nullptr) {
  auto out = s.run(inputs, trace);
  return out ? Status::ok() : out.status();
}

Status measure_latency(const Session& s, const CatalogEntry& e, const CompareOptions& o, const MeasureBudget& b,
                       energy::Meter& meter, Measurement& m) {
  std::vector<NamedTensor> inputs = make_batch(e, 1, o.seq_len);
  if (Status st = run_once(s, inputs); !st) return st;  // warm-up: primitives, arena
  std::vector<double> times;
  if (Status st = meter.start(); !st) return st;
  auto start = Clock::now();
  while (static_cast<int>(times.size()) < b.max_iterations &&
         (static_cast<int>(times.size()) < b.min_iterations || seconds_since(start) < b.latency_seconds)) {
    auto t0 = Clock::now();
    if (Status st = run_once(s, inputs); !st) return st;
    times.push_back(seconds_since(t0));
  }
  auto total = meter.stop();
  if (!total) return total.status();
  energy::EnergyReading one = energy::per_inference(*total, static_cast<int64_t>(times.size()));
  m.joules_per_inference = one.joules;
  m.energy_method = one.method;
  std::sort(times.begin(), times.end());
  m.p50_ms = percentile(times, 50) * 1e3;
  m.p99_ms = percentile(times, 99) * 1e3;
  m.iterations = static_cast<int>(times.size());
  return Status::ok();
}

Expected<Throughput> measure_throughput(const Session& s, const CatalogEntry& e, const CompareOptions& o,
                                        const MeasureBudget& b, int64_t batch, energy::Meter& meter,
                                        Tensor* warmup_output) {
  std::vector<NamedTensor> inputs = make_batch(e, batch, o.seq_len);
  auto warmup = s.run(inputs);
  if (!warmup) return warmup.status();
  if (warmup_output != nullptr) *warmup_output = (*warmup)[0].tensor;
  Throughput t{.batch = batch};
  if (Status st = meter.start(); !st) return st;
  auto start = Clock::now();
  do {
    if (Status st = run_once(s, inputs); !st) return st;
    ++t.runs;
  } while (seconds_since(start) < b.throughput_seconds);
  double seconds = seconds_since(start);
  auto total = meter.stop();
  if (!total) return total.status();
  t.items_per_second = static_cast<double>(batch * t.runs) / seconds;
  t.joules_per_item = energy::per_inference(*total, batch * t.runs).joules;
  return t;
}

}  // namespace

MeasureBudget budget_for(bool quick) {
  MeasureBudget b;
  if (quick) {
    b.latency_seconds = 1;
    b.min_iterations = 3;
    b.max_iterations = 60;
    b.throughput_seconds = 0.5;
    b.batches = {8};
  }
  return b;
}

MemoryWatch::MemoryWatch() {
  // Hand freed memory back to the kernel first, so the previous model's
  // pages do not hide this one's growth.
  malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // Linux >= 4.0: reset VmHWM to the current VmRSS
  clear.flush();
  reset_ok = static_cast<bool>(clear);
  baseline = status_kib("VmRSS:");
}

int64_t MemoryWatch::peak_added_bytes() const {
  int64_t peak = reset_ok ? status_kib("VmHWM:") : peak_rss_bytes();
  return std::max<int64_t>(0, peak - baseline);
}

std::string MemoryWatch::method() const {
  return reset_ok ? "peak RSS while loading and running, minus RSS before (Linux VmHWM, reset per model)"
                  : "process peak RSS minus RSS before (VmHWM could not be reset: an upper bound)";
}

Status measure_session(const Session& session, const CatalogEntry& entry, const CompareOptions& options,
                       const MeasureBudget& budget, energy::Meter& meter, const energy::CarbonIntensity& ci,
                       std::optional<Reference>& reference, Measurement& m) {
  if (m.parameters == 0) m.parameters = session.summary().parameter_count;
  // One traced run gives the FLOPs.
  std::vector<NamedTensor> inputs = make_batch(entry, 1, options.seq_len);
  std::vector<NodeTrace> trace;
  auto out = session.run(inputs, &trace);
  if (!out) return out.status();
  m.flops = estimate_flops(trace);
  for (const auto& in : inputs) m.input_shapes += fmt::format("{}{}={}", m.input_shapes.empty() ? "" : ", ", in.name, shape_to_string(in.tensor.shape()));
  if (Status st = measure_latency(session, entry, options, budget, meter, m); !st) return st;
  m.mg_co2e_per_inference = energy::grams_co2e(m.joules_per_inference, ci, 1.0) * 1e3;
  Tensor first_batch_output;  // fidelity is judged on the first batch (8 items): more rows than batch 1
  for (int64_t batch : budget.batches) {
    auto t = measure_throughput(session, entry, options, budget, batch, meter,
                                m.throughput.empty() ? &first_batch_output : nullptr);
    if (!t) return t.status().with_context(fmt::format("batch {}", batch));
    m.throughput.push_back(*t);
  }
  if (m.precision == "fp32") {
    reference = Reference{first_batch_output};
  } else if (reference && first_batch_output.dtype() == DataType::kFloat32) {
    m.cosine = quant::cosine_similarity(first_batch_output, reference->output);
    const auto [agree, positions] = quant::top1_agreement(first_batch_output, reference->output);
    m.top1_agreement = positions == 0 ? 0.0 : static_cast<double>(agree) / static_cast<double>(positions);
  }
  return Status::ok();
}

}  // namespace ecoinfer::compare
