// `threads = 1` really is one thread, and `threads = 2` adds one worker, not
// a pool per library: oneDNN and ecoinfer's kernels share libgomp's team.
// Counted from /proc/self/task after real model runs (threads persist).
#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace ecoinfer {
namespace {

size_t os_threads() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

void run_det(int threads) {
  auto s = Session::load(testing::models_dir() / "ch_PP-OCRv4_det_infer.onnx", {.threads = threads});
  ASSERT_TRUE(s) << s.status().message();
  for (int i = 0; i < 3; ++i) {
    auto out = (*s)->run({{"x", testing::random_tensor(DataType::kFloat32, {1, 3, 96, 128}, 3)}});
    ASSERT_TRUE(out) << out.status().message();
  }
}

TEST(Threads, OneThreadMeansOneThreadThenTwoMeansTwo) {
  ASSERT_EQ(os_threads(), 1u);
  run_det(1);
  EXPECT_EQ(os_threads(), 1u) << "a session with threads=1 started extra threads";
  run_det(2);
  EXPECT_EQ(os_threads(), 2u) << "threads=2 should add exactly one OpenMP worker";
}

}  // namespace
}  // namespace ecoinfer
