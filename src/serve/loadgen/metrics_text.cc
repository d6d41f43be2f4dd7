#include "serve/loadgen/metrics_text.h"

#include <cstdlib>

#include <fmt/format.h>

namespace ecoinfer::serve {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[++i];
      out += n == 'n' ? '\n' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view read_name(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && is_name_char(s[n])) ++n;
  std::string_view name = s.substr(0, n);
  s.remove_prefix(n);
  return name;
}

void skip_spaces(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

// label="value",label="value"} ; consumes through the closing brace.
bool read_labels(std::string_view& s, MetricSample& sample) {
  while (true) {
    skip_spaces(s);
    if (!s.empty() && s.front() == '}') {
      s.remove_prefix(1);
      return true;
    }
    std::string_view key = read_name(s);
    skip_spaces(s);
    if (key.empty() || s.size() < 2 || s[0] != '=' || s[1] != '"') return false;
    s.remove_prefix(2);
    size_t end = 0;
    while (end < s.size() && s[end] != '"') end += s[end] == '\\' ? 2 : 1;
    if (end >= s.size()) return false;
    sample.labels.emplace_back(std::string(key), unescape(s.substr(0, end)));
    s.remove_prefix(end + 1);
    skip_spaces(s);
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
}

bool parse_value(std::string_view text, double& out) {
  std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

void parse_comment(std::string_view line, ParsedMetrics& out) {
  line.remove_prefix(1);
  skip_spaces(line);
  const bool help = line.starts_with("HELP "), type = line.starts_with("TYPE ");
  if (!help && !type) return;  // other comments carry nothing
  line.remove_prefix(5);
  skip_spaces(line);
  std::string name(read_name(line));
  if (!line.empty()) line.remove_prefix(1);  // the space after the name
  if (help) out.helps[name] = unescape(line);
  if (type) out.types[name] = std::string(line);
}

}  // namespace

std::string MetricSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return {};
}

std::vector<const MetricSample*> ParsedMetrics::select(
    std::string_view name, const std::vector<std::pair<std::string, std::string>>& match) const {
  std::vector<const MetricSample*> out;
  for (const MetricSample& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) all = all && s.label(k) == v;
    if (all) out.push_back(&s);
  }
  return out;
}

double ParsedMetrics::sum(std::string_view name, const std::vector<std::pair<std::string, std::string>>& match) const {
  double total = 0;
  for (const MetricSample* s : select(name, match)) total += s->value;
  return total;
}

Expected<ParsedMetrics> parse_prometheus_text(std::string_view text) {
  ParsedMetrics out;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    skip_spaces(line);
    if (line.empty()) continue;
    if (line.front() == '#') {
      parse_comment(line, out);
      continue;
    }
    const auto bad = [&](std::string_view what) {
      return invalid_argument(fmt::format("metrics text line {}: {}: '{}'", line_number, what, line));
    };
    MetricSample sample;
    std::string_view rest = line;
    sample.name = std::string(read_name(rest));
    if (sample.name.empty()) return bad("no metric name");
    if (!rest.empty() && rest.front() == '{') {
      rest.remove_prefix(1);
      if (!read_labels(rest, sample)) return bad("malformed labels");
    }
    skip_spaces(rest);
    std::string_view value = rest.substr(0, rest.find_first_of(" \t"));  // a timestamp may follow
    if (!parse_value(value, sample.value)) return bad("the value is not a number");
    out.samples.push_back(std::move(sample));
  }
  return out;
}

}  // namespace ecoinfer::serve
