// fold_scale_shift: per-channel (or scalar) Mul/Add/Sub/Div after a Conv
// folds into the Conv; spatial constants, c - x, and shared outputs do not.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

TEST(FoldScaleShift, ScalarAndPerChannelChains) {
  ModelBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, 5, 5});
  // Conv (no bias) -> Mul(scalar [1], constant first) -> Add([C,1,1]) -> Relu: both fold.
  random_initializer(b, "w0", {4, 3, 3, 3}, 1);
  b.node("Conv", {"x", "w0"}, {"c0"});
  random_initializer(b, "k0", {1}, 2, 0.5f, 2.0f);
  b.node("Mul", {"k0", "c0"}, {"m0"});
  random_initializer(b, "t0", {4, 1, 1}, 3);
  b.node("Add", {"m0", "t0"}, {"a0"});
  b.node("Relu", {"a0"}, {"y0"});
  // Conv (bias) -> Div([1,C,1,1]) -> Sub(scalar): both fold.
  random_initializer(b, "w1", {4, 3, 1, 1}, 4);
  random_initializer(b, "b1", {4}, 5);
  b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  random_initializer(b, "k1", {1, 4, 1, 1}, 6, 0.5f, 2.0f);
  b.node("Div", {"c1", "k1"}, {"d1"});
  b.initializer("t1", {}, {0.25f});
  b.node("Sub", {"d1", "t1"}, {"y1"});
  // Conv -> Mul by a spatial [1,1,5,5] constant: stays; so does c - Conv.
  random_initializer(b, "w2", {2, 3, 1, 1}, 7);
  b.node("Conv", {"x", "w2"}, {"c2"});
  random_initializer(b, "k2", {1, 1, 5, 5}, 8);
  b.node("Mul", {"c2", "k2"}, {"y2"});
  b.node("Conv", {"x", "w2"}, {"c3"});
  b.node("Sub", {"t1", "c3"}, {"y3"});
  for (const char* y : {"y0", "y1", "y2", "y3"}) b.output(y, onnx::TensorProto::FLOAT, {});
  const auto path = temp_dir("fold_scale_shift") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 3, 5, 5}, 9);
  PassRun r = run_with_and_without(path, {&passes::fold_scale_shift_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-4, 1e-5);
  EXPECT_EQ(r.rewrites, 4);
  EXPECT_EQ(r.nodes_after, r.nodes_before - 4);
  EXPECT_EQ(count_op(r.optimized, "Mul"), 1);
  EXPECT_EQ(count_op(r.optimized, "Sub"), 1);
}

TEST(FoldScaleShift, KeepsSharedConvOutput) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 2, 3, 3});
  random_initializer(b, "w", {2, 2, 1, 1}, 1);
  b.node("Conv", {"x", "w"}, {"c"});
  b.initializer("k", {}, {3.0f});
  b.node("Mul", {"c", "k"}, {"m"});
  b.node("Add", {"c", "m"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {});
  const auto path = temp_dir("fold_scale_shift_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 3, 3}, 2);
  PassRun r = run_with_and_without(path, {&passes::fold_scale_shift_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.rewrites, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
