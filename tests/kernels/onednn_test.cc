// The oneDNN kernels (Conv, ConvTranspose, MatMul, Gemm) against plain
// reference loops (onednn_test_util.h), on many shapes: odd sizes, channel counts
// around SIMD tile boundaries, groups and depthwise, strides, dilations and
// pads, batch broadcasting, 1-D MatMul operands, every Gemm variant; plus
// the per-shape primitive cache (repeat runs, a second shape) and two
// threads running one session at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "kernels/onednn_test_util.h"

namespace ecoinfer {
namespace {

using testing::random_tensor;
using testing::tensors_close;

using namespace onednn_test;

// ------------------------------------------------------------ Conv

struct ConvCase {
  Shape x, w;
  ConvParams p;
  bool bias = true;
};

void check_conv(const ConvCase& cc, bool transposed, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(cc.x) + " W " + shape_to_string(cc.w) + (transposed ? " transposed" : ""));
  const Tensor x = random_tensor(DataType::kFloat32, cc.x, seed);
  const Tensor w = random_tensor(DataType::kFloat32, cc.w, seed + 1);
  const int64_t out_channels = transposed ? cc.w[1] * cc.p.group : cc.w[0];
  const Tensor b = cc.bias ? random_tensor(DataType::kFloat32, {out_channels}, seed + 2) : Tensor();
  const Tensor expected = transposed ? ref_conv_transpose(x, w, cc.bias ? &b : nullptr, cc.p)
                                     : ref_conv(x, w, cc.bias ? &b : nullptr, cc.p);
  // Constant weights (packed once) and runtime weights (plain layout).
  for (bool constant : {true, false}) {
    auto y = run_once(transposed ? "ConvTranspose" : "Conv", {{x}, {w, constant}, {b, constant}}, conv_attrs(cc.p));
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " weights";
  }
}

TEST(OnednnConv, ChannelsAroundTileBoundaries) {
  uint32_t seed = 1;
  for (int64_t c : {1, 3, 15, 16, 17, 64}) {
    for (int64_t m : {1, 8, 17}) check_conv({{1, c, 7, 9}, {m, c, 3, 3}, {}}, false, seed++);
  }
}

TEST(OnednnConv, StridesDilationsPads) {
  check_conv({{2, 3, 11, 10}, {5, 3, 3, 3}, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 10);
  check_conv({{1, 4, 12, 13}, {6, 4, 3, 2}, {.strides = {1, 3}, .dilations = {2, 1}, .pads = {0, 1, 2, 0}}}, false,
             11);
  check_conv({{1, 2, 5, 5}, {3, 2, 5, 5}, {.pads = {2, 2, 2, 2}}}, false, 12);
  check_conv({{1, 3, 9, 9}, {4, 3, 1, 1}, {.strides = {2, 2}}, false}, false, 13);
  // Large enough for oneDNN's blocked JIT paths.
  check_conv({{1, 64, 20, 20}, {64, 64, 3, 3}, {.pads = {1, 1, 1, 1}}}, false, 14);
  check_conv({{1, 32, 17, 17}, {48, 32, 1, 1}, {}}, false, 15);
  check_conv({{1, 96, 19, 19}, {96, 1, 3, 3}, {.group = 96, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 16);
}

// 3x3 stride-1 convolutions of at least 64 channels on images of at least
// 14x14 run on oneDNN's Winograd kernel where the CPU has one (AVX-512):
// still within 1e-4 of the direct loops, on odd sides, batch 2 and a side
// just at the threshold (onednn_fusion_test.cc: with post-ops).
bool winograd_primitive_created() {
  for (const auto& u : onednn_implementations_used())
    if (u.implementation.find("wino") != std::string::npos) return true;
  return false;
}

TEST(OnednnConv, WinogradForLarge3x3) {
  check_conv({{2, 64, 15, 17}, {80, 64, 3, 3}, {.pads = {1, 1, 1, 1}}}, false, 30);
  check_conv({{1, 128, 14, 14}, {64, 128, 3, 3}, {.pads = {1, 1, 1, 1}}}, false, 31);
  check_conv({{1, 64, 16, 16}, {64, 64, 3, 3}, {}}, false, 32);  // unpadded: 14x14 out
  // oneDNN has its Winograd kernel on AVX-512 only.
  if (onednn_cpu_isa().find("avx512") == std::string::npos) GTEST_SKIP() << "no AVX-512: no Winograd kernel";
  EXPECT_TRUE(winograd_primitive_created());
}

TEST(OnednnConv, GroupsAndDepthwise) {
  check_conv({{1, 8, 9, 9}, {8, 2, 3, 3}, {.group = 4, .pads = {1, 1, 1, 1}}}, false, 20);
  check_conv({{2, 16, 10, 7}, {16, 1, 3, 3}, {.group = 16, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 21);
  check_conv({{1, 17, 6, 6}, {34, 1, 3, 3}, {.group = 17}}, false, 22);
  check_conv({{1, 6, 8, 8}, {9, 2, 3, 3}, {.group = 3, .dilations = {2, 2}, .pads = {2, 2, 2, 2}}}, false, 23);
}

TEST(OnednnConv, OneAndThreeDimensional) {
  check_conv({{2, 3, 17}, {5, 3, 4}, {.strides = {2}, .pads = {1, 2}}}, false, 30);
  check_conv({{1, 4, 20}, {4, 1, 3}, {.group = 4, .dilations = {3}}}, false, 31);
  check_conv({{1, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, {.strides = {1, 2, 1}, .pads = {1, 0, 1, 1, 1, 0}}}, false, 32);
}

TEST(OnednnConv, AutoPadSame) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 3, 7, 8}, 40);
  const Tensor w = random_tensor(DataType::kFloat32, {4, 3, 4, 3}, 41);
  // in 7, k 4, s 2: out 4, total pad 3 -> UPPER 1/2, LOWER 2/1. in 8, k 3, s 2: out 4, total 1.
  for (auto [mode, pads] : {std::pair<std::string, std::vector<int64_t>>{"SAME_UPPER", {1, 0, 2, 1}},
                            {"SAME_LOWER", {2, 1, 1, 0}}, {"VALID", {0, 0, 0, 0}}}) {
    SCOPED_TRACE(mode);
    Attrs a = {{"auto_pad", string_attr(mode)}, {"strides", ints_attr({2, 2})}};
    auto y = run_once("Conv", {{x}, {w, true}}, a);
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, ref_conv(x, w, nullptr, {.strides = {2, 2}, .pads = pads}), 1e-4, 1e-4));
  }
}

TEST(OnednnConv, ShapeErrorsAreStatuses) {
  const Tensor w = random_tensor(DataType::kFloat32, {4, 3, 3, 3}, 50);
  auto bad_channels = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 4, 8, 8}, 51)}, {w, true}}, {});
  ASSERT_FALSE(bad_channels.has_value());
  EXPECT_NE(bad_channels.status().message().find("4 channels but weights expect 3"), std::string::npos)
      << bad_channels.status().message();
  auto too_small = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 2, 8}, 52)}, {w, true}}, {});
  ASSERT_FALSE(too_small.has_value());
  EXPECT_NE(too_small.status().message().find("larger than the padded input"), std::string::npos);
  auto bad_rank = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 8}, 53)}, {w, true}}, {});
  EXPECT_FALSE(bad_rank.has_value());
}

// ------------------------------------------------------------ ConvTranspose

TEST(OnednnConvTranspose, Shapes) {
  uint32_t seed = 100;
  for (int64_t c : {1, 3, 16, 17}) check_conv({{1, c, 5, 6}, {c, 4, 3, 3}, {}}, true, seed++);
  check_conv({{2, 3, 4, 5}, {3, 2, 3, 3}, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{1, 3, 4, 5}, {3, 2, 3, 3}, {.strides = {3, 2}, .pads = {1, 2, 1, 2}}}, true, seed++);
  check_conv({{1, 2, 5, 5}, {2, 3, 3, 3}, {.strides = {2, 2}, .output_padding = {1, 1}}}, true, seed++);
  check_conv({{1, 2, 5, 5}, {2, 3, 2, 3}, {.strides = {2, 3}, .dilations = {2, 2}, .pads = {0, 1, 1, 0}}}, true, seed++);
  check_conv({{1, 4, 6, 6}, {4, 3, 3, 3}, {.group = 2, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{1, 8, 5, 5}, {8, 1, 4, 4}, {.group = 8, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{2, 3, 9}, {3, 5, 4}, {.strides = {3}, .pads = {1, 0}}}, true, seed++);
  check_conv({{1, 2, 3, 4, 3}, {2, 2, 2, 3, 2}, {.strides = {2, 1, 2}}}, true, seed++);
}

TEST(OnednnConvTranspose, KernelEqualToStride) {
  // The matmul + interleave path (pixel_deconv.cc), and its neighbours that
  // take oneDNN's deconvolution.
  uint32_t seed = 150;
  check_conv({{2, 5, 4, 3}, {5, 3, 2, 2}, {.strides = {2, 2}}}, true, seed++);
  check_conv({{1, 24, 6, 7}, {24, 1, 2, 2}, {.strides = {2, 2}}, false}, true, seed++);  // det's last layer
  check_conv({{1, 3, 3, 5}, {3, 2, 4, 4}, {.strides = {4, 4}}}, true, seed++);
  check_conv({{1, 3, 3, 5}, {3, 2, 3, 1}, {.strides = {3, 1}}}, true, seed++);
  check_conv({{2, 3, 5}, {3, 2, 3}, {.strides = {3}}}, true, seed++);
  check_conv({{1, 2, 3, 2, 4}, {2, 3, 2, 1, 2}, {.strides = {2, 1, 2}}}, true, seed++);
  check_conv({{1, 4, 3, 3}, {4, 2, 2, 2}, {.strides = {2, 2}, .output_padding = {1, 1}}}, true, seed++);
  check_conv({{1, 4, 3, 3}, {4, 2, 2, 2}, {.strides = {2, 2}, .pads = {1, 0, 1, 0}}}, true, seed++);
  check_conv({{1, 4, 3, 3}, {4, 1, 2, 2}, {.group = 2, .strides = {2, 2}}}, true, seed++);
}

TEST(OnednnConvTranspose, OutputShapeAttribute) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 1, 3, 3}, 120);
  const Tensor w = random_tensor(DataType::kFloat32, {1, 2, 3, 3}, 121);
  Attrs a = {{"strides", ints_attr({3, 2})}, {"output_shape", ints_attr({10, 8})}};
  auto y = run_once("ConvTranspose", {{x}, {w, true}}, a);
  ASSERT_TRUE(y.has_value()) << y.status().message();
  // Natural size 9x7: the spec's equations give pads 0/-1, i.e. one extra row/column at the end.
  EXPECT_TRUE(tensors_close(*y, ref_conv_transpose(x, w, nullptr, {.strides = {3, 2}, .output_padding = {1, 1}}),
                            1e-4, 1e-4));
}

// ------------------------------------------------------------ MatMul

void check_matmul(const Shape& as, const Shape& bs, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(as) + " @ " + shape_to_string(bs));
  const Tensor a = random_tensor(DataType::kFloat32, as, seed);
  const Tensor b = random_tensor(DataType::kFloat32, bs, seed + 1);
  const Tensor expected = ref_matmul(a, b);
  for (bool constant : {true, false}) {
    auto y = run_once("MatMul", {{a}, {b, constant}}, {});
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " B";
  }
}

TEST(OnednnMatMul, TwoDimensionalOddSizes) {
  uint32_t seed = 200;
  for (int64_t m : {1, 3, 16, 17})
    for (int64_t k : {1, 15, 64})
      for (int64_t n : {1, 16, 33}) check_matmul({m, k}, {k, n}, seed++);
  check_matmul({130, 257}, {257, 96}, seed++);
  check_matmul({2, 40, 96}, {96, 288}, seed++);
}

TEST(OnednnMatMul, NonFloatIsAClearError) {
  auto y = run_once("MatMul", {{Tensor::zeros(DataType::kInt32, {2, 3})}, {Tensor::zeros(DataType::kInt32, {3, 2})}}, {});
  ASSERT_FALSE(y.has_value());
  EXPECT_NE(y.status().message().find("only float32"), std::string::npos) << y.status().message();
}

TEST(OnednnMatMul, OneDimensionalOperands) {
  check_matmul({7}, {7, 5}, 220);
  check_matmul({4, 7}, {7}, 221);
  check_matmul({7}, {7}, 222);
  check_matmul({2, 3, 7}, {7}, 223);
  check_matmul({7}, {3, 7, 5}, 224);
}

TEST(OnednnMatMul, BatchBroadcasting) {
  check_matmul({2, 3, 5, 4}, {4, 6}, 230);       // weights shared: folded into M
  check_matmul({3, 5, 4}, {3, 4, 6}, 231);       // same batch
  check_matmul({1, 5, 4}, {3, 4, 6}, 232);       // A broadcast
  check_matmul({2, 1, 5, 4}, {3, 4, 6}, 233);    // rank differs, both broadcast
  check_matmul({2, 1, 5, 4}, {1, 3, 4, 6}, 234);
  check_matmul({5, 4}, {2, 3, 4, 6}, 235);
}

TEST(OnednnMatMul, ErrorsAreStatuses) {
  auto k_mismatch = run_once("MatMul", {{random_tensor(DataType::kFloat32, {3, 4}, 1)},
                                        {random_tensor(DataType::kFloat32, {5, 6}, 2)}}, {});
  ASSERT_FALSE(k_mismatch.has_value());
  EXPECT_NE(k_mismatch.status().message().find("3x4"), std::string::npos) << k_mismatch.status().message();
  EXPECT_NE(k_mismatch.status().message().find("5x6"), std::string::npos);
  auto batch_mismatch = run_once("MatMul", {{random_tensor(DataType::kFloat32, {2, 3, 4}, 1)},
                                            {random_tensor(DataType::kFloat32, {3, 4, 6}, 2)}}, {});
  EXPECT_FALSE(batch_mismatch.has_value());
}

// ------------------------------------------------------------ Gemm

TEST(OnednnGemm, AllVariants) {
  const int64_t m = 5, k = 17, n = 16;
  uint32_t seed = 300;
  const std::vector<Shape> c_shapes = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1}, {1, 1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float alpha : {1.0f, 0.5f})
        for (float beta : {1.0f, 2.0f, 0.0f})
          for (size_t ci = 0; ci <= c_shapes.size(); ++ci)
            for (bool constant : {true, false}) {
              const bool has_c = ci < c_shapes.size();
              SCOPED_TRACE(::testing::Message() << "transA " << ta << " transB " << tb << " alpha " << alpha << " beta "
                                                << beta << " C " << (has_c ? shape_to_string(c_shapes[ci]) : "none")
                                                << (constant ? " constant" : " runtime"));
              const Tensor a = random_tensor(DataType::kFloat32, ta ? Shape{k, m} : Shape{m, k}, seed++);
              const Tensor b = random_tensor(DataType::kFloat32, tb ? Shape{n, k} : Shape{k, n}, seed++);
              const Tensor c = has_c ? random_tensor(DataType::kFloat32, c_shapes[ci], seed++) : Tensor();
              Attrs at = {{"transA", int_attr(ta)}, {"transB", int_attr(tb)}, {"alpha", float_attr(alpha)},
                          {"beta", float_attr(beta)}};
              auto y = run_once("Gemm", {{a}, {b, constant}, {c, constant}}, at);
              ASSERT_TRUE(y.has_value()) << y.status().message();
              EXPECT_TRUE(tensors_close(*y, ref_gemm(a, b, has_c ? &c : nullptr, ta, tb, alpha, beta), 1e-4, 1e-4));
            }
}

// ------------------------------------------------------------ cache and threads

TEST(OnednnCache, RepeatRunsSecondShapeAndTwoThreads) {
  const Tensor w = random_tensor(DataType::kFloat32, {8, 3, 3, 3}, 400);
  const Tensor b = random_tensor(DataType::kFloat32, {8}, 401);
  const ConvParams p{.pads = {1, 1, 1, 1}};
  auto session = make_session("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 4, 4}, 1)}, {w, true}, {b, true}},
                         conv_attrs(p));
  ASSERT_TRUE(session.has_value()) << session.status().message();
  const Tensor x1 = random_tensor(DataType::kFloat32, {1, 3, 10, 12}, 402);
  const Tensor x2 = random_tensor(DataType::kFloat32, {2, 3, 7, 5}, 403);
  const Tensor e1 = ref_conv(x1, w, &b, p), e2 = ref_conv(x2, w, &b, p);
  for (int rep = 0; rep < 2; ++rep) {
    for (const auto& [x, e] : {std::pair{x1, e1}, std::pair{x2, e2}}) {
      auto out = (*session)->run({{"in0", x}});
      ASSERT_TRUE(out.has_value()) << out.status().message();
      EXPECT_TRUE(tensors_close((*out)[0].tensor, e, 1e-4, 1e-4));
    }
  }
  std::vector<std::thread> threads;
  std::vector<int> failures(2, 0);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool first = (i + t) % 2 == 0;
        auto out = (*session)->run({{"in0", first ? x1 : x2}});
        if (!out || !tensors_close((*out)[0].tensor, first ? e1 : e2, 1e-4, 1e-4)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures[0] + failures[1], 0);
}

TEST(OnednnCache, MatMulAndGemmTwoThreads) {
  const Tensor w = random_tensor(DataType::kFloat32, {33, 20}, 500);
  auto session = make_session("MatMul", {{random_tensor(DataType::kFloat32, {1, 33}, 1)}, {w, true}}, {});
  ASSERT_TRUE(session.has_value()) << session.status().message();
  std::vector<Tensor> xs = {random_tensor(DataType::kFloat32, {3, 33}, 501),
                            random_tensor(DataType::kFloat32, {2, 7, 33}, 502)};
  std::vector<Tensor> es = {ref_matmul(xs[0], w), ref_matmul(xs[1], w)};
  std::vector<int> failures(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const size_t s = static_cast<size_t>((i + t) % 2);
        auto out = (*session)->run({{"in0", xs[s]}});
        if (!out || !tensors_close((*out)[0].tensor, es[s], 1e-4, 1e-4)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures[0] + failures[1], 0);
}

}  // namespace
}  // namespace ecoinfer
