// When no counter is readable (VMs: no powercap, no perf): energy from the
// process's CPU time, the idle share of the cores it holds, and the memory it
// keeps resident. A model, not a measurement, and labelled so.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Current resident set from /proc/self/statm (pages), in GiB.
double resident_gib() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0 * 1024.0);
}

class CpuTimeEstimator final : public Meter {
 public:
  CpuTimeEstimator(CpuPowerModel model, int threads) : model_(std::move(model)), threads_(std::max(1, threads)) {}

  Status start() override {
    wall_start_ = std::chrono::steady_clock::now();
    cpu_start_ = process_cpu_seconds();
    started_ = true;
    return Status::ok();
  }

  Expected<EnergyReading> stop() override {
    if (!started_) return internal_error("CPU-time estimator stopped before it was started");
    EstimateInputs in;
    in.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
    in.cpu_seconds = process_cpu_seconds() - cpu_start_;
    in.threads = threads_;
    in.resident_gib = resident_gib();
    return estimate_energy(model_, in);
  }

  std::string method() const override { return std::string(kMethodCpuTime); }

  std::string describe() const override {
    return fmt::format("{} [{}]: {:.2f} W per busy CPU, {:.2f} W idle, {:.3f} W/GiB RAM; {}", model_.cpu_model,
                       model_.family, model_.busy_watts_per_thread, model_.idle_watts_per_thread,
                       model_.ram_watts_per_gib, model_.source);
  }

 private:
  CpuPowerModel model_;
  int threads_;
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_ = 0;
  bool started_ = false;
};

}  // namespace

EnergyReading estimate_energy(const CpuPowerModel& model, const EstimateInputs& in) {
  EnergyReading r;
  r.method = std::string(kMethodCpuTime);
  r.seconds = in.wall_seconds;
  r.cpu_seconds = in.cpu_seconds;
  // The cores held draw idle power for the whole interval; each busy second
  // adds the step from idle to busy (CCF's min + u x (max - min) form).
  const double idle = model.idle_watts_per_thread;
  const double step = std::max(0.0, model.busy_watts_per_thread - idle);
  r.cpu_joules = in.wall_seconds * std::max(1, in.threads) * idle + in.cpu_seconds * step;
  r.ram_joules = in.wall_seconds * in.resident_gib * model.ram_watts_per_gib;
  r.joules = r.cpu_joules + r.ram_joules;
  return r;
}

std::unique_ptr<Meter> make_cpu_time_estimator(CpuPowerModel model, int threads) {
  return std::make_unique<CpuTimeEstimator>(std::move(model), threads);
}

}  // namespace ecoinfer::energy
