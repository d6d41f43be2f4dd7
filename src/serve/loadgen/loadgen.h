// The load generator behind `ecoinfer loadgen`, in the manner of Triton's
// perf_analyzer: reads a model's metadata from a KServe v2 server, builds
// requests with random (or given) inputs, keeps N keep-alive clients busy for
// a fixed time per concurrency level, and reports client-side throughput and
// latency next to what the server's /metrics says about that level: queue
// and compute shares of its latency, energy and carbon per inference.
//
//   LoadgenOptions o{.url = "http://127.0.0.1:8000", .model = "cls", .concurrency = {1, 4}};
//   o.shapes["x"] = {1, 3, 48, 192};
//   auto report = run_loadgen(o);
//   if (!report) { ... report.status().message() ... }
//   nlohmann::json j = to_json(*report);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecoinfer/session.h"

namespace ecoinfer::serve {

struct LoadgenOptions {
  std::string url = "http://127.0.0.1:8000";
  std::string model;
  std::string version;                     // "" : the server's choice
  std::map<std::string, Shape> shapes;     // fixes dynamic dimensions
  std::map<std::string, Tensor> inputs;    // given data (from .npy); the rest are random
  // Given BYTES inputs (an OCR model's encoded image): each sent as one
  // element, shape [1], holding these bytes.
  std::map<std::string, std::string> bytes_inputs;
  std::vector<int> concurrency = {1};
  double duration_s = 5;                   // per level
  bool binary = false;                     // Triton's binary tensor extension instead of JSON data
  // Triton's system shared memory extension (perf_analyzer's
  // --shared-memory=system): tensors in POSIX shared memory, not in bodies.
  bool system_shared_memory = false;
  int distinct_inputs = 16;                // request bodies cycled through (a response cache sees repeats)
  std::chrono::milliseconds timeout{30000};
  uint32_t seed = 1;
};

struct LoadgenInput {
  std::string name;
  std::string datatype;  // KServe spelling: FP32, INT64...
  Shape shape;
};

// What the server's /metrics moved by during one level (deltas of counters
// and histogram sums, for this model). Empty optionals: not exported.
struct ServerDeltas {
  double requests = 0;           // ecoinfer_request_success_total
  double inferences = 0;         // ecoinfer_inference_total
  double executions = 0;         // ecoinfer_execution_total
  double cache_hits = 0, cache_misses = 0;
  std::optional<double> queue_share, compute_share;  // of the server's end-to-end request time
  std::optional<double> joules_per_inference;  // per item the model computed
  std::optional<double> joules_per_request;    // per request answered, cache hits included: what the cache saves shows here
  std::string energy_method;     // the method label, e.g. estimated:cpu-time
  std::optional<double> carbon_mg_per_inference;
  std::string carbon_region;
};

struct LevelResult {
  int concurrency = 0;
  uint64_t requests = 0;  // answered with 200
  uint64_t errors = 0;
  std::map<std::string, uint64_t> error_kinds;  // "HTTP 503", "connection: ..." -> count
  double elapsed_s = 0;
  double requests_per_s = 0, inferences_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, max_ms = 0;
  // From each answer's `compute_seconds` parameter (ecoinfer serve sends it;
  // absent on cache hits and from servers that do not): the server's compute
  // time per request, and the rest of the client's latency, the serving
  // overhead (HTTP, parsing, queueing, transport), as medians over requests.
  std::optional<double> compute_p50_ms, overhead_p50_ms, overhead_share_p50;
  std::optional<ServerDeltas> server;  // absent when /metrics could not be read
};

struct LoadgenReport {
  std::string url, model, version;
  bool binary = false;
  bool system_shared_memory = false;
  double duration_s = 0;
  int64_t inferences_per_request = 1;  // the batch dimension of the requests
  std::vector<LoadgenInput> inputs;
  std::vector<LevelResult> levels;
  std::string metrics_note;  // why server figures are missing, if they are
};

// Called before each level starts (for a progress line on a terminal).
using LevelCallback = std::function<void(int concurrency, double duration_s)>;

// Fails (one line) when the server is unreachable, the model unknown, a
// dynamic dimension has no --shape, or a datatype cannot be generated.
// Errors during a level are counted, not fatal.
Expected<LoadgenReport> run_loadgen(const LoadgenOptions& options, const LevelCallback& on_level = {});

nlohmann::json to_json(const LoadgenReport& report);

// Nearest-rank percentile (p in [0, 100]) of unsorted samples; 0 when empty.
double percentile(std::vector<double> samples, double p);

}  // namespace ecoinfer::serve
