// Agreement of ecoinfer with ONNX Runtime on the real PaddleOCR models.
//
// The references are tests/fixtures/ort/<model>/<shape>/{x.npy,<output>.npy},
// made by `node scripts/make-fixtures.js` (ONNX Runtime 1.30, one thread); see
// docs/TESTING.md. The models come from scripts/fetch-models.sh. Checks:
//  - every output has ORT's shape, and max |ecoinfer - ORT| <= 1e-3 * (max - min
//    of the ORT output): the tolerance, relative to the output's range;
//  - for the classifiers (cls, rec) the same argmax over the last axis at every
//    position (the fixtures guarantee ORT's top-1 beats its top-2 by > 1e-3);
//  - one session serves several input shapes in alternation, and keeps earlier
//    results intact while it runs again;
//  - one session runs from two threads at once with the same results.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

constexpr double kRangeTolerance = 1e-3;  // the requirement: 1e-3 of the output's range

enum class Kind { kCls, kDet, kRec };

struct Fixture {
  const char* model;  // file stem in models/
  Kind kind;
  const char* shape;  // folder name: the input shape
};

// Readable test names in gtest's messages instead of a byte dump.
void PrintTo(const Fixture& f, std::ostream* os) { *os << f.model << "/" << f.shape; }

const char* const kCls = "ch_ppocr_mobile_v2.0_cls_infer";
const char* const kDet = "ch_PP-OCRv4_det_infer";
const char* const kRec = "ch_PP-OCRv4_rec_infer";

const std::vector<Fixture>& all_fixtures() {
  static const std::vector<Fixture> fixtures = {
      {kCls, Kind::kCls, "1x3x48x192"}, {kCls, Kind::kCls, "2x3x48x192"},
      {kDet, Kind::kDet, "1x3x96x128"}, {kDet, Kind::kDet, "1x3x160x224"},
      {kRec, Kind::kRec, "1x3x48x320"}, {kRec, Kind::kRec, "1x3x48x160"},
      {kRec, Kind::kRec, "2x3x48x240"},
  };
  return fixtures;
}

fs::path ort_fixtures() { return testing::fixtures_dir() / "ort"; }
fs::path model_path(const std::string& model) { return testing::models_dir() / (model + ".onnx"); }
fs::path fixture_dir(const std::string& model, const std::string& shape) { return ort_fixtures() / model / shape; }

// Output file names as make-fixtures.js writes them.
std::string sanitize(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  return s;
}

::testing::AssertionResult model_present(const std::string& model) {
  if (fs::exists(model_path(model))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << model_path(model) << " is missing: run scripts/fetch-models.sh "
                                       << "(scripts/setup.sh runs it) to download the PaddleOCR models";
}

::testing::AssertionResult load(const std::string& model, std::unique_ptr<Session>* session) {
  if (auto present = model_present(model); !present) return present;
  auto loaded = Session::load(model_path(model), {.threads = 1});
  if (!loaded) return ::testing::AssertionFailure() << "loading " << model << ": " << loaded.status().message();
  *session = std::move(*loaded);
  return ::testing::AssertionSuccess();
}

// The input and ORT's outputs (in the session's output order) for one fixture.
struct Case {
  std::string label;
  Kind kind = Kind::kDet;
  std::vector<NamedTensor> inputs;
  std::vector<NamedTensor> expected;
};

::testing::AssertionResult read_case(const Session& session, const std::string& model, Kind kind,
                                     const std::string& shape, Case* c) {
  const fs::path dir = fixture_dir(model, shape);
  c->label = model + "/" + shape;
  c->kind = kind;
  if (!fs::is_directory(dir))
    return ::testing::AssertionFailure() << dir << " is missing: run `node scripts/make-fixtures.js`";
  auto x = read_npy(dir / "x.npy");
  if (!x) return ::testing::AssertionFailure() << x.status().message();
  if (session.inputs().size() != 1)
    return ::testing::AssertionFailure() << model << " has " << session.inputs().size() << " inputs, expected 1";
  c->inputs = {{session.inputs()[0].name, *x}};
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".npy" && entry.path().filename() != "x.npy") ++files;
  if (files != session.outputs().size())
    return ::testing::AssertionFailure() << dir << " holds " << files << " output files but the model has "
                                         << session.outputs().size() << " outputs";
  for (const ValueDescription& out : session.outputs()) {
    auto y = read_npy(dir / (sanitize(out.name) + ".npy"));
    if (!y) return ::testing::AssertionFailure() << "output " << out.name << ": " << y.status().message();
    c->expected.push_back({out.name, *y});
  }
  return ::testing::AssertionSuccess();
}

std::string index_string(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::ostringstream s;
  s << "[";
  for (size_t d = 0; d < idx.size(); ++d) s << (d ? "," : "") << idx[d];
  s << "]";
  return s.str();
}

// Shape, range-relative error and (for classifiers) argmax along the last axis.
::testing::AssertionResult matches_ort(const Tensor& actual, const Tensor& expected, bool classifier) {
  if (actual.dtype() != expected.dtype())
    return ::testing::AssertionFailure() << "type " << dtype_name(actual.dtype()) << " != ORT's "
                                         << dtype_name(expected.dtype());
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape()) << " != ORT's "
                                         << shape_to_string(expected.shape());
  const std::vector<double> a = testing::to_doubles(actual);
  const std::vector<double> b = testing::to_doubles(expected);
  if (b.empty()) return ::testing::AssertionSuccess();
  const auto [lo, hi] = std::minmax_element(b.begin(), b.end());
  const double bound = kRangeTolerance * (*hi - *lo);
  double worst = 0;
  int64_t worst_at = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::isfinite(a[i]) ? std::fabs(a[i] - b[i]) : INFINITY;
    if (worst_at < 0 || err > worst) worst = err, worst_at = static_cast<int64_t>(i);
  }
  if (!(worst <= bound))
    return ::testing::AssertionFailure() << "max |ecoinfer - ORT| = " << worst << " at "
                                         << index_string(expected.shape(), worst_at) << " (" << a[worst_at]
                                         << " vs ORT " << b[worst_at] << ") exceeds " << bound << " = "
                                         << kRangeTolerance << " * ORT range [" << *lo << ", " << *hi << "]";
  if (classifier && !expected.shape().empty()) {
    const size_t classes = static_cast<size_t>(expected.shape().back());
    size_t mismatches = 0, first = 0, first_a = 0, first_b = 0;
    for (size_t p = 0; classes && p + classes <= b.size(); p += classes) {
      const size_t ia = std::max_element(a.begin() + p, a.begin() + p + classes) - (a.begin() + p);
      const size_t ib = std::max_element(b.begin() + p, b.begin() + p + classes) - (b.begin() + p);
      if (ia != ib && mismatches++ == 0) first = p, first_a = ia, first_b = ib;
    }
    if (mismatches)
      return ::testing::AssertionFailure() << "argmax differs at " << mismatches << " of " << b.size() / classes
                                           << " positions; first at " << index_string(expected.shape(), first)
                                           << ": class " << first_a << " vs ORT's " << first_b;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult outputs_match(const std::vector<NamedTensor>& actual, const Case& c) {
  if (actual.size() != c.expected.size())
    return ::testing::AssertionFailure() << c.label << ": " << actual.size() << " outputs, ORT gave "
                                         << c.expected.size();
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i].name != c.expected[i].name)
      return ::testing::AssertionFailure() << c.label << ": output " << i << " is named " << actual[i].name
                                           << ", expected " << c.expected[i].name;
    auto r = matches_ort(actual[i].tensor, c.expected[i].tensor, c.kind != Kind::kDet);
    if (!r) return ::testing::AssertionFailure() << c.label << " output " << actual[i].name << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult run_and_check(const Session& session, const Case& c,
                                         std::vector<NamedTensor>* kept = nullptr) {
  auto out = session.run(c.inputs);
  if (!out) return ::testing::AssertionFailure() << c.label << ": run failed: " << out.status().message();
  if (kept) *kept = *out;
  return outputs_match(*out, c);
}

// ---------------------------------------------------------------------------

TEST(RealModels, ModelsArePresent) {
  for (const char* model : {kCls, kDet, kRec}) EXPECT_TRUE(model_present(model));
}

// The checker itself: within the range bound it passes, just over it fails,
// and a flipped top-1 fails even when the values are within the bound.
TEST(RealModels, CheckerCatchesSmallDifferences) {
  // Range 1, so the bound is 1e-3.
  const Tensor ort = Tensor::from_vector<float>({2, 2}, {0.5004f, 0.4996f, 0.0f, 1.0f});
  EXPECT_TRUE(matches_ort(ort, ort, true));
  EXPECT_TRUE(matches_ort(Tensor::from_vector<float>({2, 2}, {0.5008f, 0.4992f, 0.0f, 1.0f}), ort, true));
  EXPECT_FALSE(matches_ort(Tensor::from_vector<float>({2, 2}, {0.5004f, 0.4996f, 0.0f, 1.0015f}), ort, false));
  EXPECT_FALSE(matches_ort(Tensor::from_vector<float>({2, 2}, {0.4998f, 0.5002f, 0.0f, 1.0f}), ort, true));
  EXPECT_TRUE(matches_ort(Tensor::from_vector<float>({2, 2}, {0.4998f, 0.5002f, 0.0f, 1.0f}), ort, false));
  EXPECT_FALSE(matches_ort(Tensor::from_vector<float>({4}, {0.5004f, 0.4996f, 0.0f, 1.0f}), ort, true));
  EXPECT_FALSE(matches_ort(Tensor::from_vector<float>({2, 2}, {NAN, 0.4996f, 0.0f, 1.0f}), ort, true));
}

// A fixture folder that no test reads would be silent coverage loss.
TEST(RealModels, EveryFixtureOnDiskIsListed) {
  ASSERT_TRUE(fs::is_directory(ort_fixtures())) << ort_fixtures() << " is missing: run `node scripts/make-fixtures.js`";
  std::set<std::string> listed;
  for (const Fixture& f : all_fixtures()) listed.insert(std::string(f.model) + "/" + f.shape);
  for (const auto& model : fs::directory_iterator(ort_fixtures())) {
    if (!model.is_directory()) continue;
    for (const auto& shape : fs::directory_iterator(model.path()))
      EXPECT_TRUE(listed.count(model.path().filename().string() + "/" + shape.path().filename().string()))
          << shape.path() << " is not listed in all_fixtures()";
  }
}

class AgreesWithOrt : public ::testing::TestWithParam<Fixture> {};

TEST_P(AgreesWithOrt, OutputsShapeRangeAndArgmax) {
  const Fixture& f = GetParam();
  std::unique_ptr<Session> session;
  ASSERT_TRUE(load(f.model, &session));
  Case c;
  ASSERT_TRUE(read_case(*session, f.model, f.kind, f.shape, &c));
  EXPECT_TRUE(run_and_check(*session, c));
}

std::string fixture_name(const ::testing::TestParamInfo<Fixture>& info) {
  std::string kind = info.param.kind == Kind::kCls ? "cls" : info.param.kind == Kind::kDet ? "det" : "rec";
  return kind + "_" + info.param.shape;
}

INSTANTIATE_TEST_SUITE_P(PaddleOcr, AgreesWithOrt, ::testing::ValuesIn(all_fixtures()), fixture_name);

// A new input shape must not need a new session, and buffers reused between
// runs (and between shapes) must neither corrupt the next result nor the
// tensors an earlier run returned.
TEST(RealModels, OneSessionAlternatesShapes) {
  std::unique_ptr<Session> session;
  ASSERT_TRUE(load(kRec, &session));
  Case wide, narrow;
  ASSERT_TRUE(read_case(*session, kRec, Kind::kRec, "1x3x48x320", &wide));
  ASSERT_TRUE(read_case(*session, kRec, Kind::kRec, "1x3x48x160", &narrow));
  const std::vector<const Case*> order = {&wide, &narrow, &wide, &narrow};
  std::vector<std::vector<NamedTensor>> kept(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    ASSERT_TRUE(run_and_check(*session, *order[i], &kept[i])) << "run " << i + 1 << " of the sequence 320,160,320,160";
  for (size_t i = 0; i < order.size(); ++i)
    EXPECT_TRUE(outputs_match(kept[i], *order[i])) << "output of run " << i + 1 << " changed after later runs";
  // One thread, same input: the repeated run should be bit-identical.
  EXPECT_TRUE(testing::tensors_close(kept[2][0].tensor, kept[0][0].tensor, 0, 0))
      << "second 320 run differs from the first";
}

// run() is documented as safe to call concurrently on one session.
TEST(RealModels, OneSessionFromTwoThreads) {
  std::unique_ptr<Session> session;
  ASSERT_TRUE(load(kRec, &session));
  Case wide, narrow, batch;
  ASSERT_TRUE(read_case(*session, kRec, Kind::kRec, "1x3x48x320", &wide));
  ASSERT_TRUE(read_case(*session, kRec, Kind::kRec, "1x3x48x160", &narrow));
  ASSERT_TRUE(read_case(*session, kRec, Kind::kRec, "2x3x48x240", &batch));
  constexpr int kRuns = 3;
  // Thread 0 repeats one shape; thread 1 alternates two others meanwhile.
  const std::vector<std::vector<const Case*>> plans = {
      {&wide, &wide, &wide}, {&narrow, &batch, &narrow}};
  std::vector<std::vector<std::string>> failures(plans.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < plans.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        auto ok = run_and_check(*session, *plans[t][r]);
        if (!ok) failures[t].push_back("thread " + std::to_string(t) + " run " + std::to_string(r + 1) + ": " +
                                       ok.message());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& list : failures)
    for (const auto& f : list) ADD_FAILURE() << f;
}

}  // namespace
}  // namespace ecoinfer
