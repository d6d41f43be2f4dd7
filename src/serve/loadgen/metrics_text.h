// A reader for the Prometheus text exposition format 0.0.4: the loadgen reads
// the server's /metrics with it, and the metrics tests check what the
// registry renders with it.
//
//   auto m = parse_prometheus_text(body);
//   double joules = m->sum("ecoinfer_energy_joules_total", {{"model", "cls"}});
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

struct MetricSample {
  std::string name;  // as written, with _bucket/_sum/_count suffixes
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  double value = 0;
  std::string label(std::string_view key) const;  // "" when absent
};

struct ParsedMetrics {
  std::vector<MetricSample> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram...
  std::map<std::string, std::string> helps;  // family -> unescaped HELP text

  // Sum of the samples called `name` whose labels include every pair in
  // `match` (others may carry more labels); 0 when none match.
  double sum(std::string_view name, const std::vector<std::pair<std::string, std::string>>& match = {}) const;
  // The samples called `name` matching `match`, in order.
  std::vector<const MetricSample*> select(std::string_view name,
                                          const std::vector<std::pair<std::string, std::string>>& match = {}) const;
};

// Fails with the line number on a malformed line.
Expected<ParsedMetrics> parse_prometheus_text(std::string_view text);

}  // namespace ecoinfer::serve
