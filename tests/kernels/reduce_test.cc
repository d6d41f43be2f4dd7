// Reduction and normalization kernels: what the ONNX node tests leave out.
// Reductions are checked against a plain index loop over many shapes and
// axes sets (contiguous, split, size-1 and empty dims); Softmax's opset-11
// 2-D coercion against opset 13's single axis; ReduceSum's axes input;
// numerically large inputs; InstanceNormalization (its node tests are opset
// 6, below the supported range); bad input giving an error Status.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/half.h"
#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using namespace testing;

// An output whose shape the model does not declare (it depends on the test).
void add_output(ModelBuilder& b, const std::string& name, int32_t elem_type) {
  auto* vi = b.proto().mutable_graph()->add_output();
  vi->set_name(name);
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
}
// An input of any shape of the given rank.
void add_input(ModelBuilder& b, const std::string& name, int32_t elem_type, size_t rank) {
  b.input(name, elem_type, std::vector<int64_t>(rank, -1));
}

// ------------------------------------------------------------ reference

// Plain index loop: reduces `x` over `axes` (all when empty), in double.
Tensor reference_reduce(const std::string& op, const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  const auto rank = static_cast<int64_t>(x.rank());
  std::vector<bool> red(x.rank(), axes.empty());
  for (int64_t a : axes) red[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  Shape out_shape, kept_shape;
  for (size_t d = 0; d < x.rank(); ++d) {
    if (!red[d]) { out_shape.push_back(x.dim(d)); kept_shape.push_back(x.dim(d)); }
    else if (keepdims) out_shape.push_back(1);
  }
  const int64_t out_n = shape_numel(kept_shape);
  double init = 0;
  if (op == "ReduceProd") init = 1;
  if (op == "ReduceMax") init = -std::numeric_limits<double>::infinity();
  if (op == "ReduceMin") init = std::numeric_limits<double>::infinity();
  std::vector<double> acc(static_cast<size_t>(out_n), init);
  std::vector<int64_t> count(static_cast<size_t>(out_n), 0);
  const std::vector<double> xv = testing::to_doubles(x);
  std::vector<int64_t> idx(x.rank(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0, stride = 1;
    for (size_t d = x.rank(); d-- > 0;) {
      idx[d] = rem % x.dim(d);
      rem /= x.dim(d);
    }
    for (size_t d = x.rank(); d-- > 0;) {
      if (red[d]) continue;
      o += idx[d] * stride;
      stride *= x.dim(d);
    }
    double& a = acc[static_cast<size_t>(o)];
    const double v = xv[static_cast<size_t>(i)];
    if (op == "ReduceSum" || op == "ReduceMean") a += v;
    else if (op == "ReduceProd") a *= v;
    else if (op == "ReduceMax") a = std::max(a, v);
    else a = std::min(a, v);
    ++count[static_cast<size_t>(o)];
  }
  std::vector<float> out(acc.size());
  for (size_t i = 0; i < acc.size(); ++i)
    out[i] = static_cast<float>(op == "ReduceMean" ? acc[i] / static_cast<double>(count[i]) : acc[i]);
  return Tensor::from_vector<float>(out_shape, out);
}

// ------------------------------------------------------------ reductions

struct ReduceCase {
  Shape shape;
  std::vector<int64_t> axes;
};

const std::vector<ReduceCase> kReduceCases = {
    {{7}, {0}},
    {{4, 33}, {1}},             // last axis (LayerNorm-style)
    {{4, 33}, {-1}},
    {{33, 5}, {0}},             // strided
    {{2, 3, 17, 19}, {2, 3}},   // NCHW spatial
    {{2, 3, 17, 19}, {0, 2}},   // split blocks
    {{2, 3, 17, 19}, {1, 3}},
    {{2, 1, 5, 1}, {1, 3}},     // only size-1 axes: a copy
    {{3, 1, 700}, {0, 2}},      // size-1 dim between reduced ones
    {{5, 4, 3}, {}},            // all
    {{1, 600, 2}, {2}},         // wide output, column blocks
    {{2, 3, 4}, {-3, -1}},
    {{40, 1100}, {1}},          // large enough for the OpenMP paths
    {{3, 200, 70}, {1}},
};

TEST(Reduce, MatchesIndexLoopOnManyShapes) {
  for (const std::string op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"}) {
    for (const auto& c : kReduceCases) {
      for (const bool keepdims : {false, true}) {
        ModelBuilder b(11);
        add_input(b, "x", onnx::TensorProto::FLOAT, c.shape.size());
        auto* n = b.node(op, {"x"}, {"y"});
        if (!c.axes.empty()) set_ints(n, "axes", c.axes);
        set_int(n, "keepdims", keepdims);
        add_output(b, "y", onnx::TensorProto::FLOAT);
        // Values near 1 keep ReduceProd finite on long rows.
        const float lo = op == "ReduceProd" ? 0.99f : -1.0f;
        const float hi = op == "ReduceProd" ? 1.01f : 1.0f;
        const Tensor x = testing::random_tensor(DataType::kFloat32, c.shape, 7, lo, hi);
        auto out = save_and_run(b, "reduce_many", {{"x", x}});
        const std::string where = fmt::format("{} on {} keepdims {}", op, shape_to_string(c.shape), keepdims);
        ASSERT_TRUE(out) << where << ": " << out.status().message();
        const Tensor expected = reference_reduce(op, x, c.axes, keepdims);
        ASSERT_EQ((*out)[0].tensor.shape(), expected.shape()) << where;
        EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected, 1e-4, 1e-5)) << where;
      }
    }
  }
}

TEST(Reduce, EmptyReducedAxisGivesIdentityValues) {
  const Tensor x = Tensor::zeros(DataType::kFloat32, {3, 0});
  const std::vector<std::pair<std::string, float>> cases = {
      {"ReduceSum", 0.0f},
      {"ReduceProd", 1.0f},
      {"ReduceMax", -std::numeric_limits<float>::infinity()},
      {"ReduceMin", std::numeric_limits<float>::infinity()}};
  for (const auto& [op, value] : cases) {
    ModelBuilder b(11);
    add_input(b, "x", onnx::TensorProto::FLOAT, 2);
    set_ints(b.node(op, {"x"}, {"y"}), "axes", {1});
    add_output(b, "y", onnx::TensorProto::FLOAT);
    auto out = save_and_run(b, "reduce_empty", {{"x", x}});
    ASSERT_TRUE(out) << op << ": " << out.status().message();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.shape(), (Shape{3, 1})) << op;
    for (float v : y.span<float>()) EXPECT_EQ(v, value) << op;
  }
}

TEST(Reduce, IntegerAndHalfTypes) {
  {
    ModelBuilder b(11);
    add_input(b, "x", onnx::TensorProto::INT32, 2);
    auto* n = b.node("ReduceSum", {"x"}, {"y"});
    set_ints(n, "axes", {1});
    set_int(n, "keepdims", 0);
    add_output(b, "y", onnx::TensorProto::INT32);
    const Tensor x = Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, -4, 5, 100});
    auto out = save_and_run(b, "reduce_int", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, Tensor::from_vector<int32_t>({2}, {6, 101})));
  }
  {
    ModelBuilder b(11);
    add_input(b, "x", onnx::TensorProto::FLOAT16, 2);
    set_ints(b.node("ReduceMean", {"x"}, {"y"}), "axes", {-1});
    add_output(b, "y", onnx::TensorProto::FLOAT16);
    std::vector<Float16> h(2 * 300);
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(i < 300 ? 1.0f : 0.25f);
    auto out = save_and_run(b, "reduce_half", {{"x", Tensor::from_vector<Float16>({2, 300}, h)}});
    ASSERT_TRUE(out) << out.status().message();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.shape(), (Shape{2, 1}));
    // Accumulated in float: 300 halves of 1.0 sum exactly.
    EXPECT_EQ(half_to_float(y.data<Float16>()[0]), 1.0f);
    EXPECT_EQ(half_to_float(y.data<Float16>()[1]), 0.25f);
  }
}

// ReduceSum takes its axes as an input from opset 13 (attribute before).
TEST(Reduce, ReduceSumAxesInputFromOpset13) {
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 3, 4}, 3);
  auto make = [](bool with_axes_input, int64_t noop) {
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::FLOAT, 3);
    if (with_axes_input) b.input("axes", onnx::TensorProto::INT64, {-1});
    auto* n = b.node("ReduceSum", {"x", with_axes_input ? "axes" : ""}, {"y"});
    set_int(n, "noop_with_empty_axes", noop);
    add_output(b, "y", onnx::TensorProto::FLOAT);
    return b;
  };
  const Tensor axes = Tensor::from_vector<int64_t>({2}, {0, -1});
  auto out = save_and_run(make(true, 0), "rsum13_axes", {{"x", x}, {"axes", axes}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, reference_reduce("ReduceSum", x, {0, 2}, true)));

  const Tensor no_axes = Tensor::zeros(DataType::kInt64, {0});
  out = save_and_run(make(true, 0), "rsum13_empty", {{"x", x}, {"axes", no_axes}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, reference_reduce("ReduceSum", x, {}, true)));

  out = save_and_run(make(true, 1), "rsum13_noop", {{"x", x}, {"axes", no_axes}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, x));

  out = save_and_run(make(false, 0), "rsum13_omitted", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, reference_reduce("ReduceSum", x, {}, true)));

  // Opset 11: the attribute.
  ModelBuilder b(11);
  add_input(b, "x", onnx::TensorProto::FLOAT, 3);
  set_ints(b.node("ReduceSum", {"x"}, {"y"}), "axes", {1});
  add_output(b, "y", onnx::TensorProto::FLOAT);
  out = save_and_run(b, "rsum11", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, reference_reduce("ReduceSum", x, {1}, true)));
}

TEST(Reduce, AxisOutOfRangeIsAnError) {
  ModelBuilder b(11);
  add_input(b, "x", onnx::TensorProto::FLOAT, 2);
  set_ints(b.node("ReduceMax", {"x"}, {"y"}), "axes", {2});
  add_output(b, "y", onnx::TensorProto::FLOAT);
  auto out = save_and_run(b, "reduce_bad_axis", {{"x", testing::random_tensor(DataType::kFloat32, {2, 3}, 1)}});
  ASSERT_FALSE(out);
  EXPECT_NE(out.status().message().find("out of range"), std::string::npos) << out.status().message();

  ModelBuilder b13(13);
  add_input(b13, "x", onnx::TensorProto::FLOAT, 2);
  b13.input("axes", onnx::TensorProto::INT64, {-1});
  b13.node("ReduceSum", {"x", "axes"}, {"y"});
  add_output(b13, "y", onnx::TensorProto::FLOAT);
  out = save_and_run(b13, "reduce_bad_axis_input", {{"x", testing::random_tensor(DataType::kFloat32, {2, 3}, 1)},
                                           {"axes", Tensor::from_vector<int64_t>({1}, {-3})}});
  EXPECT_FALSE(out);
}

// ------------------------------------------------------------ ArgMax / ArgMin

TEST(ArgMax, StridedTiesAndLastIndex) {
  // [2, 3, 2]: axis 1 is strided; column ties pick the first or last index.
  const Tensor x = Tensor::from_vector<float>({2, 3, 2}, {1, 5, 3, 5, 3, 0, 7, -1, 7, -1, 2, -1});
  for (const bool last : {false, true}) {
    for (const bool is_max : {true, false}) {
      ModelBuilder b(12);
      add_input(b, "x", onnx::TensorProto::FLOAT, 3);
      auto* n = b.node(is_max ? "ArgMax" : "ArgMin", {"x"}, {"y"});
      set_int(n, "axis", 1);
      set_int(n, "keepdims", 0);
      set_int(n, "select_last_index", last);
      add_output(b, "y", onnx::TensorProto::INT64);
      auto out = save_and_run(b, "arg_strided", {{"x", x}});
      ASSERT_TRUE(out) << out.status().message();
      std::vector<int64_t> expected;
      if (is_max) expected = last ? std::vector<int64_t>{2, 1, 1, 2} : std::vector<int64_t>{1, 0, 0, 0};
      else expected = last ? std::vector<int64_t>{0, 2, 2, 2} : std::vector<int64_t>{0, 2, 2, 0};
      EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, Tensor::from_vector<int64_t>({2, 2}, expected)))
          << (is_max ? "ArgMax" : "ArgMin") << " last=" << last;
    }
  }
}

TEST(ArgMax, EmptyAxisAndBadAxisAreErrors) {
  for (const auto& [shape, axis] : std::vector<std::pair<Shape, int64_t>>{{{3, 0}, 1}, {{2, 3}, 2}, {{2, 3}, -3}}) {
    ModelBuilder b(12);
    add_input(b, "x", onnx::TensorProto::FLOAT, 2);
    set_int(b.node("ArgMin", {"x"}, {"y"}), "axis", axis);
    add_output(b, "y", onnx::TensorProto::INT64);
    auto out = save_and_run(b, "arg_bad", {{"x", Tensor::zeros(DataType::kFloat32, shape)}});
    EXPECT_FALSE(out) << shape_to_string(shape) << " axis " << axis;
  }
}

// ------------------------------------------------------------ Softmax

// Softmax over rows of [outer, n, inner] along the middle, in double.
std::vector<double> reference_softmax(const std::vector<double>& x, int64_t outer, int64_t n, int64_t inner,
                                      bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t r) { return static_cast<size_t>((o * n + r) * inner + i); };
      double m = -INFINITY, s = 0;
      for (int64_t r = 0; r < n; ++r) m = std::max(m, x[at(r)]);
      for (int64_t r = 0; r < n; ++r) s += std::exp(x[at(r)] - m);
      for (int64_t r = 0; r < n; ++r) y[at(r)] = log ? x[at(r)] - m - std::log(s) : std::exp(x[at(r)] - m) / s;
    }
  return y;
}

Tensor as_float(const Shape& shape, const std::vector<double>& v) {
  return Tensor::from_vector<float>(shape, std::vector<float>(v.begin(), v.end()));
}

// Opset 11 coerces to 2-D at axis (softmax over dims 1 and 2 together);
// opset 13 normalizes along axis 1 only.
TEST(Softmax, Opset11CoercesTo2dOpset13UsesOneAxis) {
  const Shape shape{2, 3, 4};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 5, -3, 3);
  const std::vector<double> xv = testing::to_doubles(x);
  for (const bool log : {false, true}) {
    for (const int opset : {11, 13}) {
      ModelBuilder b(opset);
      add_input(b, "x", onnx::TensorProto::FLOAT, 3);
      set_int(b.node(log ? "LogSoftmax" : "Softmax", {"x"}, {"y"}), "axis", 1);
      add_output(b, "y", onnx::TensorProto::FLOAT);
      auto out = save_and_run(b, "softmax_opset", {{"x", x}});
      ASSERT_TRUE(out) << out.status().message();
      const auto expected = opset == 11 ? reference_softmax(xv, 2, 12, 1, log) : reference_softmax(xv, 2, 3, 4, log);
      EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, expected), 1e-5, 1e-6))
          << "opset " << opset << " log " << log;
    }
  }
}

// Large magnitudes: subtracting the max keeps exp finite; the float exp must
// stay accurate over the whole range softmax feeds it.
TEST(Softmax, LargeInputsAndWideRange) {
  std::vector<float> v;
  for (int i = 0; i < 203; ++i) v.push_back(static_cast<float>(i - 101) * (i % 2 ? 0.9f : 1.0f));
  for (int i = 0; i < 203; ++i) v.push_back(1e30f + static_cast<float>(i) * 1e27f);
  const Tensor x = Tensor::from_vector<float>({2, 203}, v);
  const std::vector<double> xv = testing::to_doubles(x);
  for (const bool log : {false, true}) {
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::FLOAT, 2);
    b.node(log ? "LogSoftmax" : "Softmax", {"x"}, {"y"});
    add_output(b, "y", onnx::TensorProto::FLOAT);
    auto out = save_and_run(b, "softmax_large", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    for (float y : (*out)[0].tensor.span<float>()) ASSERT_TRUE(std::isfinite(y));
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float({2, 203}, reference_softmax(xv, 2, 203, 1, log)),
                                       1e-5, 1e-7)) << "log " << log;
  }
}

// Attention rows: scores plus a mask's -10000 bias (and -inf, as some
// exporters write it), at row lengths around the 16-lane vectors (the
// masked tail): the masked positions are exactly 0, the rest match the
// double reference. Also a NaN, which must stay in its row.
TEST(Softmax, MaskedAttentionRowsAndVectorTails) {
  for (const int64_t n : {15, 16, 17, 37, 128, 131}) {
    const Shape shape{3, 4, n};
    Tensor x = testing::random_tensor(DataType::kFloat32, shape, 31, -6, 6);
    float* xs = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (i % 5 == 1) xs[i] -= 10000.0f;
      if (i % 11 == 3) xs[i] = -INFINITY;
    }
    for (int64_t r = 0; r < 12; ++r) xs[r * n] = 2.0f;  // every row keeps one unmasked value
    const std::vector<double> xv = testing::to_doubles(x);
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::FLOAT, 3);
    b.node("Softmax", {"x"}, {"y"});
    add_output(b, "y", onnx::TensorProto::FLOAT);
    auto out = save_and_run(b, "softmax_masked", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, reference_softmax(xv, 12, n, 1, false)),
                                       1e-5, 1e-7)) << "n " << n;
    const float* ys = (*out)[0].tensor.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (xs[i] < -1000.0f) ASSERT_EQ(ys[i], 0.0f) << "n " << n << " element " << i;
    }
  }
  Tensor nan_row = Tensor::from_vector<float>({1, 20}, std::vector<float>(20, 1.0f));
  nan_row.data<float>()[18] = NAN;
  ModelBuilder b(13);
  add_input(b, "x", onnx::TensorProto::FLOAT, 2);
  b.node("Softmax", {"x"}, {"y"});
  add_output(b, "y", onnx::TensorProto::FLOAT);
  auto out = save_and_run(b, "softmax_nan", {{"x", nan_row}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(std::isnan((*out)[0].tensor.data<float>()[18]));
}

// Large enough that rows are split across the OpenMP team.
TEST(Softmax, ParallelRowsAndColumns) {
  const Shape shape{48, 20, 50};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 21, -8, 8);
  const std::vector<double> xv = testing::to_doubles(x);
  for (const int64_t axis : {-1, 1}) {
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::FLOAT, 3);
    set_int(b.node("Softmax", {"x"}, {"y"}), "axis", axis);
    add_output(b, "y", onnx::TensorProto::FLOAT);
    auto out = save_and_run(b, "softmax_parallel", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    const auto expected = axis == -1 ? reference_softmax(xv, 960, 50, 1, false) : reference_softmax(xv, 48, 20, 50, false);
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, expected), 1e-5, 1e-7)) << "axis " << axis;
  }
}

TEST(Softmax, HalfAndDoubleAndBadAxis) {
  {
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::DOUBLE, 3);
    set_int(b.node("Softmax", {"x"}, {"y"}), "axis", 0);
    add_output(b, "y", onnx::TensorProto::DOUBLE);
    const Tensor x = testing::random_tensor(DataType::kFloat64, {3, 2, 5}, 9, -5, 5);
    auto out = save_and_run(b, "softmax_double", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    const auto expected = reference_softmax(testing::to_doubles(x), 1, 3, 10, false);
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, Tensor::from_vector<double>({3, 2, 5}, expected), 1e-12, 1e-14));
  }
  {
    ModelBuilder b(13);
    add_input(b, "x", onnx::TensorProto::FLOAT16, 2);
    b.node("Softmax", {"x"}, {"y"});
    add_output(b, "y", onnx::TensorProto::FLOAT16);
    const std::vector<float> f{1, 2, 3, 4, -1, 0, 0, 1};
    std::vector<Float16> h;
    for (float v : f) h.push_back(float_to_half(v));
    auto out = save_and_run(b, "softmax_half", {{"x", Tensor::from_vector<Float16>({2, 4}, h)}});
    ASSERT_TRUE(out) << out.status().message();
    const auto expected = reference_softmax({f.begin(), f.end()}, 2, 4, 1, false);
    const Tensor& y = (*out)[0].tensor;
    for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(half_to_float(y.data<Float16>()[i]), expected[i], 1e-3);
  }
  ModelBuilder b(13);
  add_input(b, "x", onnx::TensorProto::FLOAT, 2);
  set_int(b.node("Softmax", {"x"}, {"y"}), "axis", 2);
  add_output(b, "y", onnx::TensorProto::FLOAT);
  EXPECT_FALSE(save_and_run(b, "softmax_bad_axis", {{"x", testing::random_tensor(DataType::kFloat32, {2, 3}, 1)}}));
}

// ------------------------------------------------------------ normalizations

TEST(LayerNormalization, NoBiasBroadcastScaleAndStatistics) {
  const Shape shape{2, 3, 5};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 11, -2, 2);
  ModelBuilder b(17);
  add_input(b, "x", onnx::TensorProto::FLOAT, 3);
  b.initializer("scale", {5}, {1, 2, 3, 4, 5});  // broadcast over the axis-1 dims
  auto* n = b.node("LayerNormalization", {"x", "scale"}, {"y", "mean", "inv"});
  set_int(n, "axis", 1);
  set_float(n, "epsilon", 1e-3f);
  add_output(b, "y", onnx::TensorProto::FLOAT);
  add_output(b, "mean", onnx::TensorProto::FLOAT);
  add_output(b, "inv", onnx::TensorProto::FLOAT);
  auto out = save_and_run(b, "layernorm", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  const auto xv = testing::to_doubles(x);
  std::vector<double> y(xv.size()), mean(2), inv(2);
  for (size_t o = 0; o < 2; ++o) {
    double m = 0, v = 0;
    for (size_t j = 0; j < 15; ++j) m += xv[o * 15 + j] / 15;
    for (size_t j = 0; j < 15; ++j) v += (xv[o * 15 + j] - m) * (xv[o * 15 + j] - m) / 15;
    mean[o] = m;
    inv[o] = 1 / std::sqrt(v + 1e-3);
    for (size_t j = 0; j < 15; ++j) y[o * 15 + j] = (xv[o * 15 + j] - m) * inv[o] * static_cast<double>(j % 5 + 1);
  }
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, y)));
  EXPECT_TRUE(testing::tensors_close((*out)[1].tensor, as_float({2, 1, 1}, mean)));
  EXPECT_TRUE(testing::tensors_close((*out)[2].tensor, as_float({2, 1, 1}, inv)));
}

TEST(InstanceNormalization, MatchesPerChannelLoop) {
  const Shape shape{2, 3, 4, 5};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 13, -2, 2);
  ModelBuilder b(7);
  add_input(b, "x", onnx::TensorProto::FLOAT, 4);
  b.initializer("scale", {3}, {0.5f, 1, 2});
  b.initializer("bias", {3}, {0, 1, -1});
  set_float(b.node("InstanceNormalization", {"x", "scale", "bias"}, {"y"}), "epsilon", 1e-2f);
  add_output(b, "y", onnx::TensorProto::FLOAT);
  auto out = save_and_run(b, "instnorm", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  const auto xv = testing::to_doubles(x);
  const double scale[3] = {0.5, 1, 2}, bias[3] = {0, 1, -1};
  std::vector<double> y(xv.size());
  for (size_t bc = 0; bc < 6; ++bc) {
    double m = 0, v = 0;
    for (size_t i = 0; i < 20; ++i) m += xv[bc * 20 + i] / 20;
    for (size_t i = 0; i < 20; ++i) v += (xv[bc * 20 + i] - m) * (xv[bc * 20 + i] - m) / 20;
    for (size_t i = 0; i < 20; ++i)
      y[bc * 20 + i] = (xv[bc * 20 + i] - m) / std::sqrt(v + 1e-2) * scale[bc % 3] + bias[bc % 3];
  }
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, y)));
}

// Opset 7 spatial=0: one parameter per element of C x H x W.
TEST(BatchNormalization, NonSpatialOpset7AndBadParameters) {
  const Shape shape{2, 2, 3};
  const Tensor x = testing::random_tensor(DataType::kFloat32, shape, 17, -2, 2);
  std::vector<float> scale, bias, mean, var;
  for (int i = 0; i < 6; ++i) {
    scale.push_back(0.5f + static_cast<float>(i));
    bias.push_back(static_cast<float>(i) - 2);
    mean.push_back(0.1f * static_cast<float>(i));
    var.push_back(1.0f + 0.5f * static_cast<float>(i));
  }
  ModelBuilder b(7);
  add_input(b, "x", onnx::TensorProto::FLOAT, 3);
  b.initializer("s", {2, 3}, scale);
  b.initializer("b", {2, 3}, bias);
  b.initializer("m", {2, 3}, mean);
  b.initializer("v", {2, 3}, var);
  set_int(b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}), "spatial", 0);
  add_output(b, "y", onnx::TensorProto::FLOAT);
  auto out = save_and_run(b, "bn_nonspatial", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  const auto xv = testing::to_doubles(x);
  std::vector<double> y(xv.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t p = i % 6;
    y[i] = (xv[i] - mean[p]) / std::sqrt(var[p] + 1e-5) * scale[p] + bias[p];
  }
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, as_float(shape, y)));

  // Per-channel parameters of the wrong length are an error, not a read past the end.
  ModelBuilder bad(15);
  add_input(bad, "x", onnx::TensorProto::FLOAT, 3);
  bad.initializer("s", {3}, {1, 1, 1});
  bad.initializer("b", {2}, {0, 0});
  bad.initializer("m", {2}, {0, 0});
  bad.initializer("v", {2}, {1, 1});
  bad.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"});
  add_output(bad, "y", onnx::TensorProto::FLOAT);
  out = save_and_run(bad, "bn_bad", {{"x", x}});
  ASSERT_FALSE(out);
  EXPECT_NE(out.status().message().find("scale"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace ecoinfer
