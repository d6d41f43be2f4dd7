// The oneDNN kernels' fused post-ops ("_ecoinfer.post_ops", passes/pass.h)
// and channels-last tensors (passes/post_ops.h), set by hand on one-node
// graphs and checked against the reference loops followed by the plain
// element-wise maths: every activation on the channels-last primitive path
// (3x3, depthwise), the plain path (1x1) and ConvTranspose; chains;
// per-channel, scalar and full-size binary operands; MatMul and Gemm with
// folded and batched layouts; channels-last inputs, outputs and residuals
// of every rank; and the errors a bad attribute or operand gives.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "kernels/onednn_test_util.h"
#include "passes/pass.h"
#include "passes/post_ops.h"

namespace ecoinfer {
namespace {

using namespace onednn_test;
using passes::PostOp;
using testing::random_tensor;
using testing::tensors_close;

ir::Attribute post_ops_attr(const std::vector<PostOp>& ops) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kStrings;
  for (const PostOp& op : ops) a.strings.push_back(passes::format_post_op(op));
  return a;
}

float eltwise_ref(const PostOp& op, float x) {
  const double v = x, a = op.alpha, b = op.beta;
  const std::string& f = op.alg;
  if (f == "relu") return static_cast<float>(v > 0 ? v : a * v);
  if (f == "clip") return static_cast<float>(std::min(std::max(v, a), b));
  if (f == "hardsigmoid") return static_cast<float>(std::min(1.0, std::max(0.0, a * v + b)));
  if (f == "hardswish") return static_cast<float>(v * std::min(1.0, std::max(0.0, v / 6 + 0.5)));
  if (f == "sigmoid") return static_cast<float>(1 / (1 + std::exp(-v)));
  if (f == "swish") return static_cast<float>(v / (1 + std::exp(-a * v)));
  if (f == "tanh") return static_cast<float>(std::tanh(v));
  if (f == "gelu_erf") return static_cast<float>(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
  if (f == "gelu_tanh") {
    return static_cast<float>(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
  }
  if (f == "linear") return static_cast<float>(a * v + b);
  if (f == "elu") return static_cast<float>(v > 0 ? v : a * (std::exp(v) - 1));
  ADD_FAILURE() << "no reference for " << f;
  return 0;
}

float binary_ref(const std::string& f, float x, float y) {
  if (f == "add") return x + y;
  if (f == "sub") return x - y;
  if (f == "mul") return x * y;
  if (f == "div") return x / y;
  if (f == "max") return std::max(x, y);
  return std::min(x, y);
}

// Applies the post-ops to `y` in place; binary operand i is `operands[i]`,
// broadcast numpy-style.
void apply_post_ops(Tensor& y, const std::vector<PostOp>& ops, const std::vector<Tensor>& operands) {
  float* yp = y.data<float>();
  const Shape& ys = y.shape();
  size_t next = 0;
  for (const PostOp& op : ops) {
    if (op.kind == PostOp::Kind::kEltwise) {
      for (int64_t i = 0; i < y.numel(); ++i) yp[i] = eltwise_ref(op, yp[i]);
      continue;
    }
    const Tensor& t = operands[next++];
    const size_t offset = ys.size() - t.rank();
    for (int64_t i = 0; i < y.numel(); ++i) {
      int64_t rem = i, index = 0, stride = 1;
      for (size_t d = ys.size(); d-- > 0;) {
        const int64_t coord = rem % ys[d];
        rem /= ys[d];
        if (d >= offset) {
          const int64_t size = t.dim(d - offset);
          index += (size == 1 ? 0 : coord) * stride;
          stride *= size;
        }
      }
      yp[i] = binary_ref(op.alg, yp[i], t.data<float>()[index]);
    }
  }
}

// The same logical tensor with its memory in N, spatial..., C order.
Tensor to_channels_last(const Tensor& t) {
  Tensor out = Tensor::zeros(DataType::kFloat32, t.shape());
  const int64_t n = t.dim(0), c = t.dim(1), spatial = t.numel() / (n * c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < spatial; ++s)
        out.data<float>()[(b * spatial + s) * c + ch] = t.data<float>()[(b * c + ch) * spatial + s];
  return out;
}

Tensor from_channels_last(const Tensor& t) {
  Tensor out = Tensor::zeros(DataType::kFloat32, t.shape());
  const int64_t n = t.dim(0), c = t.dim(1), spatial = t.numel() / (n * c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < spatial; ++s)
        out.data<float>()[(b * c + ch) * spatial + s] = t.data<float>()[(b * spatial + s) * c + ch];
  return out;
}

// ------------------------------------------------------------ Conv post-ops

const std::vector<PostOp> kEveryEltwise = {
    PostOp::eltwise("relu"),           PostOp::eltwise("relu", 0.1f),        PostOp::eltwise("clip", 0, 6),
    PostOp::eltwise("clip", -0.5f, 0.25f), PostOp::eltwise("hardsigmoid", 0.2f, 0.5f),
    PostOp::eltwise("hardswish"),      PostOp::eltwise("sigmoid"),           PostOp::eltwise("swish", 1),
    PostOp::eltwise("swish", 0.5f),    PostOp::eltwise("tanh"),              PostOp::eltwise("gelu_erf"),
    PostOp::eltwise("gelu_tanh"),      PostOp::eltwise("linear", 0.5f, 0.25f), PostOp::eltwise("elu", 0.7f)};

struct FusedConv {
  Shape x, w;
  ConvParams p;
  bool transposed = false;
};

Shape output_shape(const FusedConv& fc) {
  const Tensor x = Tensor::zeros(DataType::kFloat32, fc.x), w = Tensor::zeros(DataType::kFloat32, fc.w);
  return (fc.transposed ? ref_conv_transpose(x, w, nullptr, fc.p) : ref_conv(x, w, nullptr, fc.p)).shape();
}

// Runs the conv with `ops` (operands appended as inputs 3...) and compares
// with reference conv + reference post-ops.
void check_fused_conv(const FusedConv& fc, const std::vector<PostOp>& ops, const std::vector<Tensor>& operands,
                      uint32_t seed) {
  std::string names;
  for (const PostOp& op : ops) names += passes::format_post_op(op) + " ";
  SCOPED_TRACE(shape_to_string(fc.x) + " W " + shape_to_string(fc.w) + ": " + names);
  const Tensor x = random_tensor(DataType::kFloat32, fc.x, seed, -2, 2);
  const Tensor w = random_tensor(DataType::kFloat32, fc.w, seed + 1);
  const int64_t out_channels = fc.transposed ? fc.w[1] * fc.p.group : fc.w[0];
  const Tensor b = random_tensor(DataType::kFloat32, {out_channels}, seed + 2);
  Tensor expected = fc.transposed ? ref_conv_transpose(x, w, &b, fc.p) : ref_conv(x, w, &b, fc.p);
  apply_post_ops(expected, ops, operands);
  std::vector<Input> inputs = {{x}, {w, true}, {b, true}};
  for (const Tensor& t : operands) inputs.push_back({t, false});
  Attrs attrs = conv_attrs(fc.p);
  attrs[passes::kPostOpsAttribute] = post_ops_attr(ops);
  auto y = run_once(fc.transposed ? "ConvTranspose" : "Conv", inputs, attrs);
  ASSERT_TRUE(y.has_value()) << y.status().message();
  EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4));
}

const FusedConv kConv3x3 = {{1, 16, 9, 11}, {24, 16, 3, 3}, {.pads = {1, 1, 1, 1}}};
const FusedConv kDepthwise = {{1, 32, 10, 7}, {32, 1, 5, 5}, {.group = 32, .strides = {2, 1}, .pads = {2, 2, 2, 2}}};
const FusedConv kPointwise = {{2, 24, 6, 5}, {17, 24, 1, 1}, {}};
const FusedConv kTransposed = {{1, 8, 5, 6}, {8, 4, 2, 2}, {.strides = {2, 2}}, true};  // matmul + interleave
const FusedConv kTransposedOverlapping = {{1, 8, 5, 6}, {8, 4, 3, 3}, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}, true};
const FusedConv kWinograd = {{1, 64, 15, 14}, {64, 64, 3, 3}, {.pads = {1, 1, 1, 1}}};  // conv.cc: winograd_suits

TEST(OnednnFusedConv, EveryActivationOnEveryPath) {
  uint32_t seed = 1000;
  for (const FusedConv& fc : {kConv3x3, kDepthwise, kPointwise, kTransposed, kTransposedOverlapping, kWinograd}) {
    for (const PostOp& op : kEveryEltwise) check_fused_conv(fc, {op}, {}, seed++);
  }
}

TEST(OnednnFusedConv, Chains) {
  // PP-OCRv4's conv -> hardswish -> learnt scale -> shift, and longer.
  const std::vector<PostOp> lcnet = {PostOp::eltwise("hardswish"), PostOp::eltwise("linear", 0.18f, 0),
                                     PostOp::eltwise("linear", 1, -0.2f)};
  const std::vector<PostOp> mixed = {PostOp::eltwise("linear", 2, 1), PostOp::eltwise("hardsigmoid", 1 / 6.0f, 0.5f),
                                     PostOp::eltwise("relu", 0.2f), PostOp::eltwise("tanh"),
                                     PostOp::eltwise("swish", 1.5f)};
  // oneDNN 2.6 keeps one (alpha, beta) per algorithm in a JIT chain: the
  // kernel rewrites a repeat with other parameters (see PostOpChain).
  const std::vector<PostOp> repeats = {PostOp::eltwise("linear", 0.5f, 0.1f), PostOp::eltwise("relu", 0.1f),
                                       PostOp::eltwise("linear", 2, -0.3f),   PostOp::eltwise("clip", -1, 6),
                                       PostOp::eltwise("relu"),              PostOp::eltwise("clip", -0.5f, 0.5f),
                                       PostOp::eltwise("hardsigmoid", 0.2f, 0.5f)};
  uint32_t seed = 1100;
  for (const FusedConv& fc : {kConv3x3, kDepthwise, kPointwise, kTransposed, kTransposedOverlapping, kWinograd}) {
    check_fused_conv(fc, lcnet, {}, seed++);
    check_fused_conv(fc, mixed, {}, seed++);
    check_fused_conv(fc, repeats, {}, seed++);
  }
}

TEST(OnednnFusedConv, RepeatWithoutRewriteIsUnsupported) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 4, 4}, 1);
  const Tensor w = random_tensor(DataType::kFloat32, {2, 2, 3, 3}, 2);
  auto s = make_session("Conv", {{x}, {w, true}},
                        {{passes::kPostOpsAttribute,
                          post_ops_attr({PostOp::eltwise("swish", 1), PostOp::eltwise("swish", 0.5f)})}});
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.status().message().find("cannot chain"), std::string::npos) << s.status().message();
}

TEST(OnednnFusedConv, BinaryOperands) {
  uint32_t seed = 1200;
  for (const FusedConv& fc : {kConv3x3, kDepthwise, kPointwise, kTransposedOverlapping, kWinograd}) {
    const Shape ys = output_shape(fc);
    const int64_t c = ys[1];
    const Tensor per_channel = random_tensor(DataType::kFloat32, {1, c, 1, 1}, seed++, 0.5f, 2.0f);
    const Tensor per_channel_3d = random_tensor(DataType::kFloat32, {c, 1, 1}, seed++, 0.5f, 2.0f);
    const Tensor scalar = random_tensor(DataType::kFloat32, {1}, seed++);
    const Tensor full = random_tensor(DataType::kFloat32, ys, seed++);
    const Tensor pooled = random_tensor(DataType::kFloat32, {ys[0], c, 1, 1}, seed++);
    // Residual then activation (MobileNetV3), SE-style per-channel gate, affine by constants.
    check_fused_conv(fc, {PostOp::binary("add", 3), PostOp::eltwise("relu")}, {full}, seed++);
    check_fused_conv(fc, {PostOp::eltwise("hardswish"), PostOp::binary("mul", 3)}, {pooled}, seed++);
    check_fused_conv(fc, {PostOp::binary("mul", 3), PostOp::binary("add", 4)}, {per_channel, per_channel_3d}, seed++);
    check_fused_conv(fc, {PostOp::binary("sub", 3), PostOp::binary("div", 4), PostOp::binary("max", 5)},
                     {full, per_channel, scalar}, seed++);
    check_fused_conv(fc, {PostOp::eltwise("relu"), PostOp::binary("min", 3), PostOp::binary("add", 4)}, {scalar, full},
                     seed++);
  }
}

TEST(OnednnFusedConv, BatchRunImageByImage) {
  // Per-image gates ([N,C,1,1]) and one image's worth shared by the batch
  // ([1,C,H,W]) run the batch image by image (see ConvKernel::make_plan).
  uint32_t seed = 1250;
  for (const FusedConv& fc : {FusedConv{{3, 16, 7, 6}, {16, 16, 3, 3}, {.pads = {1, 1, 1, 1}}},
                              FusedConv{{2, 24, 6, 5}, {24, 1, 3, 3}, {.group = 24, .pads = {1, 1, 1, 1}}}, kPointwise}) {
    const Shape ys = output_shape(fc);
    Shape one_image = ys;
    one_image[0] = 1;
    const Tensor gate = random_tensor(DataType::kFloat32, {ys[0], ys[1], 1, 1}, seed++);
    const Tensor shared = random_tensor(DataType::kFloat32, one_image, seed++);
    check_fused_conv(fc, {PostOp::binary("mul", 3), PostOp::binary("add", 4), PostOp::eltwise("relu")}, {gate, shared},
                     seed++);
  }
}

// ------------------------------------------------------------ channels-last tensors

struct LayoutCase {
  Shape x, w;
  ConvParams p;
};

// Every combination of a channels-last X, output and residual gives the
// reference values in the promised memory order.
void check_layouts(const LayoutCase& lc, uint32_t seed) {
  const Tensor x = random_tensor(DataType::kFloat32, lc.x, seed);
  const Tensor w = random_tensor(DataType::kFloat32, lc.w, seed + 1);
  const Tensor b = random_tensor(DataType::kFloat32, {lc.w[0]}, seed + 2);
  const Tensor plain = ref_conv(x, w, &b, lc.p);
  const Tensor residual = random_tensor(DataType::kFloat32, plain.shape(), seed + 3);
  Tensor expected = plain;
  apply_post_ops(expected, {PostOp::binary("add", 3), PostOp::eltwise("hardswish")}, {residual});
  for (int mask = 0; mask < 8; ++mask) {
    const bool x_cl = mask & 1, y_cl = mask & 2, r_cl = mask & 4;
    SCOPED_TRACE(shape_to_string(lc.x) + " W " + shape_to_string(lc.w) + " channels-last X " + std::to_string(x_cl) +
                 " Y " + std::to_string(y_cl) + " residual " + std::to_string(r_cl));
    Attrs attrs = conv_attrs(lc.p);
    attrs[passes::kPostOpsAttribute] = post_ops_attr({PostOp::binary("add", 3), PostOp::eltwise("hardswish")});
    std::vector<int64_t> cl_inputs;
    if (x_cl) cl_inputs.push_back(0);
    if (r_cl) cl_inputs.push_back(3);
    if (!cl_inputs.empty()) attrs[passes::kChannelsLastInputs] = ints_attr(cl_inputs);
    if (y_cl) attrs[passes::kChannelsLastOutput] = int_attr(1);
    auto y = run_once("Conv",
                      {{x_cl ? to_channels_last(x) : x}, {w, true}, {b, true}, {r_cl ? to_channels_last(residual) : residual}},
                      attrs);
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(y_cl ? from_channels_last(*y) : *y, expected, 1e-4, 1e-4));
  }
}

TEST(OnednnChannelsLast, InputsOutputsAndResidualsOfEveryRank) {
  check_layouts({{1, 16, 7, 9}, {16, 16, 3, 3}, {.pads = {1, 1, 1, 1}}}, 1300);
  check_layouts({{2, 24, 6, 5}, {24, 1, 3, 3}, {.group = 24, .pads = {1, 1, 1, 1}}}, 1310);
  check_layouts({{1, 20, 5, 6}, {12, 20, 1, 1}, {}}, 1320);  // plain-friendly 1x1, forced channels-last
  check_layouts({{1, 8, 1, 1}, {8, 8, 1, 1}, {}}, 1330);     // 1x1 image: both layouts coincide
  check_layouts({{2, 6, 13}, {6, 6, 3}, {.pads = {1, 1}}}, 1340);
  check_layouts({{1, 4, 3, 5, 4}, {4, 4, 3, 3, 3}, {.pads = {1, 1, 1, 1, 1, 1}}}, 1350);
}

TEST(OnednnChannelsLast, RepeatRunsKeepTheLayout) {
  // The staged copies live in a per-thread workspace: a second run and a
  // second shape must not see stale data.
  const Tensor w = random_tensor(DataType::kFloat32, {8, 8, 3, 3}, 1400);
  const ConvParams p{.pads = {1, 1, 1, 1}};
  Attrs attrs = conv_attrs(p);
  attrs[passes::kChannelsLastInputs] = ints_attr({0});
  auto session = make_session("Conv", {{random_tensor(DataType::kFloat32, {1, 8, 4, 4}, 1)}, {w, true}}, attrs);
  ASSERT_TRUE(session.has_value()) << session.status().message();
  for (int rep = 0; rep < 2; ++rep) {
    for (const Shape& s : {Shape{1, 8, 6, 7}, Shape{2, 8, 3, 9}}) {
      const Tensor x = random_tensor(DataType::kFloat32, s, 1401 + rep);
      auto out = (*session)->run({{"in0", to_channels_last(x)}});
      ASSERT_TRUE(out.has_value()) << out.status().message();
      EXPECT_TRUE(tensors_close((*out)[0].tensor, ref_conv(x, w, nullptr, p), 1e-4, 1e-4));
    }
  }
}

// ------------------------------------------------------------ MatMul and Gemm post-ops

void check_fused_matmul(const Shape& as, const Shape& bs, const std::vector<PostOp>& ops,
                        const std::vector<Shape>& operand_shapes, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(as) + " @ " + shape_to_string(bs));
  const Tensor a = random_tensor(DataType::kFloat32, as, seed);
  const Tensor b = random_tensor(DataType::kFloat32, bs, seed + 1);
  std::vector<Tensor> operands;
  for (const Shape& s : operand_shapes) operands.push_back(random_tensor(DataType::kFloat32, s, seed + 2 + operands.size()));
  Tensor expected = ref_matmul(a, b);
  apply_post_ops(expected, ops, operands);
  for (bool constant : {true, false}) {
    std::vector<Input> inputs = {{a}, {b, constant}};
    for (const Tensor& t : operands) inputs.push_back({t, constant});
    auto y = run_once("MatMul", inputs, {{passes::kPostOpsAttribute, post_ops_attr(ops)}});
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " B";
  }
}

TEST(OnednnFusedMatMul, BiasActivationsAndResiduals) {
  const std::vector<PostOp> bias_swish = {PostOp::binary("add", 2), PostOp::eltwise("swish", 1)};
  check_fused_matmul({40, 120}, {120, 240}, bias_swish, {{240}}, 1500);   // rec's feed-forward
  check_fused_matmul({1, 40, 120}, {120, 360}, bias_swish, {{360}}, 1510);
  check_fused_matmul({2, 5, 16}, {16, 24}, {PostOp::binary("add", 2), PostOp::eltwise("gelu_erf")}, {{2, 5, 24}}, 1520);
  check_fused_matmul({2, 5, 16}, {16, 24}, {PostOp::binary("add", 2)}, {{5, 24}}, 1530);  // not foldable: batched
  check_fused_matmul({2, 5, 16}, {16, 24}, {PostOp::binary("mul", 2)}, {{5, 1}}, 1540);
  check_fused_matmul({3, 5, 8}, {3, 8, 6}, {PostOp::binary("add", 2), PostOp::eltwise("relu")}, {{3, 1, 6}}, 1550);
  check_fused_matmul({7}, {7, 5}, {PostOp::binary("sub", 2), PostOp::eltwise("tanh")}, {{5}}, 1560);
  check_fused_matmul({4, 7}, {7}, {PostOp::binary("add", 2)}, {{4}}, 1570);
  check_fused_matmul({7}, {7}, {PostOp::eltwise("linear", 2, 1)}, {}, 1580);
}

TEST(OnednnFusedGemm, AfterAlphaAndC) {
  const int64_t m = 6, k = 9, n = 20;
  uint32_t seed = 1600;
  for (bool tb : {false, true})
    for (float alpha : {1.0f, 0.5f})
      for (const Shape& cs : {Shape{n}, Shape{m, n}})
        for (bool constant : {true, false}) {
          SCOPED_TRACE(::testing::Message() << "transB " << tb << " alpha " << alpha << " C " << shape_to_string(cs)
                                            << (constant ? " constant" : " runtime"));
          const Tensor a = random_tensor(DataType::kFloat32, {m, k}, seed++);
          const Tensor b = random_tensor(DataType::kFloat32, tb ? Shape{n, k} : Shape{k, n}, seed++);
          const Tensor c = random_tensor(DataType::kFloat32, cs, seed++);
          const Tensor residual = random_tensor(DataType::kFloat32, {m, n}, seed++);
          const std::vector<PostOp> ops = {PostOp::eltwise("relu", 0.1f), PostOp::binary("add", 3),
                                           PostOp::eltwise("hardsigmoid", 0.2f, 0.5f)};
          Tensor expected = ref_gemm(a, b, &c, false, tb, alpha, 2.0f);
          apply_post_ops(expected, ops, {residual});
          Attrs at = {{"transB", int_attr(tb)}, {"alpha", float_attr(alpha)}, {"beta", float_attr(2.0f)},
                      {passes::kPostOpsAttribute, post_ops_attr(ops)}};
          auto y = run_once("Gemm", {{a}, {b, constant}, {c, constant}, {residual}}, at);
          ASSERT_TRUE(y.has_value()) << y.status().message();
          EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4));
        }
}

// ------------------------------------------------------------ errors

TEST(OnednnFusion, BadAttributesAreModelErrors) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 4, 4}, 1);
  const Tensor w = random_tensor(DataType::kFloat32, {2, 2, 1, 1}, 2);
  auto with_attr = [&](const std::string& key, ir::Attribute a) {
    return make_session("Conv", {{x}, {w, true}, {x}}, {{key, std::move(a)}});
  };
  ir::Attribute bad;
  bad.kind = ir::Attribute::Kind::kStrings;
  for (const char* text : {"eltwise:softsign:0:0", "binary:add:7", "binary:pow:2", "eltwise:relu:x:0", "relu"}) {
    bad.strings = {text};
    auto s = with_attr(passes::kPostOpsAttribute, bad);
    ASSERT_FALSE(s.has_value()) << text;
    EXPECT_NE(s.status().message().find(text), std::string::npos) << s.status().message();
  }
  auto weights_as_channels_last = with_attr(passes::kChannelsLastInputs, ints_attr({1}));
  ASSERT_FALSE(weights_as_channels_last.has_value());
  EXPECT_NE(weights_as_channels_last.status().message().find("neither X nor a fused operand"), std::string::npos);
}

TEST(OnednnFusion, PerPixelOperandSharedAcrossChannelsIsUnsupported) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 4, 4}, 1);
  const Tensor w = random_tensor(DataType::kFloat32, {2, 2, 1, 1}, 2);
  auto y = run_once("Conv", {{x}, {w, true}, {}, {random_tensor(DataType::kFloat32, {1, 1, 4, 4}, 3)}},
                    {{passes::kPostOpsAttribute, post_ops_attr({PostOp::binary("add", 3)})}});
  ASSERT_FALSE(y.has_value());
  EXPECT_EQ(y.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(y.status().message().find("1x1x4x4"), std::string::npos) << y.status().message();
}

TEST(OnednnFusion, OperandThatWouldEnlargeTheOutputIsAnError) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 4, 4}, 1);
  const Tensor w = random_tensor(DataType::kFloat32, {2, 2, 1, 1}, 2);
  const Tensor big = random_tensor(DataType::kFloat32, {3, 2, 4, 4}, 3);
  auto y = run_once("Conv", {{x}, {w, true}, {}, {big}},
                    {{passes::kPostOpsAttribute, post_ops_attr({PostOp::binary("add", 3)})}});
  ASSERT_FALSE(y.has_value());
  EXPECT_NE(y.status().message().find("does not broadcast into the output"), std::string::npos) << y.status().message();
  auto mm = run_once("MatMul", {{random_tensor(DataType::kFloat32, {2, 3}, 4)}, {random_tensor(DataType::kFloat32, {3, 5}, 5)},
                                {random_tensor(DataType::kFloat32, {2, 2, 5}, 6)}},
                     {{passes::kPostOpsAttribute, post_ops_attr({PostOp::binary("add", 2)})}});
  ASSERT_FALSE(mm.has_value());
  EXPECT_NE(mm.status().message().find("does not broadcast into the output"), std::string::npos) << mm.status().message();
}

}  // namespace
}  // namespace ecoinfer
