// NVIDIA GPUs through NVML, loaded with dlopen at run time so that neither
// building nor running ecoinfer needs the driver. Total energy counters
// (Volta and later) when supported, else power samples integrated over time.
// Not yet validated on a GPU machine (docs/ENERGY.md).
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

// The few NVML entry points used, with NVML's C signatures (nvml.h).
using NvmlDevice = void*;
using NvmlReturn = int;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr auto kSamplePeriod = std::chrono::milliseconds(20);

struct NvmlApi {
  void* handle = nullptr;
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*device_count)(unsigned*) = nullptr;
  NvmlReturn (*device_by_index)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*total_energy)(NvmlDevice, unsigned long long*) = nullptr;  // mJ
  NvmlReturn (*power_usage)(NvmlDevice, unsigned*) = nullptr;              // mW
  NvmlReturn (*device_name)(NvmlDevice, char*, unsigned) = nullptr;
};

template <class F>
bool bind(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  return out != nullptr;
}

class NvmlMeter final : public Meter {
 public:
  NvmlMeter(NvmlApi api, std::vector<NvmlDevice> devices, bool use_counters, std::string names)
      : api_(api), devices_(std::move(devices)), use_counters_(use_counters), names_(std::move(names)) {}

  ~NvmlMeter() override {
    stop_sampler();
    api_.shutdown();
    dlclose(api_.handle);
  }

  Status start() override {
    wall_start_ = std::chrono::steady_clock::now();
    if (use_counters_) {
      start_mj_.clear();
      for (NvmlDevice d : devices_) {
        unsigned long long mj = 0;
        if (api_.total_energy(d, &mj) != kNvmlSuccess) return io_error("NVML total energy counter failed to read");
        start_mj_.push_back(mj);
      }
      return Status::ok();
    }
    stop_sampler();
    samples_.clear();
    running_ = true;
    sampler_ = std::thread([this] { sample_loop(); });
    return Status::ok();
  }

  Expected<EnergyReading> stop() override {
    EnergyReading r;
    r.method = std::string(kMethodNvml);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
    if (use_counters_) {
      if (start_mj_.size() != devices_.size()) return internal_error("NVML meter stopped before it was started");
      for (size_t i = 0; i < devices_.size(); ++i) {
        unsigned long long mj = 0;
        if (api_.total_energy(devices_[i], &mj) != kNvmlSuccess)
          return io_error("NVML total energy counter failed to read");
        r.gpu_joules += static_cast<double>(mj - start_mj_[i]) * 1e-3;
      }
    } else {
      take_sample();  // close the interval at the stop time
      stop_sampler();
      std::lock_guard<std::mutex> lock(mu_);
      r.gpu_joules = integrate_power_samples(samples_);
    }
    r.joules = r.gpu_joules;
    return r;
  }

  std::string method() const override { return std::string(kMethodNvml); }
  std::string describe() const override {
    return fmt::format("NVML {} on {}", use_counters_ ? "total energy counters" : "power samples every 20 ms",
                       names_);
  }

 private:
  void take_sample() {
    double watts = 0;
    for (NvmlDevice d : devices_) {
      unsigned mw = 0;
      if (api_.power_usage(d, &mw) == kNvmlSuccess) watts += mw * 1e-3;
    }
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back({t, watts});
  }
  void sample_loop() {
    while (running_) {
      take_sample();
      std::this_thread::sleep_for(kSamplePeriod);
    }
  }
  void stop_sampler() {
    running_ = false;
    if (sampler_.joinable()) sampler_.join();
  }

  NvmlApi api_;
  std::vector<NvmlDevice> devices_;
  bool use_counters_;
  std::string names_;
  std::chrono::steady_clock::time_point wall_start_;
  std::vector<unsigned long long> start_mj_;
  std::mutex mu_;
  std::vector<PowerSample> samples_;
  std::atomic<bool> running_{false};
  std::thread sampler_;
};

}  // namespace

double integrate_power_samples(const std::vector<PowerSample>& samples) {
  double joules = 0;
  for (size_t i = 1; i < samples.size(); ++i)
    joules += 0.5 * (samples[i].watts + samples[i - 1].watts) * (samples[i].seconds - samples[i - 1].seconds);
  return joules;
}

Expected<std::unique_ptr<Meter>> make_nvml_meter(const std::string& library) {
  NvmlApi api;
  api.handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api.handle) {
    const char* why = dlerror();
    return not_found(fmt::format("NVML not available ({}): no GPU energy measured", why ? why : library));
  }
  const bool bound = bind(api.handle, "nvmlInit_v2", api.init) && bind(api.handle, "nvmlShutdown", api.shutdown) &&
                     bind(api.handle, "nvmlDeviceGetCount_v2", api.device_count) &&
                     bind(api.handle, "nvmlDeviceGetHandleByIndex_v2", api.device_by_index) &&
                     bind(api.handle, "nvmlDeviceGetPowerUsage", api.power_usage);
  bind(api.handle, "nvmlDeviceGetTotalEnergyConsumption", api.total_energy);  // optional: older drivers lack it
  bind(api.handle, "nvmlDeviceGetName", api.device_name);
  if (!bound || api.init() != kNvmlSuccess) {
    dlclose(api.handle);
    return not_found(fmt::format("{} loaded but NVML did not initialise: no GPU energy measured", library));
  }
  unsigned count = 0;
  std::vector<NvmlDevice> devices;
  std::string names;
  if (api.device_count(&count) == kNvmlSuccess) {
    for (unsigned i = 0; i < count; ++i) {
      NvmlDevice d = nullptr;
      if (api.device_by_index(i, &d) != kNvmlSuccess) continue;
      devices.push_back(d);
      char name[96] = "GPU";
      if (api.device_name) api.device_name(d, name, sizeof(name));
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
  }
  if (devices.empty()) {
    api.shutdown();
    dlclose(api.handle);
    return not_found("NVML found no GPU: no GPU energy measured");
  }
  // The counter must work on every device, else sample power on all of them.
  bool counters = api.total_energy != nullptr;
  for (NvmlDevice d : devices) {
    unsigned long long mj = 0;
    if (counters && api.total_energy(d, &mj) != kNvmlSuccess) counters = false;
  }
  return std::unique_ptr<Meter>(std::make_unique<NvmlMeter>(api, std::move(devices), counters, names));
}

}  // namespace ecoinfer::energy
