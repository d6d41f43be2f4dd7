// The RAPL reader against sysfs-shaped fixture folders built at run time:
// domains found and filtered, energy deltas, wrap-around, missing
// permission, missing domains, and the probe's fall-back to the estimator.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "energy/energy_internal.h"
#include "test_util.h"

namespace ecoinfer::energy {
namespace {
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text << "\n";
}

// root/intel-rapl:0 (package-0, with core and dram subdomains),
// root/intel-rapl:1 (psys, which must be ignored).
fs::path make_powercap(const std::string& name, uint64_t max_range = 262143328850) {
  const fs::path root = testing::temp_dir(name);
  const fs::path pkg = root / "intel-rapl:0";
  write(pkg / "name", "package-0");
  write(pkg / "energy_uj", "1000000");
  write(pkg / "max_energy_range_uj", std::to_string(max_range));
  write(pkg / "intel-rapl:0:0" / "name", "core");
  write(pkg / "intel-rapl:0:0" / "energy_uj", "500000");
  write(pkg / "intel-rapl:0:0" / "max_energy_range_uj", std::to_string(max_range));
  write(pkg / "intel-rapl:0:2" / "name", "dram");
  write(pkg / "intel-rapl:0:2" / "energy_uj", "200000");
  write(pkg / "intel-rapl:0:2" / "max_energy_range_uj", std::to_string(max_range));
  write(root / "intel-rapl:1" / "name", "psys");
  write(root / "intel-rapl:1" / "energy_uj", "9000000");
  return root;
}

TEST(RaplMeter, FindsPackageAndDramButNotCoreOrPsys) {
  const fs::path root = make_powercap("rapl_domains");
  auto domains = find_rapl_domains(root.string());
  ASSERT_TRUE(domains) << domains.status().message();
  ASSERT_EQ(domains->size(), 2u);
  EXPECT_EQ((*domains)[0].name, "package-0");
  EXPECT_FALSE((*domains)[0].is_dram);
  EXPECT_EQ((*domains)[1].name, "dram");
  EXPECT_TRUE((*domains)[1].is_dram);
}

TEST(RaplMeter, MeasuresPackageAndDramDeltas) {
  const fs::path root = make_powercap("rapl_delta");
  auto meter = make_rapl_meter(root.string());
  ASSERT_TRUE(meter) << meter.status().message();
  ASSERT_TRUE((*meter)->start().is_ok());
  write(root / "intel-rapl:0" / "energy_uj", "3500000");                  // +2.5 J
  write(root / "intel-rapl:0" / "intel-rapl:0:2" / "energy_uj", "700000");  // +0.5 J
  write(root / "intel-rapl:1" / "energy_uj", "99000000");                 // psys: ignored
  auto r = (*meter)->stop();
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->method, "measured:rapl");
  EXPECT_NEAR(r->cpu_joules, 2.5, 1e-9);
  EXPECT_NEAR(r->ram_joules, 0.5, 1e-9);
  EXPECT_NEAR(r->joules, 3.0, 1e-9);
}

TEST(RaplMeter, UndoesOneWrapAround) {
  EXPECT_EQ(rapl_delta_uj(100, 300, 1000), 200u);
  EXPECT_EQ(rapl_delta_uj(900, 100, 1000), 200u);  // 900 -> 1000, then 0 -> 100
  EXPECT_EQ(rapl_delta_uj(900, 100, 0), 100u);     // range unknown: only the certain part

  const fs::path root = make_powercap("rapl_wrap", 4000000);
  write(root / "intel-rapl:0" / "energy_uj", "3000000");
  auto meter = make_rapl_meter(root.string());
  ASSERT_TRUE(meter) << meter.status().message();
  ASSERT_TRUE((*meter)->start().is_ok());
  write(root / "intel-rapl:0" / "energy_uj", "500000");  // wrapped: 1 J to the top + 0.5 J
  auto r = (*meter)->stop();
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_NEAR(r->cpu_joules, 1.5, 1e-9);
}

TEST(RaplMeter, MissingRootOrDomainsIsNotFound) {
  auto none = find_rapl_domains("/nonexistent/powercap");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  const fs::path empty = testing::temp_dir("rapl_empty");
  write(empty / "dtpm" / "name", "dtpm");  // a powercap zone that is not RAPL
  auto no_domains = find_rapl_domains(empty.string());
  ASSERT_FALSE(no_domains);
  EXPECT_EQ(no_domains.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_domains.status().message().find("no RAPL package domains"), std::string::npos);
}

// energy_uj is root-only since Linux 5.10. Root reads anything, so the check
// runs in a child that drops to "nobody" first.
TEST(RaplMeter, UnreadableCounterIsPermissionDenied) {
  const fs::path root = make_powercap("rapl_permission");
  fs::permissions(root / "intel-rapl:0" / "energy_uj", fs::perms::owner_write);
  for (fs::path p = root; p != p.parent_path(); p = p.parent_path())
    fs::permissions(p, fs::perms::others_exec | fs::perms::others_read, fs::perm_options::add);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    auto d = find_rapl_domains(root.string());
    if (d) _exit(1);
    const bool ok = d.status().code() == StatusCode::kPermissionDenied &&
                    d.status().message().find("permission denied") != std::string::npos;
    _exit(ok ? 0 : 2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "cannot drop privileges here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: read succeeded, 2: wrong status";
}

TEST(RaplMeter, ProbeUsesRaplWhenReadableElseTheEstimator) {
  EnergyOptions opts;
  opts.config_path = "";
  opts.powercap_root = make_powercap("rapl_probe").string();
  auto rapl = probe_meter(opts);
  ASSERT_TRUE(rapl) << rapl.status().message();
  EXPECT_EQ((*rapl)->method(), "measured:rapl");

  opts.powercap_root = "/nonexistent/powercap";
  auto est = probe_meter(opts);
  ASSERT_TRUE(est) << est.status().message();
  EXPECT_EQ((*est)->method(), "estimated:cpu-time");
  EXPECT_NE((*est)->describe().find("RAPL not used"), std::string::npos);
}

}  // namespace
}  // namespace ecoinfer::energy
