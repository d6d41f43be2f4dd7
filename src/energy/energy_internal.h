// Pieces of src/energy/ that the public API composes and the tests reach
// directly (fixture folders, fake libraries, plain arithmetic).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/energy.h"

namespace ecoinfer::energy {

// ---- RAPL (powercap sysfs) ----
struct RaplDomain {
  std::string path;  // folder holding energy_uj
  std::string name;  // "package-0", "dram", ...
  bool is_dram = false;
  uint64_t max_range_uj = 0;  // 0 when max_energy_range_uj is missing
};
// Package domains (root/intel-rapl:N) and their dram subdomains; psys and
// the core/uncore subdomains are left out because packages already hold them.
// kNotFound when there are none, kPermissionDenied when energy_uj exists but
// cannot be read (Linux >= 5.10 makes it root-only).
Expected<std::vector<RaplDomain>> find_rapl_domains(const std::string& root);
// Energy between two counter values, undoing one wrap-around.
uint64_t rapl_delta_uj(uint64_t start, uint64_t end, uint64_t max_range_uj);
Expected<std::unique_ptr<Meter>> make_rapl_meter(const std::string& root);

// ---- CPU power model ----
struct CpuPowerModel {
  std::string cpu_model;   // as /proc/cpuinfo says
  std::string family;      // "Intel Xeon 4th gen (Sapphire Rapids)", "unknown"
  double busy_watts_per_thread = 0;
  double idle_watts_per_thread = 0;
  double ram_watts_per_gib = 0;
  std::string source;      // where the figures come from, one line
};
struct CpuFamilyRow {
  std::string_view family;
  std::string_view reference_sku;
  double tdp_watts;
  int cores;
  int threads;
  std::string_view source;
};
const std::vector<CpuFamilyRow>& cpu_family_table();
inline constexpr double kFallbackBusyWattsPerThread = 3.5;   // CCF, AWS average max
inline constexpr double kFallbackIdleWattsPerThread = 0.74;  // CCF, AWS average min
inline constexpr double kDefaultIdleFraction = kFallbackIdleWattsPerThread / kFallbackBusyWattsPerThread;
inline constexpr double kDefaultRamWattsPerGib = 0.375;  // CodeCarbon: 3 W per 8 GB
// From /proc/cpuinfo's text: the model name and flags pick a family row
// (by Xeon/EPYC SKU generation digit, or AMX flags for an unnamed Xeon).
CpuPowerModel cpu_power_model_from_cpuinfo(std::string_view cpuinfo_text);
// Applies overrides (options, then config) on top of the table's figures.
CpuPowerModel resolve_cpu_power_model(const EnergyOptions& options, const EnergyConfig& config);

// ---- CPU-time estimator ----
struct EstimateInputs {
  double wall_seconds = 0;
  double cpu_seconds = 0;
  int threads = 1;
  double resident_gib = 0;
};
// cpu = wall x threads x idle + cpu_s x (busy - idle); ram = wall x GiB x W/GiB.
EnergyReading estimate_energy(const CpuPowerModel& model, const EstimateInputs& in);
std::unique_ptr<Meter> make_cpu_time_estimator(CpuPowerModel model, int threads);

// ---- NVML ----
struct PowerSample {
  double seconds;  // since the first sample
  double watts;
};
// Trapezoid rule over the samples.
double integrate_power_samples(const std::vector<PowerSample>& samples);
Expected<std::unique_ptr<Meter>> make_nvml_meter(const std::string& library);

// ---- carbon table ----
std::string_view embedded_carbon_csv();
Expected<std::vector<CarbonIntensity>> parse_carbon_csv(std::string_view text);
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace ecoinfer::energy
