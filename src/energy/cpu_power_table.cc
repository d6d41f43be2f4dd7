// The estimator's watts: a small table of server CPU families (TDP and
// threads of a reference SKU; busy watts per logical CPU = TDP / threads),
// picked from /proc/cpuinfo. Figures and sources: docs/ENERGY.md.
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "energy/energy_internal.h"

namespace ecoinfer::energy {
namespace {

constexpr std::string_view kIntelArk = "Intel ARK product specifications (ark.intel.com)";
constexpr std::string_view kAmdSpecs = "AMD EPYC product specifications (amd.com/en/products/processors/server/epyc)";

std::string field(std::string_view text, std::string_view key) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
    return v;
  }
  return "";
}

const CpuFamilyRow* find_family(std::string_view prefix) {
  for (const CpuFamilyRow& row : cpu_family_table())
    if (row.family.rfind(prefix, 0) == 0) return &row;
  return nullptr;
}

// Cloud VMs often hide the SKU ("Intel(R) Xeon(R) Processor"), but the
// CPUID family/model numbers still name the microarchitecture.
const CpuFamilyRow* family_for_cpuid(std::string_view cpuinfo_text) {
  const std::string vendor = field(cpuinfo_text, "vendor_id");
  const int family = std::atoi(field(cpuinfo_text, "cpu family").c_str());
  const int model = std::atoi(field(cpuinfo_text, "model\t").c_str());
  const int stepping = std::atoi(field(cpuinfo_text, "stepping").c_str());
  if (vendor == "GenuineIntel" && family == 6) {
    switch (model) {
      case 85: return find_family(stepping >= 5 ? "Intel Xeon 2nd gen" : "Intel Xeon 1st gen");
      case 106: case 108: return find_family("Intel Xeon 3rd gen");
      case 143: return find_family("Intel Xeon 4th gen");
      case 207: return find_family("Intel Xeon 5th gen");
      default: return nullptr;
    }
  }
  if (vendor == "AuthenticAMD") {
    if (family == 23 && model == 1) return find_family("AMD EPYC 1st gen");
    if (family == 23 && model == 49) return find_family("AMD EPYC 2nd gen");
    if (family == 25 && model < 16) return find_family("AMD EPYC 3rd gen");
    if (family == 25 && model >= 16) return find_family("AMD EPYC 4th gen");
    if (family == 26) return find_family("AMD EPYC 5th gen");
  }
  return nullptr;
}

// Xeon Scalable SKUs "8480+", "6338", "8259CL": the second digit is the
// generation. EPYC "7763", "7R13", "9654": the last digit is the generation.
const CpuFamilyRow* family_for_model(const std::string& model, std::string_view cpuinfo_text) {
  std::smatch m;
  static const std::regex kXeon(R"(Xeon\(R\) (?:Platinum|Gold|Silver|Bronze) [3-9]([1-5])\d\d)");
  static const std::regex kEpyc(R"(EPYC (\d)[0-9A-Z]{2}(\d))");
  if (std::regex_search(model, m, kXeon)) {
    static const char* kGen[] = {"", "Intel Xeon 1st gen", "Intel Xeon 2nd gen", "Intel Xeon 3rd gen",
                                 "Intel Xeon 4th gen", "Intel Xeon 5th gen"};
    return find_family(kGen[m[1].str()[0] - '0']);
  }
  if (std::regex_search(model, m, kEpyc)) {
    static const char* kGen[] = {"", "AMD EPYC 1st gen", "AMD EPYC 2nd gen", "AMD EPYC 3rd gen",
                                 "AMD EPYC 4th gen", "AMD EPYC 5th gen"};
    const int gen = m[2].str()[0] - '0';
    return gen >= 1 && gen <= 5 ? find_family(kGen[gen]) : nullptr;
  }
  // Only server parts: a desktop or laptop CPU with a known CPUID model
  // would get a server TDP, so those keep the per-thread fallback.
  if (model.find("Xeon") != std::string::npos || model.find("EPYC") != std::string::npos)
    return family_for_cpuid(cpuinfo_text);
  return nullptr;
}

}  // namespace

const std::vector<CpuFamilyRow>& cpu_family_table() {
  static const std::vector<CpuFamilyRow> kTable = {
      {"Intel Xeon 1st gen (Skylake-SP)", "Xeon Platinum 8180", 205, 28, 56, kIntelArk},
      {"Intel Xeon 2nd gen (Cascade Lake)", "Xeon Platinum 8280", 205, 28, 56, kIntelArk},
      {"Intel Xeon 3rd gen (Ice Lake)", "Xeon Platinum 8380", 270, 40, 80, kIntelArk},
      {"Intel Xeon 4th gen (Sapphire Rapids)", "Xeon Platinum 8480+", 350, 56, 112, kIntelArk},
      {"Intel Xeon 5th gen (Emerald Rapids)", "Xeon Platinum 8592+", 350, 64, 128, kIntelArk},
      {"AMD EPYC 1st gen (Naples)", "EPYC 7601", 180, 32, 64, kAmdSpecs},
      {"AMD EPYC 2nd gen (Rome)", "EPYC 7742", 225, 64, 128, kAmdSpecs},
      {"AMD EPYC 3rd gen (Milan)", "EPYC 7763", 280, 64, 128, kAmdSpecs},
      {"AMD EPYC 4th gen (Genoa)", "EPYC 9654", 360, 96, 192, kAmdSpecs},
      {"AMD EPYC 5th gen (Turin)", "EPYC 9755", 500, 128, 256, kAmdSpecs},
  };
  return kTable;
}

CpuPowerModel cpu_power_model_from_cpuinfo(std::string_view cpuinfo_text) {
  CpuPowerModel m;
  m.cpu_model = field(cpuinfo_text, "model name");
  if (m.cpu_model.empty()) m.cpu_model = "unknown CPU";
  m.ram_watts_per_gib = kDefaultRamWattsPerGib;
  if (const CpuFamilyRow* row = family_for_model(m.cpu_model, cpuinfo_text)) {
    m.family = std::string(row->family);
    m.busy_watts_per_thread = row->tdp_watts / row->threads;
    m.idle_watts_per_thread = m.busy_watts_per_thread * kDefaultIdleFraction;
    m.source = fmt::format("{}: TDP {} W / {} threads ({})", row->reference_sku, row->tdp_watts, row->threads,
                           row->source);
  } else {
    m.family = "unknown";
    m.busy_watts_per_thread = kFallbackBusyWattsPerThread;
    m.idle_watts_per_thread = kFallbackIdleWattsPerThread;
    m.source = "per-thread fallback: Cloud Carbon Footprint's AWS average (0.74 W idle, 3.5 W busy per vCPU)";
  }
  return m;
}

CpuPowerModel resolve_cpu_power_model(const EnergyOptions& options, const EnergyConfig& config) {
  std::ifstream in(options.cpuinfo_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CpuPowerModel m = cpu_power_model_from_cpuinfo(text);
  const double idle_fraction = options.idle_fraction.value_or(
      config.idle_fraction.value_or(m.idle_watts_per_thread / m.busy_watts_per_thread));
  const auto busy = options.cpu_watts_per_core ? options.cpu_watts_per_core : config.cpu_watts_per_core;
  if (busy) {
    m.busy_watts_per_thread = *busy;
    m.source = options.cpu_watts_per_core ? "--cpu-watts-per-core" : "config file " + config.path;
  }
  m.idle_watts_per_thread = m.busy_watts_per_thread * idle_fraction;
  if (auto ram = options.ram_watts_per_gib ? options.ram_watts_per_gib : config.ram_watts_per_gib)
    m.ram_watts_per_gib = *ram;
  return m;
}

}  // namespace ecoinfer::energy
