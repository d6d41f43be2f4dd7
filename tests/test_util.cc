#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "common/half.h"

namespace ecoinfer::testing {
namespace fs = std::filesystem;

fs::path source_dir() { return ECOINFER_SOURCE_DIR; }
fs::path models_dir() { return source_dir() / "models"; }
fs::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }
fs::path binary_dir() { return ECOINFER_BINARY_DIR; }
fs::path cli_path() { return binary_dir() / "ecoinfer"; }

fs::path temp_dir(const std::string& name) {
  // ctest runs each test as its own process, two at a time: a folder keyed by
  // name alone was wiped by one test while another was writing in it. The
  // running test's full name keeps every test in a folder of its own.
  // Outside a test (SetUpTestSuite), parallel processes run the same suite:
  // the process id keeps their folders apart.
  const auto* unit = ::testing::UnitTest::GetInstance();
  const auto* test = unit->current_test_info();
  const auto* suite = unit->current_test_suite();
  const std::string owner = test    ? fmt::format("{}.{}", test->test_suite_name(), test->name())
                            : suite ? fmt::format("{}.setup-{}", suite->name(), ::getpid())
                                    : fmt::format("no-test-{}", ::getpid());
  fs::path p = fs::path(ECOINFER_BINARY_DIR) / "test-tmp" / owner / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

CliOutcome run_command(const std::string& command, int timeout_seconds) {
  static std::atomic<int> calls{0};
  const fs::path dir = temp_dir(fmt::format("command-{}", calls++));
  const std::string cmd = fmt::format("timeout {} {} >{} 2>{}", timeout_seconds, command, (dir / "out").string(),
                                      (dir / "err").string());
  const int status = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(dir / "out"), slurp(dir / "err")};
}

CliOutcome run_cli(const std::string& args, int timeout_seconds) {
  return run_command(cli_path().string() + " " + args, timeout_seconds);
}

void expect_clean_failure(const CliOutcome& o, const std::string& needle) {
  EXPECT_EQ(o.exit_code, 1) << o.err;
  EXPECT_EQ(o.err.rfind("ecoinfer: error: ", 0), 0u) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_NE(o.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << o.err;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  const void* p = t.raw_data();
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype()) {
      case DataType::kFloat32: v[i] = static_cast<const float*>(p)[i]; break;
      case DataType::kFloat64: v[i] = static_cast<const double*>(p)[i]; break;
      case DataType::kFloat16: v[i] = half_to_float(static_cast<const Float16*>(p)[i]); break;
      case DataType::kBFloat16: v[i] = bfloat16_to_float(static_cast<const BFloat16*>(p)[i]); break;
      case DataType::kInt8: v[i] = static_cast<const int8_t*>(p)[i]; break;
      case DataType::kUInt8: v[i] = static_cast<const uint8_t*>(p)[i]; break;
      case DataType::kInt16: v[i] = static_cast<const int16_t*>(p)[i]; break;
      case DataType::kUInt16: v[i] = static_cast<const uint16_t*>(p)[i]; break;
      case DataType::kInt32: v[i] = static_cast<const int32_t*>(p)[i]; break;
      case DataType::kUInt32: v[i] = static_cast<const uint32_t*>(p)[i]; break;
      case DataType::kInt64: v[i] = static_cast<double>(static_cast<const int64_t*>(p)[i]); break;
      case DataType::kUInt64: v[i] = static_cast<double>(static_cast<const uint64_t*>(p)[i]); break;
      case DataType::kBool: v[i] = static_cast<const uint8_t*>(p)[i] ? 1 : 0; break;
      default: v[i] = NAN;
    }
  }
  return v;
}

::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.dtype() != expected.dtype())
    return ::testing::AssertionFailure() << "type " << dtype_name(actual.dtype()) << " != expected "
                                         << dtype_name(expected.dtype());
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape()) << " != expected "
                                         << shape_to_string(expected.shape());
  const bool exact = !(expected.dtype() == DataType::kFloat32 || expected.dtype() == DataType::kFloat64 ||
                       expected.dtype() == DataType::kFloat16 || expected.dtype() == DataType::kBFloat16);
  const std::vector<double> a = to_doubles(actual);
  const std::vector<double> b = to_doubles(expected);
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    bool ok;
    if (std::isnan(b[i])) ok = std::isnan(a[i]);
    else if (std::isinf(b[i])) ok = a[i] == b[i];
    else if (exact) ok = a[i] == b[i];
    else ok = std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i]);
    if (!ok) {
      if (bad++ == 0) first = i;
      if (!std::isnan(a[i]) && !std::isnan(b[i])) worst = std::max(worst, std::fabs(a[i] - b[i]));
      else worst = INFINITY;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.size() << " elements differ; first at " << first << ": "
                                       << a[first] << " vs expected " << b[first] << "; worst abs error " << worst;
}

Tensor random_tensor(DataType dtype, const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t = Tensor::zeros(dtype, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(lo, hi);
  std::uniform_int_distribution<int> small(-5, 5);
  void* p = t.raw_data();
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (dtype) {
      case DataType::kFloat32: static_cast<float*>(p)[i] = real(rng); break;
      case DataType::kFloat64: static_cast<double*>(p)[i] = real(rng); break;
      case DataType::kFloat16: static_cast<Float16*>(p)[i] = float_to_half(real(rng)); break;
      case DataType::kInt64: static_cast<int64_t*>(p)[i] = small(rng); break;
      case DataType::kInt32: static_cast<int32_t*>(p)[i] = small(rng); break;
      case DataType::kInt8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(small(rng)); break;
      case DataType::kUInt8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(small(rng) + 5); break;
      case DataType::kBool: static_cast<uint8_t*>(p)[i] = small(rng) > 0; break;
      default: break;
    }
  }
  return t;
}

int count_op(const Session& s, const std::string& op) {
  for (const auto& [name, n] : s.summary().op_histogram)
    if (name == op) return n;
  return 0;
}

}  // namespace ecoinfer::testing
