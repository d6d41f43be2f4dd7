// Energy and carbon per inference: meters, carbon intensity, SCI, reports.
//
// Every energy figure carries the method that produced it ("measured:rapl",
// "measured:nvml", "estimated:cpu-time"); a measured figure is never summed
// with an estimated one. CPU (RAPL or estimator) and GPU (NVML) are metered
// separately, so a caller shows them side by side, each with its method.
//
//   ecoinfer::energy::EnergyOptions opts;
//   opts.threads = 2;                      // cores the work keeps busy
//   auto meter = ecoinfer::energy::probe_meter(opts);
//   if (!meter) return fail(meter.status().message());
//   (*meter)->start();
//   for (int i = 0; i < n; ++i) session.run(inputs);
//   auto total = (*meter)->stop();         // joules + method
//   auto one = ecoinfer::energy::per_inference(*total, n);
//   auto ci = ecoinfer::energy::resolve_carbon_intensity({.region = "FR"});
//   double mg = ecoinfer::energy::grams_co2e(one.joules, *ci, 1.0) * 1e3;
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::energy {

inline constexpr std::string_view kMethodRapl = "measured:rapl";
inline constexpr std::string_view kMethodNvml = "measured:nvml";
inline constexpr std::string_view kMethodCpuTime = "estimated:cpu-time";

// Energy over one interval. `joules` is the total this meter knows about
// (cpu + ram for CPU meters, gpu for NVML); the parts are zero where the
// meter cannot tell them apart.
struct EnergyReading {
  double joules = 0;
  double cpu_joules = 0;
  double ram_joules = 0;
  double gpu_joules = 0;
  double seconds = 0;      // wall time of the interval
  double cpu_seconds = 0;  // process CPU time over the interval
  std::string method;      // one of the kMethod* labels
};

// A source of energy figures for an interval: start(), work, stop().
class Meter {
 public:
  virtual ~Meter() = default;
  virtual Status start() = 0;
  virtual Expected<EnergyReading> stop() = 0;
  virtual std::string method() const = 0;
  // One line for humans: what is measured or assumed, e.g. the CPU model and
  // watts per core of the estimator, or the RAPL domains read.
  virtual std::string describe() const = 0;
};

// Where the figures come from and the estimator's overrides. Unset optionals
// take the config file's value, then the built-in default (docs/ENERGY.md).
struct EnergyOptions {
  std::string powercap_root = "/sys/class/powercap";
  std::string cpuinfo_path = "/proc/cpuinfo";
  std::string nvml_library = "libnvidia-ml.so.1";
  bool allow_rapl = true;
  int threads = 1;  // cores the measured work keeps busy (for the idle share)
  std::optional<double> cpu_watts_per_core;  // busy power per logical CPU
  std::optional<double> idle_fraction;       // idle power as a share of busy
  std::optional<double> ram_watts_per_gib;
  // "" means $ECOINFER_ENERGY_CONFIG, else ~/.config/ecoinfer/energy.json
  // when it exists. A path given here or in the variable must exist.
  std::string config_path;
};

// Values from the JSON config file; every key optional:
//   {"cpu_watts_per_core": 4.0, "idle_fraction": 0.2, "ram_watts_per_gib": 0.375,
//    "region": "FR", "carbon_intensity": 56, "pue": 1.1, "price_per_kwh": 0.2,
//    "embodied_gco2e": 1200000, "hardware_lifetime_years": 4}
struct EnergyConfig {
  std::optional<double> cpu_watts_per_core, idle_fraction, ram_watts_per_gib;
  std::optional<std::string> region;
  std::optional<double> carbon_intensity, pue, price_per_kwh, embodied_gco2e, hardware_lifetime_years;
  std::string path;  // the file read, "" when none
};
Expected<EnergyConfig> load_energy_config(const std::string& path);

// The CPU meter for this machine: RAPL when its counters are readable, else
// the CPU-time estimator. describe() says why RAPL was not used.
Expected<std::unique_ptr<Meter>> probe_meter(const EnergyOptions& options);
// The GPU meter (NVML loaded at run time), or kNotFound when there is no
// NVML library or no GPU. Never a build or run dependency.
Expected<std::unique_ptr<Meter>> probe_gpu_meter(const EnergyOptions& options);

// Attribution: a reading split evenly over n inferences (a batch of n
// requests, or n benchmark iterations). Same method, seconds divided too.
EnergyReading per_inference(const EnergyReading& total, int64_t n);

// ---- carbon ----------------------------------------------------------------

// One row of data/carbon_intensity.csv (location-based grid average).
struct CarbonIntensity {
  std::string kind;      // country | aws | gcp | azure | world | user
  std::string name;      // ISO country code or cloud region id
  std::string location;  // human name of the place
  double g_per_kwh = 0;
  int year = 0;
  std::string source;
  bool is_world_default = false;  // nothing given: the world average was used
};

// The embedded table (data/carbon_intensity.csv at build time).
const std::vector<CarbonIntensity>& carbon_table();

// By ISO country code ("FR"), cloud region ("us-east-1", "europe-west1",
// "westeurope") or "kind:name" ("aws:eu-west-1"); case-insensitive. Unknown
// names fail with one line listing the closest names.
Expected<CarbonIntensity> lookup_carbon_intensity(std::string_view name);

struct CarbonOptions {
  std::string region;                     // "" = not given
  std::optional<double> g_per_kwh;        // overrides region's figure
};
// --carbon-intensity wins, then --region, else the world average (labelled).
Expected<CarbonIntensity> resolve_carbon_intensity(const CarbonOptions& options);

// Grams CO2e for `joules` at that intensity, with the facility's PUE.
double grams_co2e(double joules, const CarbonIntensity& ci, double pue);

// ---- Software Carbon Intensity (Green Software Foundation) ------------------
// SCI = (E x I + M) per R, R = one inference. E in kWh (PUE applied),
// I in gCO2e/kWh, M = TE x (TiR / EL) x (RR / ToR): embodied emissions share.
struct SciInputs {
  double joules_per_inference = 0;
  double seconds_per_inference = 0;  // time the hardware is reserved per R
  double g_per_kwh = 0;
  double pue = 1.0;
  double embodied_gco2e = 0;           // TE of the whole machine; 0 = unknown
  double hardware_lifetime_years = 4;  // EL
  double resource_share = 1.0;         // RR / ToR, e.g. threads used / CPUs
};
struct SciResult {
  double operational_g = 0;  // E x I
  double embodied_g = 0;     // M
  double sci_g = 0;          // per inference
};
SciResult compute_sci(const SciInputs& in);

// ---- projection ------------------------------------------------------------
struct TrafficProjection {
  double inferences_per_day = 0;
  double kwh_per_day = 0, kwh_per_month = 0;
  double kg_co2e_per_day = 0, kg_co2e_per_month = 0;
  std::optional<double> cost_per_day, cost_per_month;
};
inline constexpr double kDaysPerMonth = 365.25 / 12;
// Parses "N/day", "N/hour", "N/s" (N may be 1e6) into inferences per day.
Expected<double> parse_traffic(std::string_view text);
TrafficProjection project_traffic(double joules_per_inference, double inferences_per_day,
                                  const CarbonIntensity& ci, double pue, std::optional<double> price_per_kwh);

// ---- CodeCarbon-compatible emissions CSV -----------------------------------
struct EmissionsRow {
  std::string timestamp;     // ISO 8601, UTC
  std::string project_name = "ecoinfer";
  std::string run_id;
  double duration_s = 0;
  double emissions_kg = 0;
  double cpu_power_w = 0, gpu_power_w = 0, ram_power_w = 0;
  double cpu_energy_kwh = 0, gpu_energy_kwh = 0, ram_energy_kwh = 0;
  double energy_consumed_kwh = 0;
  std::string country_name, country_iso_code, region, cloud_provider, cloud_region;
  std::string os, cpu_model;
  int cpu_count = 0;
  int gpu_count = 0;
  std::string gpu_model;
  double ram_total_size_gib = 0;
  std::string tracking_mode = "process";
  double pue = 1.0;
  std::string measurement_method;  // ecoinfer's own column, last
};
// CodeCarbon's column names, in its order, then measurement_method.
const std::vector<std::string>& emissions_csv_columns();
// Appends one row, writing the header first when the file is new or empty.
// A file whose header differs is refused rather than silently mixed.
Status append_emissions_csv(const std::string& path, const EmissionsRow& row);
// Fills the location columns from a carbon intensity row.
void set_emissions_location(EmissionsRow& row, const CarbonIntensity& ci);

// The machine's description for reports.
struct HostInfo {
  std::string cpu_model;
  int cpu_count = 0;
  double ram_total_gib = 0;
  std::string os;
};
HostInfo host_info(const std::string& cpuinfo_path = "/proc/cpuinfo");

}  // namespace ecoinfer::energy
