// The CPU-time estimator: its arithmetic, the CPU table lookups from
// /proc/cpuinfo text, the overrides (flag, config file) and the live meter.
#include <ctime>
#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "energy/energy_internal.h"
#include "test_util.h"

namespace ecoinfer::energy {
namespace {

std::string cpuinfo(const std::string& model, const std::string& vendor = "GenuineIntel", int family = 6,
                    int model_no = 0, int stepping = 0) {
  return "processor\t: 0\nvendor_id\t: " + vendor + "\ncpu family\t: " + std::to_string(family) + "\nmodel\t\t: " +
         std::to_string(model_no) + "\nmodel name\t: " + model + "\nstepping\t: " + std::to_string(stepping) +
         "\nflags\t\t: fpu sse2\n";
}

TEST(CpuTimeEstimator, Arithmetic) {
  CpuPowerModel m;
  m.busy_watts_per_thread = 4.0;
  m.idle_watts_per_thread = 1.0;
  m.ram_watts_per_gib = 0.5;
  // 2 s wall on 2 held threads, 3 s of CPU time, 4 GiB resident:
  // idle 2 x 2 x 1 = 4 J, busy step 3 x (4 - 1) = 9 J, RAM 2 x 4 x 0.5 = 4 J.
  const EnergyReading r = estimate_energy(m, {.wall_seconds = 2, .cpu_seconds = 3, .threads = 2, .resident_gib = 4});
  EXPECT_EQ(r.method, "estimated:cpu-time");
  EXPECT_DOUBLE_EQ(r.cpu_joules, 13.0);
  EXPECT_DOUBLE_EQ(r.ram_joules, 4.0);
  EXPECT_DOUBLE_EQ(r.joules, 17.0);
  EXPECT_DOUBLE_EQ(r.seconds, 2.0);
  EXPECT_DOUBLE_EQ(r.cpu_seconds, 3.0);
}

TEST(CpuTimeEstimator, IdleWorkIsIdlePowerOnly) {
  CpuPowerModel m{"", "", 3.5, 0.74, 0.375, ""};
  const EnergyReading r = estimate_energy(m, {.wall_seconds = 10, .cpu_seconds = 0, .threads = 1, .resident_gib = 0});
  EXPECT_DOUBLE_EQ(r.joules, 7.4);
}

TEST(CpuPowerTable, NamedSkusPickTheirGeneration) {
  auto spr = cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Xeon(R) Platinum 8480+"));
  EXPECT_NE(spr.family.find("Sapphire Rapids"), std::string::npos);
  EXPECT_DOUBLE_EQ(spr.busy_watts_per_thread, 350.0 / 112);
  EXPECT_DOUBLE_EQ(spr.idle_watts_per_thread, 350.0 / 112 * kDefaultIdleFraction);
  EXPECT_NE(cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz")).family.find(
                "Cascade Lake"),
            std::string::npos);
  EXPECT_NE(cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Xeon(R) Gold 6338 CPU")).family.find("Ice Lake"),
            std::string::npos);
  auto milan = cpu_power_model_from_cpuinfo(cpuinfo("AMD EPYC 7R13 Processor", "AuthenticAMD", 25, 1));
  EXPECT_NE(milan.family.find("Milan"), std::string::npos);
  EXPECT_DOUBLE_EQ(milan.busy_watts_per_thread, 280.0 / 128);
  EXPECT_NE(cpu_power_model_from_cpuinfo(cpuinfo("AMD EPYC 9654 96-Core Processor")).family.find("Genoa"),
            std::string::npos);
}

TEST(CpuPowerTable, UnnamedXeonFallsBackToCpuidModel) {
  // As in these VMs: "Intel(R) Xeon(R) Processor", family 6 model 207.
  auto emr = cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Xeon(R) Processor", "GenuineIntel", 6, 207));
  EXPECT_NE(emr.family.find("Emerald Rapids"), std::string::npos);
  auto spr = cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Xeon(R) Processor", "GenuineIntel", 6, 143));
  EXPECT_NE(spr.family.find("Sapphire Rapids"), std::string::npos);
  auto clx = cpu_power_model_from_cpuinfo(cpuinfo("Intel Xeon Processor (Cascadelake)", "GenuineIntel", 6, 85, 7));
  EXPECT_NE(clx.family.find("Cascade Lake"), std::string::npos);
}

TEST(CpuPowerTable, UnknownCpuUsesThePerThreadFallback) {
  auto m = cpu_power_model_from_cpuinfo(cpuinfo("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "GenuineIntel", 6, 142));
  EXPECT_EQ(m.family, "unknown");
  EXPECT_DOUBLE_EQ(m.busy_watts_per_thread, kFallbackBusyWattsPerThread);
  EXPECT_DOUBLE_EQ(m.idle_watts_per_thread, kFallbackIdleWattsPerThread);
  EXPECT_EQ(cpu_power_model_from_cpuinfo("").cpu_model, "unknown CPU");
}

TEST(CpuPowerTable, EveryRowIsConsistent) {
  for (const CpuFamilyRow& row : cpu_family_table()) {
    EXPECT_GT(row.tdp_watts, 0) << row.family;
    EXPECT_EQ(row.threads, 2 * row.cores) << row.family;
    EXPECT_FALSE(row.source.empty()) << row.family;
  }
}

TEST(CpuPowerTable, FlagBeatsConfigBeatsTable) {
  const auto dir = testing::temp_dir("estimator_overrides");
  std::ofstream(dir / "cpuinfo") << cpuinfo("Intel(R) Xeon(R) Platinum 8480+");
  std::ofstream(dir / "energy.json") << R"({"cpu_watts_per_core": 5.0, "ram_watts_per_gib": 0.4, "idle_fraction": 0.5})";
  EnergyOptions opts;
  opts.cpuinfo_path = (dir / "cpuinfo").string();
  auto config = load_energy_config((dir / "energy.json").string());
  ASSERT_TRUE(config) << config.status().message();
  CpuPowerModel from_config = resolve_cpu_power_model(opts, *config);
  EXPECT_DOUBLE_EQ(from_config.busy_watts_per_thread, 5.0);
  EXPECT_DOUBLE_EQ(from_config.idle_watts_per_thread, 2.5);
  EXPECT_DOUBLE_EQ(from_config.ram_watts_per_gib, 0.4);
  opts.cpu_watts_per_core = 8.0;
  CpuPowerModel from_flag = resolve_cpu_power_model(opts, *config);
  EXPECT_DOUBLE_EQ(from_flag.busy_watts_per_thread, 8.0);
  EXPECT_EQ(from_flag.source, "--cpu-watts-per-core");
  CpuPowerModel table = resolve_cpu_power_model({.cpuinfo_path = opts.cpuinfo_path}, EnergyConfig{});
  EXPECT_DOUBLE_EQ(table.busy_watts_per_thread, 350.0 / 112);
}

TEST(EnergyConfig, BadFilesAreClearErrors) {
  const auto dir = testing::temp_dir("energy_config_bad");
  EXPECT_EQ(load_energy_config((dir / "missing.json").string()).status().code(), StatusCode::kNotFound);
  std::ofstream(dir / "bad.json") << "{not json";
  EXPECT_EQ(load_energy_config((dir / "bad.json").string()).status().code(), StatusCode::kInvalidArgument);
  std::ofstream(dir / "wrong_type.json") << R"({"pue": "high"})";
  auto wrong = load_energy_config((dir / "wrong_type.json").string());
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.status().message().find("\"pue\""), std::string::npos);
}

TEST(CpuTimeEstimator, LiveMeterCountsBusyCpuTime) {
  CpuPowerModel m{"test", "test", 4.0, 1.0, 0.375, "test"};
  auto meter = make_cpu_time_estimator(m, 1);
  EXPECT_EQ(meter->method(), "estimated:cpu-time");
  ASSERT_TRUE(meter->start().is_ok());
  // Spin until this process has used 50 ms of CPU (the machine is shared, so
  // wall time says little about CPU time).
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double cpu_start = cpu_now();
  volatile double sink = 0;
  while (cpu_now() - cpu_start < 0.05) sink = sink + 1.0;
  auto r = meter->stop();
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_GE(r->cpu_seconds, 0.05);
  EXPECT_GE(r->seconds, r->cpu_seconds * 0.99);
  EXPECT_GT(r->ram_joules, 0);
  EXPECT_NEAR(r->cpu_joules, r->seconds * 1.0 + r->cpu_seconds * 3.0, 1e-9);
}

}  // namespace
}  // namespace ecoinfer::energy
