#include "serve/metrics/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace ecoinfer::serve {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

bool valid_name(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Empty when the name and labels are valid, else what is wrong.
std::string check_names(const std::string& name, const Labels& labels, int type) {
  if (!valid_name(name, true)) return fmt::format("metric name '{}' is not [a-zA-Z_:][a-zA-Z0-9_:]*", name);
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!valid_name(label, false) || label.starts_with("__")) {
      return fmt::format("label name '{}' is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with the reserved '__')", label);
    }
    if (type == kHistogram && label == "le") return "label 'le' is reserved for histogram buckets";
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) return fmt::format("label '{}' is given twice", label);
    }
  }
  return {};
}

std::string label_text(const Labels& labels, const std::string& extra_name = {}, const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", k, escape_label_value(v));
  }
  if (!extra_name.empty()) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  return out + "}";
}

}  // namespace

struct MetricsRegistry::Family {
  std::string name, help;
  int type = kCounter;
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::vector<Series> series;
  Series* find(const Labels& labels) {
    for (auto& s : series) {
      if (s.labels == labels) return &s;
    }
    return nullptr;
  }
};

void Counter::inc(double v) {
  if (v >= 0) value_.fetch_add(v, std::memory_order_relaxed);  // also false for NaN
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();  // +Inf is implicit
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;  // would poison _sum forever
  // Prometheus buckets are upper-inclusive: v lands in the first bound >= v.
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family* MetricsRegistry::family(const std::string& name, const std::string& help, int type,
                                                 const Labels& labels) {
  if (std::string problem = check_names(name, labels, type); !problem.empty()) {
    spdlog::error("metrics: {}; this metric is not exported", problem);
    return nullptr;
  }
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->type == type) return f.get();
    spdlog::error("metrics: '{}' is already a {}, not a {}; this metric is not exported", name, kTypeNames[f->type],
                  kTypeNames[type]);
    return nullptr;
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
  return families_.back().get();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* f = family(name, help, kCounter, labels);
  if (f == nullptr) return *detached_counters_.emplace_back(std::make_unique<Counter>());
  if (auto* s = f->find(labels)) return *s->counter;
  f->series.push_back({labels, std::make_unique<Counter>(), nullptr, nullptr});
  return *f->series.back().counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* f = family(name, help, kGauge, labels);
  if (f == nullptr) return *detached_gauges_.emplace_back(std::make_unique<Gauge>());
  if (auto* s = f->find(labels)) return *s->gauge;
  f->series.push_back({labels, nullptr, std::make_unique<Gauge>(), nullptr});
  return *f->series.back().gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& buckets, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* f = family(name, help, kHistogram, labels);
  if (f == nullptr) return *detached_histograms_.emplace_back(std::make_unique<Histogram>(buckets));
  if (auto* s = f->find(labels)) return *s->histogram;
  f->series.push_back({labels, nullptr, nullptr, std::make_unique<Histogram>(buckets)});
  return *f->series.back().histogram;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f->name, escape_help(f->help), f->name, kTypeNames[f->type]);
    for (const auto& s : f->series) {
      if (s.counter) out += fmt::format("{}{} {}\n", f->name, label_text(s.labels), format_metric_value(s.counter->value()));
      if (s.gauge) out += fmt::format("{}{} {}\n", f->name, label_text(s.labels), format_metric_value(s.gauge->value()));
      if (!s.histogram) continue;
      const Histogram& h = *s.histogram;
      // Read the buckets once and derive +Inf and _count from them, so the
      // rendered series is self-consistent while observations keep coming.
      const std::vector<uint64_t> counts = h.bucket_counts();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        const std::string le = i < h.upper_bounds().size() ? format_metric_value(h.upper_bounds()[i]) : "+Inf";
        out += fmt::format("{}_bucket{} {}\n", f->name, label_text(s.labels, "le", le), cumulative);
      }
      out += fmt::format("{}_sum{} {}\n", f->name, label_text(s.labels), format_metric_value(h.sum()));
      out += fmt::format("{}_count{} {}\n", f->name, label_text(s.labels), cumulative);
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace ecoinfer::serve
