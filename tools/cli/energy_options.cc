// Energy and carbon reporting shared by `bench` and `run` (docs/ENERGY.md).
#include "energy_options.h"

#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace ecoinfer::cli {
namespace {

using energy::EnergyReading;

// "1.23 mJ", "456 uJ", "2.5 J": energies span many orders of magnitude.
std::string format_joules(double j) {
  if (j >= 1) return fmt::format("{:.3g} J", j);
  if (j >= 1e-3) return fmt::format("{:.3g} mJ", j * 1e3);
  return fmt::format("{:.3g} uJ", j * 1e6);
}

std::string intensity_label(const energy::CarbonIntensity& ci) {
  if (ci.is_world_default) return fmt::format("world average {}, no --region given", ci.year);
  if (ci.kind == "user") return "given with --carbon-intensity";
  return fmt::format("{} {}{}, {}", ci.kind, ci.name, ci.location.empty() ? "" : " (" + ci.location + ")", ci.year);
}

std::string timestamp_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string random_run_id() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  const uint64_t a = gen(), b = gen();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

energy::SciResult sci_for(const EnergySetup& s, const EnergyReading& per) {
  energy::SciInputs in;
  in.joules_per_inference = per.joules;
  in.seconds_per_inference = per.seconds;
  in.g_per_kwh = s.intensity.g_per_kwh;
  in.pue = s.pue;
  in.embodied_gco2e = s.embodied_gco2e;
  in.hardware_lifetime_years = s.hardware_lifetime_years;
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  in.resource_share = std::min(1.0, static_cast<double>(s.threads) / cpus);
  return energy::compute_sci(in);
}

nlohmann::json reading_json(const EnergyReading& total, const EnergyRun& run, const std::string& meter) {
  const EnergyReading per = energy::per_inference(total, run.inferences);
  nlohmann::json j = {{"method", total.method},
                      {"joules_per_inference", per.joules},
                      {"total_joules", total.joules},
                      {"seconds", total.seconds},
                      {"inferences", run.inferences},
                      {"meter", meter}};
  if (total.method != energy::kMethodNvml) {
    j["cpu_joules_per_inference"] = per.cpu_joules;
    j["ram_joules_per_inference"] = per.ram_joules;
    j["cpu_seconds"] = total.cpu_seconds;
  }
  if (run.batch > 1) j["joules_per_item"] = per.joules / static_cast<double>(run.batch);
  return j;
}

}  // namespace

void add_energy_flags(CLI::App* sub, EnergyFlags& f) {
  const std::string g = "Energy and carbon (docs/ENERGY.md)";
  sub->add_option("--region", f.region, "grid region: ISO country code (FR) or cloud region (us-east-1, europe-west1, "
                                        "westeurope); world average when nothing is given")
      ->group(g);
  f.carbon_intensity_opt = sub->add_option("--carbon-intensity", f.carbon_intensity, "grid intensity in gCO2e/kWh "
                                                                                     "(overrides --region's figure)")
                               ->check(CLI::NonNegativeNumber)->group(g);
  f.pue_opt = sub->add_option("--pue", f.pue, "data-centre PUE multiplier (1.0 default; clouds publish ~1.1-1.2)")
                  ->check(CLI::Range(1.0, 5.0))->group(g);
  f.cpu_watts_opt = sub->add_option("--cpu-watts-per-core", f.cpu_watts_per_core,
                                    "estimator: watts of one busy logical CPU (default from the CPU table)")
                        ->check(CLI::PositiveNumber)->group(g);
  f.embodied_opt = sub->add_option("--embodied-gco2e", f.embodied_gco2e,
                                   "embodied emissions of the whole machine in gCO2e, for SCI's M")
                       ->check(CLI::NonNegativeNumber)->group(g);
  f.lifetime_opt = sub->add_option("--hardware-lifetime-years", f.hardware_lifetime_years,
                                   "hardware lifetime for amortising --embodied-gco2e (default 4)")
                       ->check(CLI::PositiveNumber)->group(g);
  sub->add_option("--emissions-csv", f.emissions_csv, "append one CodeCarbon-style row per run to FILE")->group(g);
  sub->add_option("--traffic", f.traffic, "project kWh, kg CO2e and cost at N/day (also N/hour, N/s)")->group(g);
  f.price_opt = sub->add_option("--price-per-kwh", f.price_per_kwh, "electricity price for --traffic's cost")
                    ->check(CLI::NonNegativeNumber)->group(g);
}

Expected<EnergySetup> prepare_energy(const EnergyFlags& f, int threads) {
  energy::EnergyOptions opts;
  opts.threads = threads;
  if (f.cpu_watts_opt->count()) opts.cpu_watts_per_core = f.cpu_watts_per_core;
  auto config = energy::load_energy_config("");
  if (!config) return config.status();
  EnergySetup s;
  s.threads = threads;
  auto cpu = energy::probe_meter(opts);
  if (!cpu) return cpu.status();
  s.cpu = std::move(*cpu);
  if (auto gpu = energy::probe_gpu_meter(opts)) s.gpu = std::move(*gpu);
  energy::CarbonOptions co;
  co.region = !f.region.empty() ? f.region : config->region.value_or("");
  if (f.carbon_intensity_opt->count()) co.g_per_kwh = f.carbon_intensity;
  else co.g_per_kwh = config->carbon_intensity;
  auto ci = energy::resolve_carbon_intensity(co);
  if (!ci) return ci.status();
  s.intensity = *ci;
  s.pue = f.pue_opt->count() ? f.pue : config->pue.value_or(1.0);
  if (f.price_opt->count()) s.price_per_kwh = f.price_per_kwh;
  else s.price_per_kwh = config->price_per_kwh;
  s.embodied_gco2e = f.embodied_opt->count() ? f.embodied_gco2e : config->embodied_gco2e.value_or(0);
  s.hardware_lifetime_years =
      f.lifetime_opt->count() ? f.hardware_lifetime_years : config->hardware_lifetime_years.value_or(4);
  if (!f.traffic.empty()) {
    auto per_day = energy::parse_traffic(f.traffic);
    if (!per_day) return per_day.status();
    s.inferences_per_day = *per_day;
  }
  s.emissions_csv = f.emissions_csv;
  return s;
}

Status start_meters(EnergySetup& s) {
  ECOINFER_RETURN_IF_ERROR(s.cpu->start());
  if (s.gpu) ECOINFER_RETURN_IF_ERROR(s.gpu->start());
  return Status::ok();
}

Status stop_meters(EnergySetup& s, EnergyRun& run) {
  auto cpu = s.cpu->stop();
  if (!cpu) return cpu.status();
  run.cpu_total = *cpu;
  if (s.gpu) {
    auto gpu = s.gpu->stop();
    if (!gpu) return gpu.status();
    run.gpu_total = *gpu;
  }
  return Status::ok();
}

void energy_json(const EnergySetup& s, const EnergyRun& run, nlohmann::json& j) {
  const EnergyReading per = energy::per_inference(run.cpu_total, run.inferences);
  j["energy"] = reading_json(run.cpu_total, run, s.cpu->describe());
  if (run.gpu_total) j["gpu_energy"] = reading_json(*run.gpu_total, run, s.gpu->describe());
  const energy::CarbonIntensity& ci = s.intensity;
  nlohmann::json carbon = {{"region", ci.name},
                           {"kind", ci.kind},
                           {"location", ci.location},
                           {"g_per_kwh", ci.g_per_kwh},
                           {"year", ci.year},
                           {"source", ci.source},
                           {"world_default", ci.is_world_default},
                           {"pue", s.pue},
                           {"energy_method", per.method},
                           {"mg_co2e_per_inference", energy::grams_co2e(per.joules, ci, s.pue) * 1e3}};
  if (run.gpu_total) {
    const EnergyReading gpu = energy::per_inference(*run.gpu_total, run.inferences);
    carbon["gpu_mg_co2e_per_inference"] = energy::grams_co2e(gpu.joules, ci, s.pue) * 1e3;
    carbon["gpu_energy_method"] = gpu.method;
  }
  j["carbon"] = carbon;
  const energy::SciResult sci = sci_for(s, per);
  j["sci"] = {{"functional_unit", "inference"},      {"g_co2e_per_inference", sci.sci_g},
              {"operational_g", sci.operational_g}, {"embodied_g", sci.embodied_g},
              {"energy_method", per.method}};
  if (s.inferences_per_day) {
    const auto p = energy::project_traffic(per.joules, *s.inferences_per_day, ci, s.pue, s.price_per_kwh);
    j["projection"] = {{"inferences_per_day", p.inferences_per_day}, {"kwh_per_day", p.kwh_per_day},
                       {"kwh_per_month", p.kwh_per_month},           {"kg_co2e_per_day", p.kg_co2e_per_day},
                       {"kg_co2e_per_month", p.kg_co2e_per_month},   {"energy_method", per.method}};
    if (p.cost_per_day) {
      j["projection"]["cost_per_day"] = *p.cost_per_day;
      j["projection"]["cost_per_month"] = *p.cost_per_month;
    }
  }
}

void print_energy(const EnergySetup& s, const EnergyRun& run) {
  const EnergyReading per = energy::per_inference(run.cpu_total, run.inferences);
  fmt::print("energy      {} per inference [{}]  (CPU {} + RAM {}; {} over {} run{})\n", format_joules(per.joules),
             per.method, format_joules(per.cpu_joules), format_joules(per.ram_joules),
             format_joules(run.cpu_total.joules), run.inferences, run.inferences == 1 ? "" : "s");
  if (run.batch > 1)
    fmt::print("            {} per item (batch {})\n", format_joules(per.joules / static_cast<double>(run.batch)),
               run.batch);
  fmt::print("meter       {}\n", s.cpu->describe());
  if (run.gpu_total) {
    const EnergyReading gpu = energy::per_inference(*run.gpu_total, run.inferences);
    fmt::print("GPU energy  {} per inference [{}], reported apart from the CPU figure ({})\n",
               format_joules(gpu.joules), gpu.method, s.gpu->describe());
  }
  const energy::CarbonIntensity& ci = s.intensity;
  fmt::print("carbon      {:.4g} mg CO2e per inference [{}]  at {:g} gCO2e/kWh ({}), PUE {:.2f}\n",
             energy::grams_co2e(per.joules, ci, s.pue) * 1e3, per.method, ci.g_per_kwh, intensity_label(ci), s.pue);
  const energy::SciResult sci = sci_for(s, per);
  fmt::print("SCI         {:.4g} mg CO2e per inference (operational {:.4g} + embodied {:.4g})\n", sci.sci_g * 1e3,
             sci.operational_g * 1e3, sci.embodied_g * 1e3);
  if (s.inferences_per_day) {
    const auto p = energy::project_traffic(per.joules, *s.inferences_per_day, ci, s.pue, s.price_per_kwh);
    std::string cost;
    if (p.cost_per_day) cost = fmt::format(", cost {:.4g}/day {:.4g}/month", *p.cost_per_day, *p.cost_per_month);
    fmt::print("traffic     {:g}/day: {:.4g} kWh/day, {:.4g} kWh/month, {:.4g} kg CO2e/day, {:.4g} kg CO2e/month{} "
               "[{}]\n",
               p.inferences_per_day, p.kwh_per_day, p.kwh_per_month, p.kg_co2e_per_day, p.kg_co2e_per_month, cost,
               per.method);
  }
}

Status write_emissions_row(const EnergySetup& s, const EnergyRun& run) {
  if (s.emissions_csv.empty()) return Status::ok();
  const EnergyReading& cpu = run.cpu_total;
  const double gpu_j = run.gpu_total ? run.gpu_total->joules : 0;
  const double seconds = cpu.seconds;
  energy::EmissionsRow row;
  row.timestamp = timestamp_utc();
  row.run_id = random_run_id();
  row.project_name = run.model.empty() ? "ecoinfer" : "ecoinfer:" + run.model;
  row.duration_s = seconds;
  row.cpu_energy_kwh = cpu.cpu_joules / 3.6e6;
  row.ram_energy_kwh = cpu.ram_joules / 3.6e6;
  row.gpu_energy_kwh = gpu_j / 3.6e6;
  row.energy_consumed_kwh = (cpu.joules + gpu_j) / 3.6e6 * s.pue;
  row.emissions_kg = row.energy_consumed_kwh * s.intensity.g_per_kwh / 1e3;
  if (seconds > 0) {
    row.cpu_power_w = cpu.cpu_joules / seconds;
    row.ram_power_w = cpu.ram_joules / seconds;
    row.gpu_power_w = gpu_j / seconds;
  }
  const energy::HostInfo host = energy::host_info();
  row.cpu_model = host.cpu_model;
  row.cpu_count = host.cpu_count;
  row.ram_total_size_gib = host.ram_total_gib;
  row.os = host.os;
  row.gpu_count = run.gpu_total ? 1 : 0;
  row.pue = s.pue;
  // Both methods are named when a GPU figure joins the CPU one, never hidden.
  row.measurement_method = cpu.method + (run.gpu_total ? "+" + run.gpu_total->method : "");
  energy::set_emissions_location(row, s.intensity);
  return energy::append_emissions_csv(s.emissions_csv, row);
}

}  // namespace ecoinfer::cli
