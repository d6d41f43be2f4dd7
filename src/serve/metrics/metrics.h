// Metrics in the Prometheus text exposition format 0.0.4, for GET /metrics.
//
//   MetricsRegistry registry;
//   Counter& ok = registry.counter("ecoinfer_request_success_total", "Requests answered",
//                                  {{"model", "cls"}, {"version", "1"}});
//   Histogram& latency = registry.histogram("ecoinfer_request_duration_seconds", "End-to-end latency",
//                                           default_latency_buckets(), {{"model", "cls"}});
//   ok.inc();  latency.observe(0.0042);     // lock-free, from any thread
//   std::string body = registry.render();  // Content-Type: kPrometheusContentType
//
// Registration takes a lock and returns the same object for the same name and
// labels; keep the reference (it stays valid for the registry's lifetime)
// so the hot path only does atomic adds. A name that breaks Prometheus' rules,
// or reuses a family name with another type or help, is logged (spdlog error)
// and gets a detached metric that works but is never rendered: metrics never
// take a server down.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ecoinfer::serve {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double v = 1);  // negative or NaN increments are ignored: counters only go up
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // Upper bounds, increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Observations per bucket, not cumulative; the last one is above every bound (+Inf).
  std::vector<uint64_t> bucket_counts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// 100 us to 10 s, roughly x2.5 apart: serving latencies from cache hits to slow models.
std::vector<double> default_latency_buckets();

class MetricsRegistry {  // references stay valid for the registry's lifetime
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& buckets,
                       const Labels& labels = {});
  std::string render() const;  // HELP/TYPE once per family, _bucket/_sum/_count for histograms

 private:
  struct Family;
  Family* family(const std::string& name, const std::string& help, int type, const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // in registration order
  std::vector<std::unique_ptr<Counter>> detached_counters_;
  std::vector<std::unique_ptr<Gauge>> detached_gauges_;
  std::vector<std::unique_ptr<Histogram>> detached_histograms_;
};

// Prometheus escaping: label values escape backslash, double quote and
// newline; HELP text escapes backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// Values as Prometheus writes them: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string format_metric_value(double v);

}  // namespace ecoinfer::serve
