// The metrics registry renders Prometheus text 0.0.4: checked by parsing the
// rendered text back (families, types, values, escaping, cumulative buckets)
// and by exact lines where the format is strict.
#include <thread>

#include <gtest/gtest.h>

#include "serve/loadgen/metrics_text.h"
#include "serve/metrics/metrics.h"

namespace ecoinfer::serve {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, CountersAndGaugesRenderWithHelpTypeAndLabels) {
  MetricsRegistry r;
  Counter& ok = r.counter("ecoinfer_request_success_total", "Requests answered.", {{"model", "cls"}, {"version", "1"}});
  Counter& ok2 = r.counter("ecoinfer_request_success_total", "Requests answered.", {{"model", "det"}, {"version", "1"}});
  Gauge& queued = r.gauge("ecoinfer_queue_size", "Requests waiting.", {{"model", "cls"}});
  ok.inc();
  ok.inc(2);
  ok2.inc(0.5);
  ok.inc(-4);  // ignored: counters only go up
  queued.set(7);
  queued.dec(2);
  queued.inc();
  EXPECT_EQ(&ok, &r.counter("ecoinfer_request_success_total", "Requests answered.", {{"model", "cls"}, {"version", "1"}}));

  const std::string text = r.render();
  EXPECT_TRUE(has_line(text, "# HELP ecoinfer_request_success_total Requests answered.")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE ecoinfer_request_success_total counter")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_success_total{model=\"cls\",version=\"1\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE ecoinfer_queue_size gauge")) << text;
  size_t help_count = 0;
  for (size_t p = text.find("# HELP ecoinfer_request_success_total"); p != std::string::npos;
       p = text.find("# HELP ecoinfer_request_success_total", p + 1)) {
    ++help_count;
  }
  EXPECT_EQ(help_count, 1u) << "HELP once per family";

  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->types.at("ecoinfer_request_success_total"), "counter");
  EXPECT_EQ(parsed->types.at("ecoinfer_queue_size"), "gauge");
  EXPECT_DOUBLE_EQ(parsed->sum("ecoinfer_request_success_total", {{"model", "cls"}}), 3);
  EXPECT_DOUBLE_EQ(parsed->sum("ecoinfer_request_success_total"), 3.5);
  EXPECT_DOUBLE_EQ(parsed->sum("ecoinfer_queue_size"), 6);
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry r;
  const std::string nasty = "a\\b\"c\nd";
  r.counter("x_total", "Help with \\ and\nnewline.", {{"path", nasty}}).inc();
  const std::string text = r.render();
  EXPECT_TRUE(has_line(text, "x_total{path=\"a\\\\b\\\"c\\nd\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "# HELP x_total Help with \\\\ and\\nnewline.")) << text;
  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.status().message();
  ASSERT_EQ(parsed->samples.size(), 1u);
  EXPECT_EQ(parsed->samples[0].label("path"), nasty);
  EXPECT_EQ(parsed->helps.at("x_total"), "Help with \\ and\nnewline.");
}

TEST(Metrics, HistogramHasCumulativeBucketsInfSumAndCount) {
  MetricsRegistry r;
  Histogram& h = r.histogram("ecoinfer_request_duration_seconds", "End-to-end latency.", {0.01, 0.1, 1},
                             {{"model", "cls"}});
  for (double v : {0.005, 0.01, 0.05, 0.5, 0.5, 3.0}) h.observe(v);
  const std::string text = r.render();
  EXPECT_TRUE(has_line(text, "# TYPE ecoinfer_request_duration_seconds histogram")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_duration_seconds_bucket{model=\"cls\",le=\"0.01\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_duration_seconds_bucket{model=\"cls\",le=\"0.1\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_duration_seconds_bucket{model=\"cls\",le=\"1\"} 5")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_duration_seconds_bucket{model=\"cls\",le=\"+Inf\"} 6")) << text;
  EXPECT_TRUE(has_line(text, "ecoinfer_request_duration_seconds_count{model=\"cls\"} 6")) << text;
  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_NEAR(parsed->sum("ecoinfer_request_duration_seconds_sum"), 4.065, 1e-12);
  auto buckets = parsed->select("ecoinfer_request_duration_seconds_bucket");
  ASSERT_EQ(buckets.size(), 4u);
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_GE(buckets[i]->value, buckets[i - 1]->value) << "cumulative";
  EXPECT_EQ(buckets.back()->label("le"), "+Inf");
}

TEST(Metrics, BadNamesAndTypeClashesAreDetachedNotFatal) {
  MetricsRegistry r;
  r.counter("9starts_with_digit_total", "bad").inc();
  r.counter("ok_total", "bad label", {{"bad-label", "v"}}).inc();
  r.histogram("h_seconds", "le is reserved", {1}, {{"le", "x"}}).observe(1);
  r.counter("clash", "first a counter").inc();
  Gauge& g = r.gauge("clash", "then a gauge");
  g.set(5);
  EXPECT_DOUBLE_EQ(g.value(), 5);  // works, but is not exported
  auto parsed = parse_prometheus_text(r.render());
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->samples.size(), 1u);
  EXPECT_EQ(parsed->samples[0].name, "clash");
  EXPECT_EQ(parsed->types.at("clash"), "counter");
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  Counter& c = r.counter("ecoinfer_inference_total", "Items inferred.");
  Histogram& h = r.histogram("ecoinfer_batch_size", "Batch sizes.", {1, 2, 4, 8});
  constexpr int kThreads = 4, kOps = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kOps; ++i) {
        c.inc();
        h.observe(i % 10);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(c.value(), kThreads * kOps);
  EXPECT_EQ(h.count(), uint64_t{kThreads} * kOps);
  EXPECT_DOUBLE_EQ(h.sum(), kThreads * (kOps / 10) * 45.0);
}

TEST(Metrics, ValuesFormatAsPrometheusExpects) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_metric_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_metric_value(0.0 / 0.0), "NaN");
}

}  // namespace
}  // namespace ecoinfer::serve
