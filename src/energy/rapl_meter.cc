// RAPL through powercap sysfs: <root>/intel-rapl:N/energy_uj (package) and
// its "dram" subdomain. AMD Zen exposes its package counter under the same
// intel-rapl names (Linux rapl driver), so the same reader serves both.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {
namespace fs = std::filesystem;

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

// energy_uj as a number, with the reason when it cannot be read.
Expected<uint64_t> read_counter(const std::string& folder) {
  const fs::path p = fs::path(folder) / "energy_uj";
  std::ifstream in(p);
  if (!in) {
    if (errno == EACCES)
      return Status(StatusCode::kPermissionDenied,
                    fmt::format("{} is not readable (permission denied): since Linux 5.10 RAPL counters are "
                                "root-only; run as root or `sudo chmod a+r` them",
                                p.string()));
    return io_error(fmt::format("cannot read {}: {}", p.string(), std::strerror(errno)));
  }
  uint64_t v = 0;
  if (!(in >> v)) return io_error(fmt::format("{} does not hold a number", p.string()));
  return v;
}

RaplDomain make_domain(const fs::path& dir, bool is_dram) {
  RaplDomain d{dir.string(), read_line(dir / "name"), is_dram, 0};
  const std::string range = read_line(dir / "max_energy_range_uj");
  if (!range.empty()) d.max_range_uj = std::stoull(range);
  return d;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class RaplMeter final : public Meter {
 public:
  explicit RaplMeter(std::vector<RaplDomain> domains) : domains_(std::move(domains)) {}

  Status start() override {
    start_.clear();
    for (const RaplDomain& d : domains_) {
      auto v = read_counter(d.path);
      if (!v) return v.status();
      start_.push_back(*v);
    }
    wall_start_ = std::chrono::steady_clock::now();
    cpu_start_ = process_cpu_seconds();
    return Status::ok();
  }

  Expected<EnergyReading> stop() override {
    if (start_.size() != domains_.size()) return internal_error("RAPL meter stopped before it was started");
    EnergyReading r;
    r.method = std::string(kMethodRapl);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
    r.cpu_seconds = process_cpu_seconds() - cpu_start_;
    for (size_t i = 0; i < domains_.size(); ++i) {
      auto v = read_counter(domains_[i].path);
      if (!v) return v.status();
      const double joules = static_cast<double>(rapl_delta_uj(start_[i], *v, domains_[i].max_range_uj)) * 1e-6;
      (domains_[i].is_dram ? r.ram_joules : r.cpu_joules) += joules;
    }
    r.joules = r.cpu_joules + r.ram_joules;
    return r;
  }

  std::string method() const override { return std::string(kMethodRapl); }

  std::string describe() const override {
    std::string names;
    for (const RaplDomain& d : domains_) names += (names.empty() ? "" : " + ") + d.name;
    return "RAPL counters (whole machine, not only this process): " + names;
  }

 private:
  std::vector<RaplDomain> domains_;
  std::vector<uint64_t> start_;
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_ = 0;
};

}  // namespace

uint64_t rapl_delta_uj(uint64_t start, uint64_t end, uint64_t max_range_uj) {
  if (end >= start) return end - start;
  // The counter wrapped once: it ran from start up to the range, then from 0.
  if (max_range_uj >= start) return (max_range_uj - start) + end;
  return end;  // range unknown: count only what is certain
}

Expected<std::vector<RaplDomain>> find_rapl_domains(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return not_found(fmt::format("no powercap folder at {} (no RAPL on this machine or in this VM)", root));
  static const std::regex kPackage(R"(intel-rapl:\d+)");
  static const std::regex kSub(R"(intel-rapl:\d+:\d+)");
  std::vector<RaplDomain> domains;
  std::vector<fs::path> packages;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (std::regex_match(e.path().filename().string(), kPackage)) packages.push_back(e.path());
  std::sort(packages.begin(), packages.end());
  for (const fs::path& pkg : packages) {
    // psys (platform) overlaps the packages: summing it would count twice.
    if (read_line(pkg / "name").rfind("package", 0) != 0) continue;
    domains.push_back(make_domain(pkg, false));
    for (const auto& e : fs::directory_iterator(pkg, ec)) {
      if (std::regex_match(e.path().filename().string(), kSub) && read_line(e.path() / "name") == "dram")
        domains.push_back(make_domain(e.path(), true));
    }
  }
  if (domains.empty()) return not_found(fmt::format("no RAPL package domains under {}", root));
  for (const RaplDomain& d : domains) {
    auto v = read_counter(d.path);
    if (!v) return v.status();
  }
  return domains;
}

Expected<std::unique_ptr<Meter>> make_rapl_meter(const std::string& root) {
  auto domains = find_rapl_domains(root);
  if (!domains) return domains.status();
  return std::unique_ptr<Meter>(std::make_unique<RaplMeter>(std::move(*domains)));
}

}  // namespace ecoinfer::energy
