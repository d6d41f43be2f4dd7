// `ecoinfer compare`: measures the zoo's architectures and the real PaddleOCR
// models on this machine, per precision, and reports parameters, FLOPs,
// latency, throughput, memory, energy and carbon per inference side by side.
//
//   ecoinfer::compare::CompareOptions o;
//   o.models = {"mobilenetv3-large"};
//   auto report = ecoinfer::compare::run_compare(o, nullptr);
//   if (report) std::cout << ecoinfer::compare::markdown_table(*report);
//
// Protobuf-free (the CLI includes it); see docs/COMPARE.md for the methods.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ecoinfer/energy.h"
#include "ecoinfer/status.h"

namespace ecoinfer::compare {

// The models `compare` knows: the zoo's, then the real PaddleOCR models.
const std::vector<std::string>& default_models();
const std::vector<std::string>& known_precisions();  // fp32, bf16, int8

struct CompareOptions {
  std::vector<std::string> models = default_models();
  std::vector<std::string> precisions = {"fp32", "bf16", "int8"};
  int threads = 0;  // 0: all cores
  bool quick = false;
  std::string region;  // "" = the configured region or the world average
  std::filesystem::path cache_dir = "build/zoo-cache";  // built zoo models
  std::filesystem::path models_dir = "models";          // PaddleOCR files
  int64_t seq_len = 128;
  double latency_target_ms = 100;
  std::optional<double> energy_budget_mj;  // per inference; none = no limit
  std::string command;                     // the command line, for the report
};

struct Throughput {
  int64_t batch = 0;
  double items_per_second = 0;
  double joules_per_item = 0;
  int runs = 0;
};

// One model at one precision. `available` false: nothing was measured and
// `reason` says why (never a made-up figure).
struct Measurement {
  std::string model, display_name, family, task, weights, precision, file;
  bool available = false;
  std::string reason;
  int64_t parameters = 0, file_bytes = 0, flops = 0;
  std::string input_shapes;  // at batch 1, "input_ids=1x128, ..."
  double p50_ms = 0, p99_ms = 0;
  int iterations = 0;
  std::vector<Throughput> throughput;
  int64_t peak_memory_bytes = 0;
  std::string memory_method;
  double joules_per_inference = 0;
  std::string energy_method;
  double mg_co2e_per_inference = 0;
  std::optional<double> relative_energy;  // to the baseline
  std::optional<double> cosine, top1_agreement;  // vs fp32 (not for fp32)
};

struct CompareReport {
  std::string generated_at;  // ISO 8601 UTC
  std::string command;
  energy::HostInfo host;
  std::string onednn_isa;
  int threads = 0;
  bool quick = false;
  energy::CarbonIntensity carbon;
  std::string meter_description;
  std::string baseline;  // "BERT-base uncased fp32", "" when not measured
  double latency_target_ms = 0;
  std::optional<double> energy_budget_mj;
  std::vector<Measurement> results;
  std::vector<std::string> recommendations;
  double seconds = 0;  // wall time of the whole run
};

// Called before each step: done so far, total, and what comes next.
using Progress = std::function<void(int done, int total, const std::string& what)>;

// Builds missing zoo models into cache_dir, measures every model and
// precision, and fills relative energy and recommendations. Fails only on a
// bad option (unknown model or precision, region); a model that cannot run
// becomes an unavailable entry with its reason.
Expected<CompareReport> run_compare(const CompareOptions& options, const Progress& progress);

// The human table (markdown), the recommendation lines, and the files.
std::string markdown_table(const CompareReport& report);
std::string recommendation_text(const CompareReport& report);
std::string report_json(const CompareReport& report);  // pretty-printed
std::string report_html(const CompareReport& report);  // self-contained

}  // namespace ecoinfer::compare
