// The ecoinfer command bounds how long libgomp's idle threads spin
// (GOMP_SPINCOUNT=5000, tools/cli/main.cc) by starting again with the
// variable before any library initializer runs; a user's own OMP_WAIT_POLICY
// or GOMP_SPINCOUNT wins. libgomp itself says what it read: OMP_DISPLAY_ENV
// prints its settings once, from its initializer, in each process image
// that initializes it.
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace ecoinfer {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// What libgomp printed for `ecoinfer --version` with the given variables set
// (and the user's own OpenMP wait settings, if any, taken away).
std::string openmp_settings_with(const std::string& variables) {
  const auto outcome = testing::run_command("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose " +
                                            variables + " " + testing::cli_path().string() + " --version");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("ecoinfer "), std::string::npos) << outcome.out;
  return outcome.err;
}

TEST(CliOpenmpWait, SpinIsBoundedAndLibgompInitializesOnce) {
  const std::string settings = openmp_settings_with("");
  EXPECT_EQ(count(settings, "GOMP_SPINCOUNT = '5000'"), 1u) << settings;
  // The first image starts again before libgomp's initializer: it never read
  // its default (300000).
  EXPECT_EQ(count(settings, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << settings;
}

TEST(CliOpenmpWait, UsersSpinCountWins) {
  const std::string settings = openmp_settings_with("GOMP_SPINCOUNT=7");
  EXPECT_EQ(count(settings, "GOMP_SPINCOUNT = '7'"), 1u) << settings;
  EXPECT_EQ(count(settings, "5000"), 0u) << settings;
}

TEST(CliOpenmpWait, UsersWaitPolicyWins) {
  // Passive: libgomp sleeps at once (spin count 0), nothing set on top.
  const std::string settings = openmp_settings_with("OMP_WAIT_POLICY=passive");
  EXPECT_EQ(count(settings, "GOMP_SPINCOUNT = '0'"), 1u) << settings;
}

TEST(CliOpenmpWait, ArgumentsSurviveTheRestart) {
  const auto outcome = testing::run_command("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + testing::cli_path().string() +
                                            " zoo build no-such-model --out /nonexistent/x.onnx");
  testing::expect_clean_failure(outcome, "no-such-model");
}

}  // namespace
}  // namespace ecoinfer
