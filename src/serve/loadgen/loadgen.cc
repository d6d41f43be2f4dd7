// Levels of concurrent keep-alive clients, timed on the client, with the
// server's own account of each level read from /metrics before and after.
#include "serve/loadgen/loadgen.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <numeric>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "serve/loadgen/http_client.h"
#include "serve/loadgen/loadgen_shared_memory.h"
#include "serve/loadgen/metrics_text.h"
#include "serve/loadgen/request_builder.h"

namespace ecoinfer::serve {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxConcurrency = 1024;
using LabelMatch = std::vector<std::pair<std::string, std::string>>;

struct ClientTally {
  std::vector<double> latencies_s;
  std::vector<double> compute_s, overhead_s, overhead_shares;  // requests whose answer says its compute time
  std::map<std::string, uint64_t> errors;
  Clock::time_point finished;
};

std::string error_kind(const Expected<HttpResponse>& r) {
  if (!r) return r.status().code() == HttpClient::kUnreachable ? "connection refused or unreachable"
                                                               : "connection: " + r.status().message();
  return fmt::format("HTTP {}", r->status);
}

// The answer's "compute_seconds" parameter, found by a plain search of its
// JSON header (ecoinfer serve writes its parameters before the outputs; a
// full parse of a JSON-data answer would cost the client milliseconds).
std::optional<double> compute_seconds_of(const HttpResponse& r) {
  constexpr std::string_view kKey = "\"compute_seconds\":";
  constexpr size_t kSearched = 64 << 10;
  size_t json_length = r.body.size();
  if (auto h = r.header("Inference-Header-Content-Length")) json_length = std::strtoul(h->c_str(), nullptr, 10);
  const std::string_view header(r.body.data(), std::min({json_length, r.body.size(), kSearched}));
  const size_t at = header.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string number(header.substr(at + kKey.size(), 32));
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (end == number.c_str() || !(v >= 0)) return std::nullopt;
  return v;
}

// One simulated user: sends requests back to back until `end`.
void run_client(const HttpUrl& url, const LoadgenOptions& o, const std::string& path,
                const std::vector<InferBody>& bodies, size_t first_body, std::latch& warmed, std::latch& go,
                const Clock::time_point& start, const Clock::time_point& end, ClientTally& tally) {
  HttpClient client(url, o.timeout);
  (void)client.post(path, bodies[first_body].body, bodies[first_body].content_type, bodies[first_body].headers);  // connect, warm up
  warmed.count_down();
  go.wait();  // start and end are set
  std::this_thread::sleep_until(start);
  for (size_t i = first_body; Clock::now() < end; ++i) {
    const InferBody& b = bodies[i % bodies.size()];
    const auto t0 = Clock::now();
    auto r = client.post(path, b.body, b.content_type, b.headers);
    const auto t1 = Clock::now();
    if (r && r->status == 200) {
      const double latency = std::chrono::duration<double>(t1 - t0).count();
      tally.latencies_s.push_back(latency);
      if (auto compute = compute_seconds_of(*r)) {
        tally.compute_s.push_back(*compute);
        tally.overhead_s.push_back(latency - *compute);
        tally.overhead_shares.push_back(latency > 0 ? (latency - *compute) / latency : 0);
      }
    } else {
      ++tally.errors[error_kind(r)];
      if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no server: do not spin
    }
  }
  tally.finished = Clock::now();
}

std::optional<ParsedMetrics> scrape(HttpClient& client, std::string* note) {
  auto r = client.get("/metrics");
  if (!r || r->status != 200) {
    *note = r ? fmt::format("GET /metrics answered {}", r->status) : r.status().message();
    return std::nullopt;
  }
  auto parsed = parse_prometheus_text(r->body);
  if (!parsed) {
    *note = parsed.status().message();
    return std::nullopt;
  }
  return std::move(*parsed);
}

ServerDeltas deltas(const ParsedMetrics& before, const ParsedMetrics& after, const LabelMatch& model) {
  const auto d = [&](const char* name, const LabelMatch& match) { return after.sum(name, match) - before.sum(name, match); };
  ServerDeltas s;
  s.requests = d("ecoinfer_request_success_total", model);
  s.inferences = d("ecoinfer_inference_total", model);
  s.executions = d("ecoinfer_execution_total", model);
  s.cache_hits = d("ecoinfer_cache_hits_total", model);
  s.cache_misses = d("ecoinfer_cache_misses_total", model);
  const double request_time = d("ecoinfer_request_duration_seconds_sum", model);
  if (request_time > 0) {
    s.queue_share = d("ecoinfer_queue_duration_seconds_sum", model) / request_time;
    s.compute_share = d("ecoinfer_compute_duration_seconds_sum", model) / request_time;
  }
  // Energy per method label; report the method that accounted for the most.
  double joules = 0;
  for (const MetricSample* sample : after.select("ecoinfer_energy_joules_total", model)) {
    LabelMatch same = model;
    same.emplace_back("method", sample->label("method"));
    const double delta = d("ecoinfer_energy_joules_total", same);
    if (delta > joules || s.energy_method.empty()) {
      joules = delta;
      s.energy_method = sample->label("method");
    }
  }
  if (s.inferences > 0 && !s.energy_method.empty()) s.joules_per_inference = joules / s.inferences;
  if (s.requests > 0 && !s.energy_method.empty()) s.joules_per_request = joules / s.requests;
  auto carbon = after.select("ecoinfer_carbon_grams_total", model);
  if (!carbon.empty() && s.inferences > 0) {
    s.carbon_region = carbon.front()->label("region");
    s.carbon_mg_per_inference = d("ecoinfer_carbon_grams_total", model) * 1000 / s.inferences;
  }
  return s;
}

LevelResult summarize(int concurrency, std::vector<ClientTally>& tallies, Clock::time_point start,
                      int64_t per_request) {
  LevelResult level;
  level.concurrency = concurrency;
  std::vector<double> all, compute, overhead, shares;
  Clock::time_point last = start;
  for (auto& t : tallies) {
    all.insert(all.end(), t.latencies_s.begin(), t.latencies_s.end());
    compute.insert(compute.end(), t.compute_s.begin(), t.compute_s.end());
    overhead.insert(overhead.end(), t.overhead_s.begin(), t.overhead_s.end());
    shares.insert(shares.end(), t.overhead_shares.begin(), t.overhead_shares.end());
    for (const auto& [kind, n] : t.errors) {
      level.error_kinds[kind] += n;
      level.errors += n;
    }
    last = std::max(last, t.finished);
  }
  level.requests = all.size();
  level.elapsed_s = std::chrono::duration<double>(last - start).count();
  if (level.elapsed_s > 0) {
    level.requests_per_s = static_cast<double>(level.requests) / level.elapsed_s;
    level.inferences_per_s = level.requests_per_s * static_cast<double>(per_request);
  }
  if (!all.empty()) {
    level.mean_ms = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size()) * 1e3;
    level.max_ms = *std::max_element(all.begin(), all.end()) * 1e3;
  }
  level.p50_ms = percentile(all, 50) * 1e3;
  level.p90_ms = percentile(all, 90) * 1e3;
  level.p99_ms = percentile(std::move(all), 99) * 1e3;
  if (!overhead.empty()) {
    level.compute_p50_ms = percentile(std::move(compute), 50) * 1e3;
    level.overhead_p50_ms = percentile(std::move(overhead), 50) * 1e3;
    level.overhead_share_p50 = percentile(std::move(shares), 50);
  }
  return level;
}

std::vector<RequestData> make_request_data(const std::vector<LoadgenInput>& inputs, const LoadgenOptions& o) {
  std::vector<RequestData> data;
  for (int i = 0; i < std::max(1, o.distinct_inputs); ++i) {
    std::vector<NamedTensor> tensors;
    std::vector<std::pair<std::string, std::string>> bytes;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (auto element = o.bytes_inputs.find(inputs[k].name); element != o.bytes_inputs.end()) {
        bytes.emplace_back(element->first, element->second);
        continue;
      }
      auto given = o.inputs.find(inputs[k].name);
      tensors.push_back({inputs[k].name, given != o.inputs.end()
                                             ? given->second
                                             : random_input(datatype_from_kserve(inputs[k].datatype), inputs[k].shape,
                                                            o.seed + static_cast<uint32_t>(i * 131 + k))});
    }
    data.push_back({std::move(tensors), std::move(bytes)});
    if (o.inputs.size() + o.bytes_inputs.size() == inputs.size()) break;  // all data given: one body
  }
  return data;
}

}  // namespace

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(samples.size())));
  const size_t index = std::clamp<size_t>(rank, 1, samples.size()) - 1;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
  return samples[index];
}

Expected<LoadgenReport> run_loadgen(const LoadgenOptions& o, const LevelCallback& on_level) {
  if (o.model.empty()) return invalid_argument("no model: give --model NAME");
  if (o.concurrency.empty() || *std::min_element(o.concurrency.begin(), o.concurrency.end()) < 1 ||
      *std::max_element(o.concurrency.begin(), o.concurrency.end()) > kMaxConcurrency) {
    return invalid_argument(fmt::format("--concurrency: give levels from 1 to {} (one thread per client), e.g. "
                                        "--concurrency 1,4,16", kMaxConcurrency));
  }
  if (!(o.duration_s > 0)) return invalid_argument("--duration must be positive (seconds per level)");
  ECOINFER_ASSIGN_OR_RETURN(HttpUrl url, parse_http_url(o.url));
  HttpClient control(url, o.timeout);
  auto inputs = fetch_inputs(control, o);
  if (!inputs) {
    if (inputs.status().code() == HttpClient::kUnreachable) {
      return Status(HttpClient::kUnreachable,
                    fmt::format("the server at {} is unreachable ({}); start it with `ecoinfer serve "
                                "--model-repository DIR` or check --url",
                                url.to_string(), inputs.status().message()));
    }
    return inputs.status();
  }
  LoadgenReport report{o.url, o.model, o.version, o.binary, o.system_shared_memory, o.duration_s, 1, *inputs, {}, {}};
  if (!inputs->empty() && !inputs->front().shape.empty()) report.inferences_per_request = inputs->front().shape[0];
  const std::vector<RequestData> data = make_request_data(*inputs, o);
  const std::string path = model_path(o.model, o.version) + "/infer";
  // Each client's requests: with shared memory each has its own output region.
  const int clients = *std::max_element(o.concurrency.begin(), o.concurrency.end());
  std::vector<std::vector<InferBody>> client_bodies(1);
  std::unique_ptr<LoadgenSharedMemory> shm;  // unregisters its regions when run_loadgen returns, error or not
  if (o.system_shared_memory) {
    ECOINFER_ASSIGN_OR_RETURN(shm, LoadgenSharedMemory::open(control, path, data, clients));
    client_bodies.assign(static_cast<size_t>(clients), {});
    for (size_t c = 0; c < client_bodies.size(); ++c)
      for (size_t i = 0; i < shm->bodies_per_client(); ++i) client_bodies[c].push_back(shm->body(c, i));
  } else {
    for (const RequestData& d : data) client_bodies[0].push_back(make_infer_body(d.tensors, d.bytes, o.binary));
  }
  const auto bodies_of = [&](int c) -> const std::vector<InferBody>& {
    return client_bodies[client_bodies.size() == 1 ? 0 : static_cast<size_t>(c)];
  };
  LabelMatch model{{"model", o.model}};
  if (!o.version.empty()) model.emplace_back("version", o.version);

  for (int concurrency : o.concurrency) {
    if (on_level) on_level(concurrency, o.duration_s);
    std::optional<ParsedMetrics> before = scrape(control, &report.metrics_note);
    std::vector<ClientTally> tallies(static_cast<size_t>(concurrency));
    // The window opens once every client has connected and warmed up: a
    // warm-up (a first OCR request loads its models) may outlast it.
    std::latch warmed(concurrency), go(1);
    Clock::time_point start, end;
    std::vector<std::thread> clients;
    for (int c = 0; c < concurrency; ++c) {
      clients.emplace_back(run_client, std::cref(url), std::cref(o), std::cref(path), std::cref(bodies_of(c)),
                           static_cast<size_t>(c) % bodies_of(c).size(), std::ref(warmed), std::ref(go), std::cref(start),
                           std::cref(end),
                           std::ref(tallies[static_cast<size_t>(c)]));
    }
    warmed.wait();
    start = Clock::now() + std::chrono::milliseconds(5);
    end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
    go.count_down();
    for (auto& t : clients) t.join();
    LevelResult level = summarize(concurrency, tallies, start, report.inferences_per_request);
    std::optional<ParsedMetrics> after = before ? scrape(control, &report.metrics_note) : std::nullopt;
    if (before && after) level.server = deltas(*before, *after, model);
    report.levels.push_back(std::move(level));
  }
  return report;
}

nlohmann::json to_json(const LoadgenReport& r) {
  const auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json j{{"url", r.url},           {"model", r.model},         {"version", r.version},
                   {"binary", r.binary},     {"shared_memory", r.system_shared_memory ? "system" : "none"},
                   {"duration_s", r.duration_s}, {"inferences_per_request", r.inferences_per_request}};
  j["inputs"] = nlohmann::json::array();
  for (const auto& in : r.inputs) j["inputs"].push_back({{"name", in.name}, {"datatype", in.datatype}, {"shape", in.shape}});
  j["levels"] = nlohmann::json::array();
  for (const auto& l : r.levels) {
    nlohmann::json level{{"concurrency", l.concurrency},
                         {"requests", l.requests},
                         {"errors", l.errors},
                         {"error_kinds", l.error_kinds},
                         {"elapsed_s", l.elapsed_s},
                         {"requests_per_s", l.requests_per_s},
                         {"throughput_infer_per_s", l.inferences_per_s},
                         {"latency_ms", {{"p50", l.p50_ms}, {"p90", l.p90_ms}, {"p99", l.p99_ms}, {"mean", l.mean_ms}, {"max", l.max_ms}}},
                         {"server_compute_p50_ms", opt(l.compute_p50_ms)},
                         {"server_overhead_p50_ms", opt(l.overhead_p50_ms)},
                         {"server_overhead_share_p50", opt(l.overhead_share_p50)}};
    if (l.server) {
      const ServerDeltas& s = *l.server;
      level["server"] = {{"requests", s.requests},
                         {"inferences", s.inferences},
                         {"executions", s.executions},
                         {"avg_batch_size", s.executions > 0 ? nlohmann::json(s.inferences / s.executions) : nlohmann::json(nullptr)},
                         {"cache_hits", s.cache_hits},
                         {"cache_misses", s.cache_misses},
                         {"queue_share", opt(s.queue_share)},
                         {"compute_share", opt(s.compute_share)},
                         {"energy_joules_per_inference", opt(s.joules_per_inference)},
                         {"energy_joules_per_request", opt(s.joules_per_request)},
                         {"energy_method", s.energy_method},
                         {"carbon_mg_per_inference", opt(s.carbon_mg_per_inference)},
                         {"carbon_region", s.carbon_region}};
    } else {
      level["server"] = nullptr;
    }
    j["levels"].push_back(std::move(level));
  }
  if (!r.metrics_note.empty()) j["metrics_note"] = r.metrics_note;
  return j;
}

}  // namespace ecoinfer::serve
