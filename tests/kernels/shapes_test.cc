// Shape and data-movement kernels: what the ONNX node tests leave out.
// Opset-specific layouts (Slice/Squeeze/Unsqueeze/Split/Pad attributes vs
// inputs), aliasing (Reshape shares its input's buffer, yet repeated runs are
// right), the blocked Transpose against a plain index loop on many shapes and
// element sizes, edge sizes (empty, rank 0), and bad input giving a Status.
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using namespace testing;
using Index = std::vector<int64_t>;

constexpr int32_t kF = onnx::TensorProto::FLOAT;
constexpr int32_t kI64 = onnx::TensorProto::INT64;

// Symbolic dims of the given rank: the kernels see whatever shape is fed.
std::vector<int64_t> any(size_t rank) { return std::vector<int64_t>(rank, -1); }

Tensor ints(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

// The reference for every data-movement op: output element at multi-index
// `o` is source element `source(o)` (flat), or zero when source returns -1.
Tensor reference(const Tensor& x, const Shape& out_shape, const std::function<int64_t(const Index&)>& source) {
  Tensor out = Tensor::zeros(x.dtype(), out_shape);
  const size_t es = dtype_size(x.dtype());
  Index idx(out_shape.size(), 0);
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    const int64_t s = source(idx);
    if (s >= 0)
      std::memcpy(static_cast<std::byte*>(out.raw_data()) + flat * es, static_cast<const std::byte*>(x.raw_data()) + s * es, es);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

int64_t flat_index(const Shape& shape, const Index& idx) {
  int64_t f = 0;
  for (size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + idx[d];
  return f;
}

// ---- Reshape and aliasing ----

TEST(ShapeOps, ReshapeAliasesAndRepeatedRunsAreRight) {
  ModelBuilder b(14);
  b.input("x", kF, any(3));
  b.input("shape", kI64, {3});
  b.node("Reshape", {"x", "shape"}, {"r"});
  b.node("Transpose", {"r"}, {"y"});  // reads the aliased buffer
  b.output("y", kF, any(3));
  b.output("r", kF, any(3));
  const auto path = testing::temp_dir("reshape_alias") / "model.onnx";
  b.save(path);
  auto s = Session::load(path, {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  for (uint32_t seed : {1u, 2u, 3u}) {
    Tensor x = testing::random_tensor(DataType::kFloat32, {2, 3, 4}, seed);
    auto out = (*s)->run({{"x", x}, {"shape", ints({0, -1, 2})}});
    ASSERT_TRUE(out) << out.status().message();
    const Tensor& r = (*out)[1].tensor;
    EXPECT_EQ(r.shape(), (Shape{2, 6, 2}));
    EXPECT_TRUE(testing::tensors_close(r, x.reshaped({2, 6, 2})));
    Tensor expected = reference(x, {2, 6, 2}, [](const Index& o) { return flat_index({2, 6, 2}, {o[2], o[1], o[0]}); });
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected.reshaped({2, 6, 2})));
  }
}

TEST(ShapeOps, ReshapeAllowZeroAndBadSizes) {
  ModelBuilder b(14);
  b.input("x", kF, any(2));
  b.input("shape", kI64, {-1});
  set_int(b.node("Reshape", {"x", "shape"}, {"y"}), "allowzero", 1);
  b.output("y", kF, any(2));
  auto empty = save_and_run(b, "reshape_allowzero", {{"x", Tensor::zeros(DataType::kFloat32, {0, 4})}, {"shape", ints({4, 0})}});
  ASSERT_TRUE(empty) << empty.status().message();
  EXPECT_EQ((*empty)[0].tensor.shape(), (Shape{4, 0}));
  auto bad = save_and_run(b, "reshape_bad", {{"x", Tensor::zeros(DataType::kFloat32, {3, 4})}, {"shape", ints({5, -1})}});
  EXPECT_FALSE(bad);
  auto two = save_and_run(b, "reshape_two", {{"x", Tensor::zeros(DataType::kFloat32, {3, 4})}, {"shape", ints({-1, -1})}});
  EXPECT_FALSE(two);
  auto scalar = save_and_run(b, "reshape_scalar", {{"x", Tensor::zeros(DataType::kFloat32, {1, 1})}, {"shape", ints({})}});
  ASSERT_TRUE(scalar) << scalar.status().message();
  EXPECT_EQ((*scalar)[0].tensor.rank(), 0u);
}

// ---- Squeeze / Unsqueeze: attribute before opset 13, input from 13 ----

TEST(ShapeOps, SqueezeAttributeAndInput) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {1, 3, 1, 2}, 7);
  ModelBuilder b11(11);
  b11.input("x", kF, any(4));
  set_ints(b11.node("Squeeze", {"x"}, {"y"}), "axes", {-2});
  b11.output("y", kF, any(3));
  auto a = save_and_run(b11, "squeeze11", {{"x", x}});
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ((*a)[0].tensor.shape(), (Shape{1, 3, 2}));

  ModelBuilder b13(13);
  b13.input("x", kF, any(4));
  b13.input("axes", kI64, {-1});
  b13.node("Squeeze", {"x", "axes"}, {"y"});
  b13.output("y", kF, any(2));
  auto c = save_and_run(b13, "squeeze13", {{"x", x}, {"axes", ints({0, 2})}});
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ((*c)[0].tensor.shape(), (Shape{3, 2}));
  EXPECT_FALSE(save_and_run(b13, "squeeze13_bad", {{"x", x}, {"axes", ints({1})}}));  // size 3, not 1
  EXPECT_FALSE(save_and_run(b13, "squeeze13_range", {{"x", x}, {"axes", ints({4})}}));

  ModelBuilder all(13);
  all.input("x", kF, any(4));
  all.node("Squeeze", {"x"}, {"y"});
  all.output("y", kF, any(2));
  auto d = save_and_run(all, "squeeze_all", {{"x", x}});
  ASSERT_TRUE(d) << d.status().message();
  EXPECT_EQ((*d)[0].tensor.shape(), (Shape{3, 2}));
}

TEST(ShapeOps, UnsqueezeAttributeAndInput) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {3, 2}, 8);
  ModelBuilder b11(11);
  b11.input("x", kF, any(2));
  set_ints(b11.node("Unsqueeze", {"x"}, {"y"}), "axes", {-1, 0});
  b11.output("y", kF, any(4));
  auto a = save_and_run(b11, "unsqueeze11", {{"x", x}});
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ((*a)[0].tensor.shape(), (Shape{1, 3, 2, 1}));

  ModelBuilder b13(13);
  b13.input("x", kF, any(2));
  b13.input("axes", kI64, {-1});
  b13.node("Unsqueeze", {"x", "axes"}, {"y"});
  b13.output("y", kF, any(3));
  auto c = save_and_run(b13, "unsqueeze13", {{"x", x}, {"axes", ints({1})}});
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ((*c)[0].tensor.shape(), (Shape{3, 1, 2}));
  EXPECT_TRUE(testing::tensors_close((*c)[0].tensor, x.reshaped({3, 1, 2})));
  EXPECT_FALSE(save_and_run(b13, "unsqueeze13_dup", {{"x", x}, {"axes", ints({1, 1})}}));
  EXPECT_FALSE(save_and_run(b13, "unsqueeze13_range", {{"x", x}, {"axes", ints({3})}}));
}

// ---- Slice: attributes before opset 10, inputs from 10 ----

// Reference slice along one axis with the spec's clamping done by hand.
Tensor slice_ref(const Tensor& x, size_t axis, int64_t start, int64_t step, int64_t len) {
  Shape out = x.shape();
  out[axis] = len;
  return reference(x, out, [&](const Index& o) {
    Index i = o;
    i[axis] = start + o[axis] * step;
    return flat_index(x.shape(), i);
  });
}

TEST(DataMovement, SliceAttributesBeforeOpset10) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {4, 5}, 9);
  ModelBuilder b(9);
  b.input("x", kF, any(2));
  auto* n = b.node("Slice", {"x"}, {"y"});
  set_ints(n, "starts", {1, -4});
  set_ints(n, "ends", {std::numeric_limits<int64_t>::max(), -1});
  set_ints(n, "axes", {0, 1});
  b.output("y", kF, any(2));
  auto out = save_and_run(b, "slice9", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, slice_ref(slice_ref(x, 0, 1, 1, 3), 1, 1, 1, 3)));
}

TEST(DataMovement, SliceInputsNegativeStepsAndClamping) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::UINT8, any(3));
  for (const char* s : {"starts", "ends", "axes", "steps"}) b.input(s, kI64, {-1});
  b.node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"});
  b.output("y", onnx::TensorProto::UINT8, any(3));
  Tensor x = testing::random_tensor(DataType::kUInt8, {3, 7, 6}, 10);
  struct Case { int64_t start, end, step, axis, ref_start, ref_len; };
  const int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  const std::vector<Case> cases = {
      {kMax, kMin, -1, 1, 6, 7},   // whole dim reversed
      {-1, -kMax, -2, 1, 6, 4},    // 6,4,2,0
      {5, 1, -3, -1, 5, 2},        // 5,2
      {0, kMax, 4, 2, 0, 2},       // 0,4
      {10, 20, 1, 1, 7, 0},        // start past the end: empty
      {2, 2, -1, 0, 2, 0},         // empty
      {1, 2, kMax, 1, 1, 1},       // huge step, one element
  };
  for (const Case& c : cases) {
    auto out = save_and_run(b, "slice13", {{"x", x}, {"starts", ints({c.start})}, {"ends", ints({c.end})}, {"axes", ints({c.axis})},
                                  {"steps", ints({c.step})}});
    ASSERT_TRUE(out) << out.status().message();
    const size_t axis = static_cast<size_t>(c.axis < 0 ? c.axis + 3 : c.axis);
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, slice_ref(x, axis, c.ref_start, c.step, c.ref_len)))
        << "start " << c.start << " end " << c.end << " step " << c.step;
  }
  EXPECT_FALSE(save_and_run(b, "slice13_zero_step", {{"x", x}, {"starts", ints({0})}, {"ends", ints({1})}, {"axes", ints({0})},
                                            {"steps", ints({0})}}));
  EXPECT_FALSE(save_and_run(b, "slice13_bad_axis", {{"x", x}, {"starts", ints({0})}, {"ends", ints({1})}, {"axes", ints({3})},
                                           {"steps", ints({1})}}));
}

// ---- Transpose: blocked path and generic fallback against the index loop ----

TEST(DataMovement, TransposeMatchesIndexLoop) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3, 33, 65}, {0, 2, 3, 1}},  // NCHW -> NHWC, tile boundaries
      {{2, 33, 65, 3}, {0, 3, 1, 2}},  // NHWC -> NCHW
      {{2, 4, 37, 40}, {0, 1, 3, 2}},  // attention: swap the last two
      {{2, 37, 4, 16}, {0, 2, 1, 3}},  // attention: heads to the front
      {{5, 6, 7}, {2, 1, 0}},          // generic
      {{4, 1, 6, 1}, {3, 1, 0, 2}},    // only size-1 dims move, plus a 2-D swap
      {{1, 5, 1}, {2, 0, 1}},          // nothing moves: aliases
      {{3, 0, 2}, {2, 1, 0}},          // empty
      {{}, {}},                        // scalar
  };
  const std::vector<std::pair<DataType, int32_t>> types = {{DataType::kFloat32, kF},
                                                           {DataType::kFloat16, onnx::TensorProto::FLOAT16},
                                                           {DataType::kBool, onnx::TensorProto::BOOL},
                                                           {DataType::kInt64, kI64}};
  for (const auto& [dt, onnx_type] : types) {
    for (const auto& [shape, perm] : cases) {
      ModelBuilder b(13);
      b.input("x", onnx_type, any(shape.size()));
      set_ints(b.node("Transpose", {"x"}, {"y"}), "perm", perm);
      b.output("y", onnx_type, any(shape.size()));
      Tensor x = testing::random_tensor(dt, shape, 11);
      auto out = save_and_run(b, "transpose", {{"x", x}});
      ASSERT_TRUE(out) << out.status().message();
      Shape out_shape;
      for (int64_t p : perm) out_shape.push_back(shape[static_cast<size_t>(p)]);
      Tensor expected = reference(x, out_shape, [&](const Index& o) {
        Index i(shape.size());
        for (size_t d = 0; d < perm.size(); ++d) i[static_cast<size_t>(perm[d])] = o[d];
        return flat_index(shape, i);
      });
      EXPECT_EQ((*out)[0].tensor.shape(), out_shape);
      EXPECT_EQ(std::memcmp((*out)[0].tensor.raw_data(), expected.raw_data(), expected.nbytes()), 0)
          << dtype_name(dt) << " " << shape_to_string(shape);
    }
  }
}

TEST(DataMovement, TransposeBadPerm) {
  ModelBuilder b(13);
  b.input("x", kF, any(3));
  set_ints(b.node("Transpose", {"x"}, {"y"}), "perm", {0, 0, 1});
  b.output("y", kF, any(3));
  EXPECT_FALSE(save_and_run(b, "transpose_bad", {{"x", Tensor::zeros(DataType::kFloat32, {2, 2, 2})}}));
}

// ---- Gather ----

TEST(DataMovement, GatherNegativeAndOutOfRange) {
  ModelBuilder b(13);
  b.input("x", kF, any(3));
  b.input("i", kI64, any(2));
  set_int(b.node("Gather", {"x", "i"}, {"y"}), "axis", 1);
  b.output("y", kF, any(4));
  Tensor x = testing::random_tensor(DataType::kFloat32, {2, 5, 3}, 12);
  Tensor idx = Tensor::from_vector<int64_t>({2, 2}, {-1, 0, 4, -5});
  auto out = save_and_run(b, "gather", {{"x", x}, {"i", idx}});
  ASSERT_TRUE(out) << out.status().message();
  const int64_t pick[] = {4, 0, 4, 0};
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, reference(x, {2, 2, 2, 3}, [&](const Index& o) {
    return flat_index({2, 5, 3}, {o[0], pick[o[1] * 2 + o[2]], o[3]});
  })));
  auto bad = save_and_run(b, "gather_bad", {{"x", x}, {"i", Tensor::from_vector<int64_t>({1, 1}, {5})}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("index 5"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("size 5"), std::string::npos) << bad.status().message();
}

// ---- Pad: attributes before opset 11, inputs from 11 ----

int64_t pad_src(int64_t o, int64_t before, int64_t n, const std::string& mode) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

Tensor pad_ref(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode) {
  const size_t r = x.rank();
  Shape out(r);
  for (size_t d = 0; d < r; ++d) out[d] = x.dim(d) + pads[d] + pads[d + r];
  return reference(x, out, [&](const Index& o) {
    Index i(r);
    for (size_t d = 0; d < r; ++d) {
      i[d] = pad_src(o[d], pads[d], x.dim(d), mode);
      if (i[d] < 0) return int64_t{-1};
    }
    return flat_index(x.shape(), i);
  });
}

TEST(DataMovement, PadModesBothLayouts) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {3, 4}, 13);
  const std::vector<std::vector<int64_t>> pad_sets = {{1, 2, 2, 3}, {0, -1, 2, 1}, {2, 0, 0, 2}};
  for (const std::string mode : {"constant", "reflect", "edge"}) {
    for (const auto& pads : pad_sets) {
      ModelBuilder b2(10);
      b2.input("x", kF, any(2));
      auto* n = b2.node("Pad", {"x"}, {"y"});
      set_ints(n, "pads", pads);
      set_string(n, "mode", mode);
      b2.output("y", kF, any(2));
      auto a = save_and_run(b2, "pad10", {{"x", x}});
      ASSERT_TRUE(a) << a.status().message();
      EXPECT_TRUE(testing::tensors_close((*a)[0].tensor, pad_ref(x, pads, mode))) << mode;

      ModelBuilder b13(13);
      b13.input("x", kF, any(2));
      b13.input("pads", kI64, {4});
      set_string(b13.node("Pad", {"x", "pads"}, {"y"}), "mode", mode);
      b13.output("y", kF, any(2));
      auto c = save_and_run(b13, "pad13", {{"x", x}, {"pads", ints(pads)}});
      ASSERT_TRUE(c) << c.status().message();
      EXPECT_TRUE(testing::tensors_close((*c)[0].tensor, pad_ref(x, pads, mode))) << mode;
    }
  }
  ModelBuilder b(13);
  b.input("x", kF, any(2));
  b.input("pads", kI64, {-1});
  b.node("Pad", {"x", "pads"}, {"y"});
  b.output("y", kF, any(2));
  EXPECT_FALSE(save_and_run(b, "pad_short", {{"x", x}, {"pads", ints({1, 1})}}));
  EXPECT_FALSE(save_and_run(b, "pad_crop", {{"x", x}, {"pads", ints({-2, 0, -2, 0})}}));
}

TEST(DataMovement, PadConstantValueInput) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::INT32, any(1));
  b.input("pads", kI64, {2});
  b.input("v", onnx::TensorProto::INT32, {});
  b.node("Pad", {"x", "pads", "v"}, {"y"});
  b.output("y", onnx::TensorProto::INT32, any(1));
  auto out = save_and_run(b, "pad_value", {{"x", Tensor::from_vector<int32_t>({2}, {5, 6})}, {"pads", ints({1, 2})},
                                  {"v", Tensor::scalar<int32_t>(-7)}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, Tensor::from_vector<int32_t>({5}, {-7, 5, 6, -7, -7})));
}

// ---- Tile, Expand ----

TEST(DataMovement, TileAndExpandMatchIndexLoop) {
  Tensor x = testing::random_tensor(DataType::kFloat16, {2, 1, 3}, 14);
  ModelBuilder t(13);
  t.input("x", onnx::TensorProto::FLOAT16, any(3));
  t.input("r", kI64, {3});
  t.node("Tile", {"x", "r"}, {"y"});
  t.output("y", onnx::TensorProto::FLOAT16, any(3));
  auto tiled = save_and_run(t, "tile", {{"x", x}, {"r", ints({2, 3, 1})}});
  ASSERT_TRUE(tiled) << tiled.status().message();
  EXPECT_TRUE(testing::tensors_close((*tiled)[0].tensor, reference(x, {4, 3, 3}, [](const Index& o) {
    return flat_index({2, 1, 3}, {o[0] % 2, 0, o[2]});
  })));
  EXPECT_FALSE(save_and_run(t, "tile_bad", {{"x", x}, {"r", ints({2, 3})}}));

  ModelBuilder e(13);
  e.input("x", onnx::TensorProto::FLOAT16, any(3));
  e.input("s", kI64, {-1});
  e.node("Expand", {"x", "s"}, {"y"});
  e.output("y", onnx::TensorProto::FLOAT16, any(4));
  auto expanded = save_and_run(e, "expand", {{"x", x}, {"s", ints({2, 1, 4, 1})}});
  ASSERT_TRUE(expanded) << expanded.status().message();
  EXPECT_TRUE(testing::tensors_close((*expanded)[0].tensor, reference(x, {2, 2, 4, 3}, [](const Index& o) {
    return flat_index({2, 1, 3}, {o[1], 0, o[3]});
  })));
  EXPECT_FALSE(save_and_run(e, "expand_bad", {{"x", x}, {"s", ints({3, 1, 1})}}));

  ModelBuilder s(13);  // rank-0 input
  s.input("x", kF, {});
  s.input("s", kI64, {-1});
  s.node("Expand", {"x", "s"}, {"y"});
  s.output("y", kF, any(2));
  auto scalar = save_and_run(s, "expand_scalar", {{"x", Tensor::scalar<float>(2.5f)}, {"s", ints({2, 3})}});
  ASSERT_TRUE(scalar) << scalar.status().message();
  EXPECT_TRUE(testing::tensors_close((*scalar)[0].tensor, Tensor::from_vector<float>({2, 3}, std::vector<float>(6, 2.5f))));
}

// ---- Split: attribute before opset 13, input from 13; Concat with empties ----

TEST(DataMovement, SplitAttributeAndInputAndConcatBack) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {2, 6}, 15);
  ModelBuilder b11(11);
  b11.input("x", kF, any(2));
  auto* n = b11.node("Split", {"x"}, {"a", "b", "c"});
  set_ints(n, "split", {1, 0, 5});
  set_int(n, "axis", -1);
  set_int(b11.node("Concat", {"c", "b", "a"}, {"y"}), "axis", 1);
  for (const char* o : {"a", "b", "c", "y"}) b11.output(o, kF, any(2));
  auto out = save_and_run(b11, "split11", {{"x", x}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_EQ((*out)[1].tensor.shape(), (Shape{2, 0}));
  EXPECT_TRUE(testing::tensors_close((*out)[3].tensor, reference(x, {2, 6}, [](const Index& o) {
    return o[0] * 6 + (o[1] < 5 ? o[1] + 1 : 0);
  })));

  ModelBuilder b13(13);
  b13.input("x", kF, any(2));
  b13.input("split", kI64, {2});
  set_int(b13.node("Split", {"x", "split"}, {"a", "b"}), "axis", 1);
  b13.output("a", kF, any(2));
  b13.output("b", kF, any(2));
  auto c = save_and_run(b13, "split13", {{"x", x}, {"split", ints({4, 2})}});
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_TRUE(testing::tensors_close((*c)[1].tensor, reference(x, {2, 2}, [](const Index& o) { return o[0] * 6 + 4 + o[1]; })));
  EXPECT_FALSE(save_and_run(b13, "split13_bad", {{"x", x}, {"split", ints({4, 3})}}));
}

// ---- Shape, Size, Range, ConstantOfShape, Dropout ----

TEST(ShapeOps, ShapeStartEndAndSizeOfScalar) {
  ModelBuilder b(15);
  b.input("x", kF, any(4));
  auto* n = b.node("Shape", {"x"}, {"s"});
  set_int(n, "start", -3);
  set_int(n, "end", -1);
  b.node("Size", {"x"}, {"n"});
  b.output("s", kI64, {2});
  b.output("n", kI64, {});
  auto out = save_and_run(b, "shape15", {{"x", Tensor::zeros(DataType::kFloat32, {2, 3, 4, 5})}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, ints({3, 4})));
  EXPECT_TRUE(testing::tensors_close((*out)[1].tensor, Tensor::scalar<int64_t>(120)));
}

TEST(ShapeOps, RangeAndConstantOfShape) {
  ModelBuilder b(13);
  for (const char* s : {"a", "l", "d"}) b.input(s, kI64, {});
  b.node("Range", {"a", "l", "d"}, {"r"});
  b.output("r", kI64, {-1});
  auto out = save_and_run(b, "range", {{"a", Tensor::scalar<int64_t>(10)}, {"l", Tensor::scalar<int64_t>(-3)},
                              {"d", Tensor::scalar<int64_t>(-4)}});
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, ints({10, 6, 2, -2})));
  auto none = save_and_run(b, "range_empty", {{"a", Tensor::scalar<int64_t>(1)}, {"l", Tensor::scalar<int64_t>(0)},
                                     {"d", Tensor::scalar<int64_t>(1)}});
  ASSERT_TRUE(none) << none.status().message();
  EXPECT_EQ((*none)[0].tensor.shape(), (Shape{0}));
  EXPECT_FALSE(save_and_run(b, "range_zero", {{"a", Tensor::scalar<int64_t>(1)}, {"l", Tensor::scalar<int64_t>(5)},
                                     {"d", Tensor::scalar<int64_t>(0)}}));

  ModelBuilder c(13);
  c.input("s", kI64, {-1});
  auto* n = c.node("ConstantOfShape", {"s"}, {"y"});
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT32);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_int32_data(9);
  c.output("y", onnx::TensorProto::INT32, any(0));
  auto scalar = save_and_run(c, "cos_scalar", {{"s", ints({})}});
  ASSERT_TRUE(scalar) << scalar.status().message();
  EXPECT_TRUE(testing::tensors_close((*scalar)[0].tensor, Tensor::scalar<int32_t>(9)));
  EXPECT_FALSE(save_and_run(c, "cos_negative", {{"s", ints({2, -1})}}));
}

TEST(ShapeOps, DropoutMaskTypeByOpset) {
  Tensor x = testing::random_tensor(DataType::kFloat32, {2, 3}, 16);
  for (int opset : {7, 13}) {
    ModelBuilder b(opset);
    b.input("x", kF, any(2));
    b.node("Dropout", {"x"}, {"y", "m"});
    b.output("y", kF, any(2));
    b.output("m", opset < 10 ? kF : onnx::TensorProto::BOOL, any(2));
    auto out = save_and_run(b, "dropout", {{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, x));
    const Tensor& m = (*out)[1].tensor;
    EXPECT_EQ(m.dtype(), opset < 10 ? DataType::kFloat32 : DataType::kBool);
    for (double v : testing::to_doubles(m)) EXPECT_EQ(v, 1.0);
  }
}

}  // namespace
}  // namespace ecoinfer
