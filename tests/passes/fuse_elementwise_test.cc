// fuse_elementwise: chains of element-wise ops become one FusedElementwise
// node with the same results; intermediates read elsewhere or that are
// graph outputs are kept; integer chains stay. Every op the kernel knows is
// checked against its reference kernel.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

std::filesystem::path save(ModelBuilder& b, const std::string& name) {
  const auto path = temp_dir("fuse_elementwise_" + name) / "m.onnx";
  b.save(path);
  return path;
}

TEST(FuseElementwise, HardSwishAffineChain) {
  ModelBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {2, 3, 7, 9});
  b.initializer("three", {}, {3.0f});
  b.initializer("six", {}, {6.0f});
  b.initializer("w", {1}, {0.75f});
  b.initializer("bias", {1}, {-0.25f});
  b.node("Add", {"x", "three"}, {"a"});
  onnx::NodeProto* clip = b.node("Clip", {"a"}, {"c"});
  set_float(clip, "min", 0.0f);
  set_float(clip, "max", 6.0f);
  b.node("Mul", {"x", "c"}, {"m"});
  b.node("Div", {"m", "six"}, {"hs"});
  b.node("Mul", {"w", "hs"}, {"s"});
  b.node("Add", {"s", "bias"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 3, 7, 9});
  const Tensor x = random_tensor(DataType::kFloat32, {2, 3, 7, 9}, 1, -5.0f, 5.0f);
  PassRun r = run_with_and_without(save(b, "hswish"), {&passes::fuse_elementwise_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-6, 1e-6);
  EXPECT_EQ(r.rewrites, 1);
  EXPECT_EQ(r.nodes_after, 1u);
  EXPECT_EQ(count_op(r.optimized, "FusedElementwise"), 1);
}

TEST(FuseElementwise, SwishLargeTensorWithTail) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {7, 10007});  // OpenMP path and a partial last block
  b.initializer("k", {}, {1.0f});
  b.node("Mul", {"x", "k"}, {"xk"});
  b.node("Sigmoid", {"xk"}, {"s"});
  b.node("Mul", {"x", "s"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {7, 10007});
  const Tensor x = random_tensor(DataType::kFloat32, {7, 10007}, 2, -8.0f, 8.0f);
  PassRun r = run_with_and_without(save(b, "swish"), {&passes::fuse_elementwise_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-6, 1e-7);
  EXPECT_EQ(r.nodes_after, 1u);
}

TEST(FuseElementwise, KeepsIntermediatesReadElsewhere) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {3, 4});
  b.node("Relu", {"x"}, {"r"});      // a graph output: the chain cannot swallow it
  b.node("Sigmoid", {"r"}, {"s"});
  b.node("Tanh", {"s"}, {"t"});      // read by Transpose too: the chain ends here
  b.node("Transpose", {"t"}, {"tt"});
  b.node("Exp", {"t"}, {"e"});
  b.node("Neg", {"e"}, {"n"});
  b.output("r", onnx::TensorProto::FLOAT, {3, 4});
  b.output("tt", onnx::TensorProto::FLOAT, {4, 3});
  b.output("n", onnx::TensorProto::FLOAT, {3, 4});
  const Tensor x = random_tensor(DataType::kFloat32, {3, 4}, 3);
  PassRun r = run_with_and_without(save(b, "shared"), {&passes::fuse_elementwise_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-6, 1e-7);
  EXPECT_EQ(r.rewrites, 2);  // Sigmoid+Tanh, Exp+Neg
  EXPECT_EQ(count_op(r.optimized, "Relu"), 1);
  EXPECT_EQ(count_op(r.optimized, "Transpose"), 1);
  EXPECT_EQ(count_op(r.optimized, "FusedElementwise"), 2);
}

TEST(FuseElementwise, LeavesIntegerChains) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::INT64, {4});
  int64_initializer(b, "one", {}, {1});
  b.node("Add", {"x", "one"}, {"a"});
  b.node("Neg", {"a"}, {"y"});
  b.output("y", onnx::TensorProto::INT64, {4});
  auto g = onnx_import::load_model(save(b, "int"));
  ASSERT_TRUE(g.has_value());
  auto n = passes::fuse_elementwise_pass(*g);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0);
}

// Each op between two scalar steps, compared with its own kernel.
TEST(FuseElementwise, EveryOpMatchesItsKernel) {
  const char* kOps[] = {"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Exp",
                        "Log", "Sqrt", "Neg", "Reciprocal", "Abs", "Clip", "Floor", "Ceil", "Elu",
                        "Add", "Sub", "Mul", "Div", "Pow"};
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {5, 301});
    b.initializer("k", {}, {1.5f});
    b.initializer("lo", {}, {-0.5f});
    b.initializer("hi", {}, {2.0f});
    b.initializer("two", {}, {2.0f});
    b.node("Mul", {"x", "k"}, {"a"});
    const std::string o(op);
    const bool positive = o == "Log" || o == "Sqrt" || o == "Pow";
    if (positive) b.node("Abs", {"a"}, {"a2"});
    const std::string in = positive ? "a2" : "a";
    if (o == "Clip") b.node("Clip", {in, "lo", "hi"}, {"o"});
    else if (o == "Pow") b.node("Pow", {in, "k"}, {"o"});
    else if (o == "Add" || o == "Mul") b.node(op, {in, "a"}, {"o"});  // two registers
    else if (o == "Sub" || o == "Div") b.node(op, {"two", in}, {"o"});  // scalar on the left
    else b.node(op, {in}, {"o"});
    b.node("Sub", {"o", "two"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {5, 301});
    const Tensor x = random_tensor(DataType::kFloat32, {5, 301}, 4, -6.0f, 6.0f);
    PassRun r = run_with_and_without(save(b, o), {&passes::fuse_elementwise_pass}, {{"x", x}});
    expect_same_outputs(r, 1e-6, 1e-6);
    EXPECT_EQ(r.nodes_after, 1u);
  }
}

}  // namespace
}  // namespace ecoinfer::testing
