// The Prometheus text reader the loadgen uses on /metrics, on text written
// the way other exporters write it (timestamps, spacing, comments).
#include <cmath>

#include <gtest/gtest.h>

#include "serve/loadgen/metrics_text.h"

namespace ecoinfer::serve {
namespace {

TEST(MetricsText, ReadsSamplesLabelsTimestampsAndSpecialValues) {
  const char* text =
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# A normal comment.\n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\r\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "something_weird{problem=\"division by zero\",} +Inf -3982045\n"
      "nan_metric NaN\n";
  auto m = parse_prometheus_text(text);
  ASSERT_TRUE(m) << m.status().message();
  ASSERT_EQ(m->samples.size(), 6u);
  EXPECT_EQ(m->types.at("http_requests_total"), "counter");
  EXPECT_EQ(m->helps.at("http_requests_total"), "The total number of HTTP requests.");
  EXPECT_DOUBLE_EQ(m->sum("http_requests_total"), 1030);
  EXPECT_DOUBLE_EQ(m->sum("http_requests_total", {{"code", "400"}}), 3);
  EXPECT_DOUBLE_EQ(m->sum("http_requests_total", {{"code", "500"}}), 0);
  EXPECT_EQ(m->samples[2].label("path"), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(m->samples[2].label("error"), "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_DOUBLE_EQ(m->samples[2].value, 1.458255915e9);
  EXPECT_DOUBLE_EQ(m->sum("metric_without_timestamp_and_labels"), 12.47);
  EXPECT_TRUE(std::isinf(m->samples[4].value));
  EXPECT_TRUE(std::isnan(m->samples[5].value));
}

TEST(MetricsText, MalformedLinesNameTheLine) {
  auto bad_value = parse_prometheus_text("a 1\nb{x=\"1\"} twelve\n");
  ASSERT_FALSE(bad_value);
  EXPECT_NE(bad_value.status().message().find("line 2"), std::string::npos) << bad_value.status().message();
  EXPECT_FALSE(parse_prometheus_text("c{x=\"unterminated} 1\n"));
  EXPECT_FALSE(parse_prometheus_text("{x=\"1\"} 1\n"));
}

}  // namespace
}  // namespace ecoinfer::serve
