// Start-up choice of meter (RAPL > estimator; NVML separately), the config
// file, attribution over inferences, and the host description for reports.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {
namespace fs = std::filesystem;

// The estimator, with a note saying why no counter was used.
class NotedMeter final : public Meter {
 public:
  NotedMeter(std::unique_ptr<Meter> inner, std::string note) : inner_(std::move(inner)), note_(std::move(note)) {}
  Status start() override { return inner_->start(); }
  Expected<EnergyReading> stop() override { return inner_->stop(); }
  std::string method() const override { return inner_->method(); }
  std::string describe() const override { return inner_->describe() + " (RAPL not used: " + note_ + ")"; }

 private:
  std::unique_ptr<Meter> inner_;
  std::string note_;
};

std::string default_config_path() {
  if (const char* env = std::getenv("ECOINFER_ENERGY_CONFIG"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) {
    const fs::path p = fs::path(home) / ".config" / "ecoinfer" / "energy.json";
    std::error_code ec;
    if (fs::exists(p, ec)) return p.string();
  }
  return "";
}

template <class T>
Status read_key(const nlohmann::json& j, const char* key, std::optional<T>& out, const std::string& path) {
  if (!j.contains(key)) return Status::ok();
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    return invalid_argument(fmt::format("{}: \"{}\" has the wrong type", path, key));
  }
  return Status::ok();
}

}  // namespace

Expected<EnergyConfig> load_energy_config(const std::string& given) {
  EnergyConfig c;
  const std::string path = given.empty() ? default_config_path() : given;
  if (path.empty()) return c;
  std::ifstream in(path);
  if (!in) return not_found(fmt::format("energy config file {} cannot be read", path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument(fmt::format("energy config file {} is not a JSON object", path));
  c.path = path;
  ECOINFER_RETURN_IF_ERROR(read_key(j, "cpu_watts_per_core", c.cpu_watts_per_core, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "idle_fraction", c.idle_fraction, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "ram_watts_per_gib", c.ram_watts_per_gib, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "region", c.region, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "carbon_intensity", c.carbon_intensity, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "pue", c.pue, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "price_per_kwh", c.price_per_kwh, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "embodied_gco2e", c.embodied_gco2e, path));
  ECOINFER_RETURN_IF_ERROR(read_key(j, "hardware_lifetime_years", c.hardware_lifetime_years, path));
  return c;
}

Expected<std::unique_ptr<Meter>> probe_meter(const EnergyOptions& options) {
  auto config = load_energy_config(options.config_path);
  if (!config) return config.status();
  std::string note = "disabled";
  if (options.allow_rapl) {
    auto rapl = make_rapl_meter(options.powercap_root);
    if (rapl) return rapl;
    note = rapl.status().message();
  }
  auto estimator = make_cpu_time_estimator(resolve_cpu_power_model(options, *config), options.threads);
  return std::unique_ptr<Meter>(std::make_unique<NotedMeter>(std::move(estimator), note));
}

Expected<std::unique_ptr<Meter>> probe_gpu_meter(const EnergyOptions& options) {
  return make_nvml_meter(options.nvml_library);
}

EnergyReading per_inference(const EnergyReading& total, int64_t n) {
  EnergyReading r = total;
  if (n <= 0) return r;
  const double k = 1.0 / static_cast<double>(n);
  r.joules *= k;
  r.cpu_joules *= k;
  r.ram_joules *= k;
  r.gpu_joules *= k;
  r.seconds *= k;
  r.cpu_seconds *= k;
  return r;
}

HostInfo host_info(const std::string& cpuinfo_path) {
  HostInfo h;
  std::ifstream in(cpuinfo_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  h.cpu_model = cpu_power_model_from_cpuinfo(text).cpu_model;
  h.cpu_count = static_cast<int>(std::thread::hardware_concurrency());
  h.ram_total_gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
                    (1024.0 * 1024.0 * 1024.0);
  utsname u{};
  if (uname(&u) == 0) h.os = fmt::format("{}-{}-{}", u.sysname, u.release, u.machine);
  return h;
}

}  // namespace ecoinfer::energy
