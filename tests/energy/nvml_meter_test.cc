// NVML is loaded at run time: absent, it is a clear kNotFound (never a build
// or run dependency). A fake libnvidia-ml, compiled here when a C compiler is
// on the machine, drives both code paths: the total-energy counter and the
// power-sample integration. Not a substitute for a real GPU (docs/ENERGY.md).
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "energy/energy_internal.h"
#include "test_util.h"

namespace ecoinfer::energy {
namespace {

TEST(NvmlMeter, AbsentLibraryIsNotFound) {
  auto m = make_nvml_meter("libnvidia-ml-does-not-exist.so.1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("NVML not available"), std::string::npos);
  EnergyOptions opts;
  opts.nvml_library = "libnvidia-ml-does-not-exist.so.1";
  EXPECT_FALSE(probe_gpu_meter(opts));
}

TEST(NvmlMeter, IntegratesPowerSamples) {
  EXPECT_DOUBLE_EQ(integrate_power_samples({}), 0);
  EXPECT_DOUBLE_EQ(integrate_power_samples({{0, 100}}), 0);
  // 100 W for 1 s, then a ramp 100 -> 200 W over 2 s: 100 + 300 J.
  EXPECT_DOUBLE_EQ(integrate_power_samples({{0, 100}, {1, 100}, {3, 200}}), 400);
}

constexpr const char* kFakeNvml = R"c(
#include <stdlib.h>
static unsigned long long energy_mj = 5000;
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned* n) { *n = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** d) { *d = (void*)0x1; return 0; }
int nvmlDeviceGetName(void* d, char* name, unsigned len) { name[0] = 'F'; name[1] = 0; return 0; }
int nvmlDeviceGetPowerUsage(void* d, unsigned* mw) { *mw = 50000; return 0; }
int nvmlDeviceGetTotalEnergyConsumption(void* d, unsigned long long* mj) {
  if (getenv("FAKE_NVML_NO_COUNTER")) return 3; /* NVML_ERROR_NOT_SUPPORTED */
  energy_mj += 1500; *mj = energy_mj; return 0;
}
)c";

// Builds the fake library; empty when no compiler is available.
std::string build_fake_nvml() {
  // One folder per test: ctest runs the tests of this file in parallel.
  const auto dir = testing::temp_dir(std::string("fake_nvml_") +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::ofstream(dir / "fake_nvml.c") << kFakeNvml;
  const std::string lib = (dir / "libfake-nvml.so").string();
  const std::string cmd = "cc -shared -fPIC -o " + lib + " " + (dir / "fake_nvml.c").string() + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0 ? lib : "";
}

TEST(NvmlMeter, TotalEnergyCounterPath) {
  const std::string lib = build_fake_nvml();
  if (lib.empty()) GTEST_SKIP() << "no C compiler to build the fake NVML";
  unsetenv("FAKE_NVML_NO_COUNTER");
  auto m = make_nvml_meter(lib);
  ASSERT_TRUE(m) << m.status().message();
  EXPECT_EQ((*m)->method(), "measured:nvml");
  EXPECT_NE((*m)->describe().find("total energy counters"), std::string::npos);
  ASSERT_TRUE((*m)->start().is_ok());
  auto r = (*m)->stop();
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_DOUBLE_EQ(r->gpu_joules, 1.5);  // one counter step of 1500 mJ
  EXPECT_DOUBLE_EQ(r->joules, r->gpu_joules);
  EXPECT_DOUBLE_EQ(r->cpu_joules, 0);  // never mixed with the CPU figure
}

TEST(NvmlMeter, PowerSamplingFallback) {
  const std::string lib = build_fake_nvml();
  if (lib.empty()) GTEST_SKIP() << "no C compiler to build the fake NVML";
  setenv("FAKE_NVML_NO_COUNTER", "1", 1);
  auto m = make_nvml_meter(lib);
  ASSERT_TRUE(m) << m.status().message();
  EXPECT_NE((*m)->describe().find("power samples"), std::string::npos);
  ASSERT_TRUE((*m)->start().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = (*m)->stop();
  unsetenv("FAKE_NVML_NO_COUNTER");
  ASSERT_TRUE(r) << r.status().message();
  // 50 W over ~0.2 s, less the gap before the first sample.
  EXPECT_NEAR(r->gpu_joules, 50 * r->seconds, 50 * 0.03);
  EXPECT_EQ(r->method, "measured:nvml");
}

}  // namespace
}  // namespace ecoinfer::energy
