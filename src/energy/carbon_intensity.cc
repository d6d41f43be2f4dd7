// Grid carbon intensity: the embedded table (data/carbon_intensity.csv),
// lookups by country or cloud region, and the choice between --region,
// --carbon-intensity and the labelled world average.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

constexpr size_t kSuggestions = 4;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits one CSV line; fields may be "quoted" with "" for a quote inside.
std::vector<std::string> split_csv_line(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

template <class T>
bool parse_number(const std::string& s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Expected<std::vector<CarbonIntensity>> parse_carbon_csv(std::string_view text) {
  std::vector<CarbonIntensity> rows;
  bool header_seen = false;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string> f = split_csv_line(line);
    if (!header_seen) {
      header_seen = true;
      if (f != std::vector<std::string>{"kind", "name", "location", "gco2e_per_kwh", "year", "source"})
        return invalid_argument("carbon table: header must be kind,name,location,gco2e_per_kwh,year,source");
      continue;
    }
    CarbonIntensity ci;
    if (f.size() != 6 || !parse_number(f[3], ci.g_per_kwh) || !parse_number(f[4], ci.year))
      return invalid_argument(fmt::format("carbon table line {}: expected 6 fields with a number and a year", line_no));
    ci.kind = f[0];
    ci.name = f[1];
    ci.location = f[2];
    ci.source = f[5];
    rows.push_back(std::move(ci));
  }
  return rows;
}

const std::vector<CarbonIntensity>& carbon_table() {
  // The embedded csv is checked by carbon_table_test; a parse failure here
  // would be a build defect, so it yields an empty table rather than abort.
  static const std::vector<CarbonIntensity> kTable = [] {
    auto rows = parse_carbon_csv(embedded_carbon_csv());
    return rows ? *rows : std::vector<CarbonIntensity>{};
  }();
  return kTable;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Expected<CarbonIntensity> lookup_carbon_intensity(std::string_view query) {
  const std::string q = lower(query);
  const auto colon = q.find(':');
  const std::string kind = colon == std::string::npos ? "" : q.substr(0, colon);
  const std::string name = colon == std::string::npos ? q : q.substr(colon + 1);
  for (const CarbonIntensity& ci : carbon_table()) {
    if (lower(ci.name) == name && (kind.empty() || kind == ci.kind)) return ci;
  }
  std::vector<std::pair<size_t, std::string>> near;
  for (const CarbonIntensity& ci : carbon_table())
    near.emplace_back(edit_distance(name, lower(ci.name)), ci.name);
  std::sort(near.begin(), near.end());
  std::string list;
  for (size_t i = 0; i < std::min(kSuggestions, near.size()); ++i) list += (i ? ", " : "") + near[i].second;
  return not_found(fmt::format("unknown region '{}': closest are {} (ISO country codes and AWS/GCP/Azure region "
                               "ids are known; or give --carbon-intensity G_PER_KWH)",
                               query, list));
}

Expected<CarbonIntensity> resolve_carbon_intensity(const CarbonOptions& options) {
  if (options.g_per_kwh) {
    if (*options.g_per_kwh < 0) return invalid_argument("--carbon-intensity must be >= 0 gCO2e/kWh");
    CarbonIntensity ci{"user", options.region.empty() ? "custom" : options.region, "", *options.g_per_kwh, 0,
                       "given with --carbon-intensity", false};
    return ci;
  }
  if (!options.region.empty()) return lookup_carbon_intensity(options.region);
  auto world = lookup_carbon_intensity("world:WORLD");
  if (!world) return world.status();
  world->is_world_default = true;
  return world;
}

double grams_co2e(double joules, const CarbonIntensity& ci, double pue) {
  return joules / 3.6e6 * pue * ci.g_per_kwh;
}

}  // namespace ecoinfer::energy
