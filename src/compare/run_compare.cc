// run_compare: the loop over models and precisions, then relative energy and
// the recommendation.
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "compare/catalog.h"
#include "compare/int8_model.h"
#include "compare/measure.h"
#include "compare/recommend.h"

namespace ecoinfer::compare {
namespace {

// Why a precision cannot be measured in this build, or "" when it can. bf16
// is a session option (matrix ops in bf16, the rest fp32); int8 is a
// quantized file, which needs the Q/DQ kernels.
std::string precision_unavailable_reason(const std::string& precision) {
  if (precision == "int8") return int8_unavailable_reason();
  return "";
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

Status check_options(const CompareOptions& o) {
  if (o.models.empty()) return invalid_argument("--models is empty: name at least one model");
  for (const auto& name : o.models)
    if (auto e = find_entry(name); !e) return e.status();
  for (const auto& p : o.precisions) {
    if (std::find(known_precisions().begin(), known_precisions().end(), p) == known_precisions().end())
      return invalid_argument(fmt::format("--precisions: unknown precision '{}': use fp32, bf16 or int8", p));
  }
  if (o.seq_len < 1 || o.seq_len > 512) return invalid_argument("--seq-len must be in 1..512");
  if (o.latency_target_ms <= 0) return invalid_argument("--latency-target-ms must be positive");
  return Status::ok();
}

// One model at one precision, into `m`; failures become an unavailable entry.
void measure_one(const CatalogEntry& entry, const CompareOptions& o, const MeasureBudget& budget,
                 energy::Meter& meter, const energy::CarbonIntensity& ci, std::optional<Reference>& reference,
                 Measurement& m) {
  auto file = model_file(entry, o);
  if (!file) {
    m.reason = "n/a: " + file.status().message();
    return;
  }
  m.file = file->string();
  m.file_bytes = static_cast<int64_t>(std::filesystem::file_size(*file));
  if (std::string why = precision_unavailable_reason(m.precision); !why.empty()) {
    m.reason = why;
    return;
  }
  if (auto n = file_parameter_count(*file)) m.parameters = *n;  // the fp32 file's, for every precision
  std::filesystem::path run_file = *file;
  if (m.precision == "int8") {
    auto int8 = int8_model_file(entry, *file, o);
    if (!int8) {
      m.reason = "n/a: " + int8.status().message();
      return;
    }
    run_file = *int8;
    m.file = run_file.string();
    m.file_bytes = static_cast<int64_t>(std::filesystem::file_size(run_file));
  }
  MemoryWatch memory;
  {
    SessionOptions so{.threads = o.threads};
    if (m.precision == "bf16") so.precision = Precision::kBf16;
    auto session = Session::load(run_file, so);
    if (!session) {
      m.reason = "n/a: " + session.status().message();
      return;
    }
    Status st = measure_session(**session, entry, o, budget, meter, ci, reference, m);
    if (!st) {
      m.reason = "n/a: " + st.message();
      return;
    }
  }
  m.peak_memory_bytes = memory.peak_added_bytes();
  m.memory_method = memory.method();
  m.available = true;
}

}  // namespace

const std::vector<std::string>& known_precisions() {
  static const std::vector<std::string> p = {"fp32", "bf16", "int8"};
  return p;
}

Expected<CompareReport> run_compare(const CompareOptions& o, const Progress& progress) {
  auto started = std::chrono::steady_clock::now();
  if (Status st = check_options(o); !st) return st;
  auto ci = energy::resolve_carbon_intensity({.region = o.region});
  if (!ci) return ci.status().with_context("--region");
  energy::EnergyOptions eo;
  eo.threads = resolve_thread_count(o.threads);
  auto meter = energy::probe_meter(eo);
  if (!meter) return meter.status();

  CompareReport r;
  r.generated_at = utc_now();
  r.command = o.command;
  r.host = energy::host_info();
  r.onednn_isa = onednn_cpu_isa();
  r.threads = eo.threads;
  r.quick = o.quick;
  r.carbon = *ci;
  r.meter_description = (*meter)->describe();
  r.latency_target_ms = o.latency_target_ms;
  r.energy_budget_mj = o.energy_budget_mj;
  MeasureBudget budget = budget_for(o.quick);

  int total = static_cast<int>(o.models.size() * o.precisions.size()), done = 0;
  for (const auto& name : o.models) {
    CatalogEntry entry = *find_entry(name);
    std::optional<Reference> reference;  // fp32 output for this model
    // fp32 first, so the other precisions have a reference.
    std::vector<std::string> order = o.precisions;
    std::stable_partition(order.begin(), order.end(), [](const std::string& p) { return p == "fp32"; });
    for (const auto& precision : order) {
      if (progress) progress(done, total, fmt::format("{} {}", name, precision));
      Measurement m{.model = entry.name, .display_name = entry.display_name, .family = entry.family,
                    .task = entry.task, .weights = entry.weights, .precision = precision};
      measure_one(entry, o, budget, **meter, *ci, reference, m);
      r.results.push_back(std::move(m));
      ++done;
    }
  }
  if (progress) progress(done, total, "done");
  set_relative_energy(r);
  r.recommendations = recommend(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

}  // namespace ecoinfer::compare
