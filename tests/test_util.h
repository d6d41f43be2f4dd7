// Shared helpers for ecoinfer's tests: where things are, and tensor comparison
// with the tolerances the issues set (rtol/atol for floats, exact otherwise).
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"

namespace ecoinfer::testing {

std::filesystem::path source_dir();
std::filesystem::path models_dir();    // <source>/models, filled by scripts/fetch-models.sh
std::filesystem::path fixtures_dir();  // <source>/tests/fixtures
std::filesystem::path binary_dir();    // the build tree
std::filesystem::path cli_path();      // <build>/ecoinfer
// A fresh empty folder under the build tree, private to the running test
// (or, outside a test, to the suite in this process)
// (ctest runs tests in parallel processes).
std::filesystem::path temp_dir(const std::string& name);

// The CLI run as a child process under `timeout` (a hang is a failure,
// exit code 124): its exit code and what it printed.
struct CliOutcome {
  int exit_code = -1;
  std::string out, err;
};
CliOutcome run_cli(const std::string& args, int timeout_seconds = 120);
// The same for any shell command (a helper script, ImageMagick...).
CliOutcome run_command(const std::string& command, int timeout_seconds = 120);

// A failure the way the CLI promises it: exit code 1 and one line on
// stderr, "ecoinfer: error: ...", that contains `needle`.
void expect_clean_failure(const CliOutcome& outcome, const std::string& needle);

// Compares element by element: |a-b| <= atol + rtol*|b| for floating types,
// equality for integers and bool. On failure the message names the first
// mismatching index and the worst error.
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-3,
                                         double atol = 1e-5);

// Deterministic values in [lo, hi) (float types) or small integers.
Tensor random_tensor(DataType dtype, const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Elements as doubles, whatever the type (for comparisons).
std::vector<double> to_doubles(const Tensor& t);

// How many nodes of op type `op` the session runs after optimization.
int count_op(const Session& s, const std::string& op);

}  // namespace ecoinfer::testing
