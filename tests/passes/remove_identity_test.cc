// remove_identity: Identity and inference Dropout go, readers rewired; an
// Identity that writes a graph output renames its input instead, and one
// that copies a graph input to an output stays.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

TEST(RemoveIdentity, RemovesAndKeepsOutputNames) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5});
  b.node("Relu", {"x"}, {"a"});
  b.node("Identity", {"a"}, {"b"});
  b.node("Dropout", {"b"}, {"c"});
  b.node("Sigmoid", {"c"}, {"s"});
  b.node("Identity", {"s"}, {"y"});   // a graph output: s is renamed to y
  b.node("Identity", {"x"}, {"y2"});  // graph input to graph output: stays
  b.output("y", onnx::TensorProto::FLOAT, {2, 5});
  b.output("y2", onnx::TensorProto::FLOAT, {2, 5});
  const auto path = temp_dir("remove_identity") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {2, 5}, 3);
  PassRun r = run_with_and_without(path, {&passes::remove_identity_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.rewrites, 3);
  EXPECT_EQ(r.nodes_before, 6u);
  EXPECT_EQ(r.nodes_after, 3u);
  EXPECT_EQ(count_op(r.optimized, "Identity"), 1);
  EXPECT_EQ(count_op(r.optimized, "Dropout"), 0);
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].name, "y");
  EXPECT_EQ(r.outputs[1].name, "y2");
}

TEST(RemoveIdentity, KeepsTrainingDropoutAndReadMask) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5});
  b.node("Dropout", {"x"}, {"d", "mask"});
  b.node("Relu", {"d"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 5});
  b.output("mask", onnx::TensorProto::BOOL, {2, 5});
  const auto path = temp_dir("remove_identity_mask") / "m.onnx";
  b.save(path);
  auto g = onnx_import::load_model(path);
  ASSERT_TRUE(g.has_value());
  auto n = passes::remove_identity_pass(*g);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
