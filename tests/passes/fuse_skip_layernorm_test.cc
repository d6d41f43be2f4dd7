// fuse_skip_layernorm: Add(a, b) -> LayerNormalization becomes one
// LayerNormalization reading both operands, with the same outputs; operands
// of different shapes are broadcast by the kernel like Add; an Add whose sum
// is read elsewhere, or that adds a constant, stays. The real encoders
// (BERT, DistilBERT) are checked against ONNX Runtime by tests/zoo.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

void layer_norm(ModelBuilder& b, const std::string& p, const std::string& x, const std::string& y, int64_t n) {
  std::vector<float> gamma(static_cast<size_t>(n)), beta(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    gamma[static_cast<size_t>(i)] = 0.5f + 0.01f * static_cast<float>(i);
    beta[static_cast<size_t>(i)] = 0.1f - 0.02f * static_cast<float>(i);
  }
  b.initializer(p + "gamma", {n}, gamma);
  b.initializer(p + "beta", {n}, beta);
  set_float(b.node("LayerNormalization", {x, p + "gamma", p + "beta"}, {y}), "epsilon", 1e-5f);
}

TEST(FuseSkipLayerNorm, ResidualAddJoinsTheLayerNorm) {
  // Two encoder-style blocks: y1 = LN(x + r), y2 = LN(y1 + r) with r
  // broadcast from one row (the kernel's broadcasting path).
  ModelBuilder b(17);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5, 48});
  b.input("r", onnx::TensorProto::FLOAT, {2, 5, 48});
  b.input("row", onnx::TensorProto::FLOAT, {48});
  b.node("Add", {"x", "r"}, {"s1"});
  layer_norm(b, "a_", "s1", "y1", 48);
  b.node("Add", {"row", "y1"}, {"s2"});
  layer_norm(b, "b_", "s2", "y2", 48);
  b.output("y2", onnx::TensorProto::FLOAT, {2, 5, 48});
  const auto path = temp_dir("fuse_skip_layernorm") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {2, 5, 48}, 1, -3.0f, 3.0f);
  const Tensor r = random_tensor(DataType::kFloat32, {2, 5, 48}, 2, -3.0f, 3.0f);
  const Tensor row = random_tensor(DataType::kFloat32, {48}, 3, -1.0f, 1.0f);
  PassRun run = run_with_and_without(path, {&passes::fuse_skip_layernorm_pass}, {{"x", x}, {"r", r}, {"row", row}},
                                     false);
  EXPECT_EQ(run.rewrites, 2);
  EXPECT_EQ(run.nodes_after, 2u);
  EXPECT_EQ(count_op(run.optimized, "Add"), 0);
  expect_same_outputs(run, 1e-5, 1e-5);
}

TEST(FuseSkipLayerNorm, KeepsSharedSumAndConstantAdd) {
  ModelBuilder b(17);
  b.input("x", onnx::TensorProto::FLOAT, {3, 32});
  b.input("r", onnx::TensorProto::FLOAT, {3, 32});
  b.node("Add", {"x", "r"}, {"s"});  // s is also a graph output
  layer_norm(b, "a_", "s", "y1", 32);
  std::vector<float> bias(32, 0.25f);
  b.initializer("bias", {32}, bias);
  b.node("Add", {"y1", "bias"}, {"t"});  // a constant: a bias, not a skip
  layer_norm(b, "b_", "t", "y2", 32);
  b.output("s", onnx::TensorProto::FLOAT, {3, 32});
  b.output("y2", onnx::TensorProto::FLOAT, {3, 32});
  const auto path = temp_dir("fuse_skip_layernorm_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {3, 32}, 4, -2.0f, 2.0f);
  const Tensor r = random_tensor(DataType::kFloat32, {3, 32}, 5, -2.0f, 2.0f);
  PassRun run = run_with_and_without(path, {&passes::fuse_skip_layernorm_pass}, {{"x", x}, {"r", r}}, false);
  EXPECT_EQ(run.rewrites, 0);
  expect_same_outputs(run, 0, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
