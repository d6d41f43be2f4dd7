// constant_folding: nodes of constants run once at load; Shape of a fully
// declared value folds, a symbolic one does not; huge outputs stay nodes.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

// y = Reshape(x + (a * 2 + 1), [-1, dim1(x)]), the shape computed from
// Shape -> Gather -> Unsqueeze -> Concat as exporters write it.
std::filesystem::path shape_model(const std::string& name, const std::vector<int64_t>& x_dims) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, x_dims);
  b.initializer("a", {3}, {1, 2, 3});
  b.initializer("two", {}, {2});
  b.initializer("one", {}, {1});
  int64_initializer(b, "idx", {}, {1});
  int64_initializer(b, "axes0", {1}, {0});
  int64_initializer(b, "minus1", {1}, {-1});
  b.node("Mul", {"a", "two"}, {"a2"});
  b.node("Add", {"a2", "one"}, {"a21"});
  b.node("Add", {"x", "a21"}, {"sum"});
  b.node("Shape", {"x"}, {"shape"});
  set_int(b.node("Gather", {"shape", "idx"}, {"dim1"}), "axis", 0);
  b.node("Unsqueeze", {"dim1", "axes0"}, {"dim1v"});
  set_int(b.node("Concat", {"minus1", "dim1v"}, {"new_shape"}), "axis", 0);
  b.node("Reshape", {"sum", "new_shape"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3});
  const auto path = temp_dir("constant_folding") / (name + ".onnx");
  b.save(path);
  return path;
}

TEST(ConstantFolding, FoldsArithmeticAndStaticShape) {
  const Tensor x = random_tensor(DataType::kFloat32, {2, 3}, 1);
  PassRun r = run_with_and_without(shape_model("static", {2, 3}), {&passes::constant_folding_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.nodes_before, 8u);
  EXPECT_EQ(r.nodes_after, 2u);  // Add and Reshape
  EXPECT_EQ(r.rewrites, 6);
  EXPECT_EQ(count_op(r.optimized, "Shape"), 0);
}

TEST(ConstantFolding, LeavesShapeOfSymbolicDims) {
  const Tensor x = random_tensor(DataType::kFloat32, {4, 3}, 2);
  PassRun r = run_with_and_without(shape_model("symbolic", {-1, 3}), {&passes::constant_folding_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.nodes_after, 6u);  // the Mul and Add of constants folded, the shape chain kept
  EXPECT_EQ(count_op(r.optimized, "Shape"), 1);
}

TEST(ConstantFolding, DoesNotMaterializeHugeConstants) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1});
  int64_initializer(b, "big", {2}, {1 << 20, 1 << 12});  // 4 Gi elements
  b.node("ConstantOfShape", {"big"}, {"c"});
  b.node("Add", {"x", "c"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, -1});
  const auto path = temp_dir("constant_folding_huge") / "m.onnx";
  b.save(path);
  auto g = onnx_import::load_model(path);
  ASSERT_TRUE(g.has_value());
  auto n = passes::constant_folding_pass(*g);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(g->nodes.size(), 2u);
}

}  // namespace
}  // namespace ecoinfer::testing
