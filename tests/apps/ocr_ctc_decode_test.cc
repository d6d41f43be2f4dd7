// CTC greedy decoding: argmax per step, repeats merged, blanks dropped,
// confidence the mean of the kept steps' probabilities.
#include <gtest/gtest.h>

#include <fstream>

#include "ocr/ctc_decode.h"
#include "test_util.h"

namespace ecoinfer::ocr {
namespace {

// keys a, b, c -> classes: 0 blank, 1 a, 2 b, 3 c, 4 space.
constexpr int kClasses = 5;

std::vector<float> steps_of(const std::vector<std::pair<int, float>>& best) {
  std::vector<float> p(best.size() * kClasses, 0.0f);
  for (size_t t = 0; t < best.size(); ++t) {
    const float rest = (1.0f - best[t].second) / (kClasses - 1);
    for (int c = 0; c < kClasses; ++c) p[t * kClasses + c] = c == best[t].first ? best[t].second : rest;
  }
  return p;
}

TEST(OcrCtcDecode, MergesRepeatsAndDropsBlanks) {
  const CtcDecoder d({"a", "b", "c"});
  EXPECT_EQ(d.class_count(), 5u);
  // a a _ a b b _ _ c space c -> "aab c" ... repeats merge only when adjacent.
  const auto p = steps_of({{1, 0.9f}, {1, 0.8f}, {0, 0.99f}, {1, 0.7f}, {2, 0.6f}, {2, 0.9f},
                           {0, 0.9f}, {0, 0.9f}, {3, 0.5f}, {4, 0.8f}, {3, 1.0f}});
  const RecText t = d.decode(p.data(), 11, kClasses);
  EXPECT_EQ(t.text, "aabc c");
  // Kept steps: the first of each run: 0.9 (a), 0.7 (a), 0.6 (b), 0.5 (c), 0.8 (space), 1.0 (c).
  EXPECT_NEAR(t.confidence, (0.9 + 0.7 + 0.6 + 0.5 + 0.8 + 1.0) / 6, 1e-6);
}

TEST(OcrCtcDecode, AllBlankIsEmptyWithZeroConfidence) {
  const CtcDecoder d({"a", "b", "c"});
  const auto p = steps_of({{0, 0.9f}, {0, 0.9f}, {0, 0.9f}});
  const RecText t = d.decode(p.data(), 3, kClasses);
  EXPECT_EQ(t.text, "");
  EXPECT_EQ(t.confidence, 0.0f);
}

TEST(OcrCtcDecode, TiesGoToTheFirstClassAsNumpyArgmax) {
  const CtcDecoder d({"a", "b", "c"});
  const std::vector<float> p = {0.0f, 0.4f, 0.4f, 0.1f, 0.1f};
  EXPECT_EQ(d.decode(p.data(), 1, kClasses).text, "a");
}

TEST(OcrCtcDecode, LoadsUtf8KeysWithCrLf) {
  const auto dir = testing::temp_dir("ocr_ctc_keys");
  std::ofstream(dir / "keys.txt", std::ios::binary) << "\xe4\xb8\xad\r\nx\n";  // "中", "x"
  auto d = CtcDecoder::load(dir / "keys.txt");
  ASSERT_TRUE(d) << d.status().message();
  EXPECT_EQ(d->class_count(), 4u);
  const std::vector<float> p = {0, 1, 0, 0, /**/ 0, 0, 0, 1, /**/ 0, 0, 1, 0};
  EXPECT_EQ(d->decode(p.data(), 3, 4).text, "\xe4\xb8\xad x");
}

TEST(OcrCtcDecode, MissingKeyFileIsAnError) {
  auto d = CtcDecoder::load("/nonexistent/keys.txt");
  ASSERT_FALSE(d);
  EXPECT_NE(d.status().message().find("not found"), std::string::npos) << d.status().message();
}

TEST(OcrCtcDecode, RealKeyFileMatchesTheRecModel) {
  // ppocr_keys_v1.txt has 6623 keys; with blank and space the rec model's 6625 classes.
  auto d = CtcDecoder::load(testing::models_dir() / "ppocr_keys_v1.txt");
  ASSERT_TRUE(d) << d.status().message();
  EXPECT_EQ(d->class_count(), 6625u);
}

}  // namespace
}  // namespace ecoinfer::ocr
