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
// A fresh empty folder under the build tree, private to the running test
// (ctest runs tests in parallel processes).
std::filesystem::path temp_dir(const std::string& name);

// Compares element by element: |a-b| <= atol + rtol*|b| for floating types,
// equality for integers and bool. On failure the message names the first
// mismatching index and the worst error.
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-3,
                                         double atol = 1e-5);

// Deterministic values in [lo, hi) (float types) or small integers.
Tensor random_tensor(DataType dtype, const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Elements as doubles, whatever the type (for comparisons).
std::vector<double> to_doubles(const Tensor& t);

}  // namespace ecoinfer::testing
