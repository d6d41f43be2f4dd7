// The energy and carbon flags that `bench` and `run` share, and the report
// they print: energy per inference with its method, carbon with the region
// and intensity used, SCI, the optional traffic projection and CSV row.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ecoinfer/energy.h"

namespace ecoinfer::cli {

struct EnergyFlags {
  std::string region;
  double carbon_intensity = 0;
  double pue = 1.0;
  double cpu_watts_per_core = 0;
  double embodied_gco2e = 0;
  double hardware_lifetime_years = 4;
  double price_per_kwh = 0;
  std::string emissions_csv;
  std::string traffic;
  // Which of the numeric flags were given (CLI11 counts them).
  CLI::Option* carbon_intensity_opt = nullptr;
  CLI::Option* pue_opt = nullptr;
  CLI::Option* cpu_watts_opt = nullptr;
  CLI::Option* embodied_opt = nullptr;
  CLI::Option* lifetime_opt = nullptr;
  CLI::Option* price_opt = nullptr;
};

void add_energy_flags(CLI::App* sub, EnergyFlags& flags);

// Meters and carbon settings resolved from flags, config file and defaults.
struct EnergySetup {
  std::unique_ptr<energy::Meter> cpu;
  std::unique_ptr<energy::Meter> gpu;  // null without NVML or a GPU
  energy::CarbonIntensity intensity;
  double pue = 1.0;
  std::optional<double> price_per_kwh;
  std::optional<double> inferences_per_day;
  double embodied_gco2e = 0;
  double hardware_lifetime_years = 4;
  int threads = 1;
  std::string emissions_csv;
};
// `threads`: the cores the work keeps busy. Fails on a bad flag or region.
Expected<EnergySetup> prepare_energy(const EnergyFlags& flags, int threads);

// Starts every meter of the setup.
Status start_meters(EnergySetup& setup);

// What was measured, for one report.
struct EnergyRun {
  energy::EnergyReading cpu_total;
  std::optional<energy::EnergyReading> gpu_total;
  int64_t inferences = 1;   // runs the totals are split over
  int64_t batch = 1;        // items per run (each request of a batch gets 1/batch)
  std::string model;
};
// Stops the meters and fills `run` with their totals.
Status stop_meters(EnergySetup& setup, EnergyRun& run);

// Adds "energy", "carbon", "sci" (and "gpu_energy", "projection") to `j`.
void energy_json(const EnergySetup& setup, const EnergyRun& run, nlohmann::json& j);
// Prints the human lines (aligned with bench's 12-column labels).
void print_energy(const EnergySetup& setup, const EnergyRun& run);
// Appends the CodeCarbon-style row when --emissions-csv was given.
Status write_emissions_row(const EnergySetup& setup, const EnergyRun& run);

}  // namespace ecoinfer::cli
