// --emissions-csv FILE: one row per run with CodeCarbon's columns (its
// emissions.csv), so dashboards built for CodeCarbon read ecoinfer's runs.
// Units follow CodeCarbon: seconds, kg CO2e, W, kWh, GB.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

std::string header_line() {
  std::string h;
  for (const std::string& c : emissions_csv_columns()) {
    if (!h.empty()) h.push_back(',');
    h.append(c);
  }
  return h;
}

std::string num(double v) { return fmt::format("{:.9g}", v); }

}  // namespace

const std::vector<std::string>& emissions_csv_columns() {
  static const std::vector<std::string> kColumns = {
      "timestamp",     "project_name",     "run_id",         "experiment_id",  "duration",       "emissions",
      "emissions_rate", "cpu_power",       "gpu_power",      "ram_power",      "cpu_energy",     "gpu_energy",
      "ram_energy",    "energy_consumed",  "country_name",   "country_iso_code", "region",       "cloud_provider",
      "cloud_region",  "os",               "python_version", "codecarbon_version", "cpu_count",  "cpu_model",
      "gpu_count",     "gpu_model",        "longitude",      "latitude",       "ram_total_size", "tracking_mode",
      "on_cloud",      "pue",              "measurement_method"};
  return kColumns;
}

void set_emissions_location(EmissionsRow& row, const CarbonIntensity& ci) {
  if (ci.kind == "country") {
    row.country_iso_code = ci.name;
    row.country_name = ci.location;
  } else if (ci.kind == "aws" || ci.kind == "gcp" || ci.kind == "azure") {
    row.cloud_provider = ci.kind;
    row.cloud_region = ci.name;
    row.region = ci.location;
  } else {
    row.region = ci.name;  // world or a user-given figure
  }
}

Status append_emissions_csv(const std::string& path, const EmissionsRow& r) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool fresh = !fs::exists(path, ec) || fs::file_size(path, ec) == 0;
  if (!fresh) {
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    if (first != header_line())
      return invalid_argument(fmt::format("--emissions-csv {} has other columns than ecoinfer writes; "
                                          "give a new file name",
                                          path));
  }
  std::ofstream out(path, std::ios::app);
  if (!out) return io_error(fmt::format("cannot open {} to append the emissions row", path));
  if (fresh) out << header_line() << "\n";
  const bool on_cloud = !r.cloud_provider.empty();
  const std::vector<std::string> cells = {
      r.timestamp, r.project_name, r.run_id, "", num(r.duration_s), num(r.emissions_kg),
      num(r.duration_s > 0 ? r.emissions_kg / r.duration_s : 0), num(r.cpu_power_w), num(r.gpu_power_w),
      num(r.ram_power_w), num(r.cpu_energy_kwh), num(r.gpu_energy_kwh), num(r.ram_energy_kwh),
      num(r.energy_consumed_kwh), r.country_name, r.country_iso_code, r.region, r.cloud_provider, r.cloud_region,
      r.os, "", "", std::to_string(r.cpu_count), r.cpu_model, std::to_string(r.gpu_count), r.gpu_model, "", "",
      num(r.ram_total_size_gib), r.tracking_mode, on_cloud ? "Y" : "N", num(r.pue), r.measurement_method};
  std::string line;
  for (const std::string& c : cells) {
    if (!line.empty()) line.push_back(',');
    line.append(quote(c));
  }
  out << line << "\n";
  if (!out) return io_error(fmt::format("writing {} failed", path));
  return Status::ok();
}

}  // namespace ecoinfer::energy
