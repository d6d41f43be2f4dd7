// fuse_layernorm: the decomposed LayerNorm (Pow and Mul(d, d) variants,
// with and without the bias Add) becomes one LayerNormalization; a pattern
// whose intermediate is read elsewhere stays. On the real rec model, all
// five fuse.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

// Writes the decomposed LayerNorm of x into y (value names prefixed by p).
void decomposed_layernorm(ModelBuilder& b, const std::string& x, const std::string& p, bool use_pow, bool bias,
                          const std::string& y) {
  set_ints(b.node("ReduceMean", {x}, {p + "mean"}), "axes", {-1});
  b.node("Sub", {x, p + "mean"}, {p + "d"});
  if (use_pow) {
    b.initializer(p + "two", {}, {2.0f});
    b.node("Pow", {p + "d", p + "two"}, {p + "sq"});
  } else {
    b.node("Mul", {p + "d", p + "d"}, {p + "sq"});
  }
  set_ints(b.node("ReduceMean", {p + "sq"}, {p + "var"}), "axes", {-1});
  b.initializer(p + "eps", {1}, {1e-5f});
  b.node("Add", {p + "eps", p + "var"}, {p + "ve"});
  b.node("Sqrt", {p + "ve"}, {p + "std"});
  b.node("Div", {p + "d", p + "std"}, {p + "n"});
  random_initializer(b, p + "gamma", {8}, 1, 0.5f, 1.5f);
  b.node("Mul", {p + "n", p + "gamma"}, {bias ? p + "g" : y});
  if (bias) {
    random_initializer(b, p + "beta", {8}, 2);
    b.node("Add", {p + "g", p + "beta"}, {y});
  }
}

TEST(FuseLayerNorm, BothSpellings) {
  ModelBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {2, 5, 8});
  decomposed_layernorm(b, "x", "a_", true, true, "y0");
  decomposed_layernorm(b, "y0", "b_", false, false, "y1");
  b.output("y1", onnx::TensorProto::FLOAT, {2, 5, 8});
  const auto path = temp_dir("fuse_layernorm") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {2, 5, 8}, 3, -3.0f, 3.0f);
  PassRun r = run_with_and_without(path, {&passes::fuse_layernorm_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-4, 1e-5);
  EXPECT_EQ(r.rewrites, 2);
  EXPECT_EQ(r.nodes_after, 2u);
  EXPECT_EQ(count_op(r.optimized, "LayerNormalization"), 2);
  for (const ir::Node& n : r.optimized.nodes) EXPECT_EQ(n.opset, 17);
}

TEST(FuseLayerNorm, KeepsPatternWithSharedIntermediate) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {3, 8});
  decomposed_layernorm(b, "x", "a_", true, true, "y");
  b.output("y", onnx::TensorProto::FLOAT, {3, 8});
  b.output("a_d", onnx::TensorProto::FLOAT, {3, 8});  // the centred x is read outside
  const auto path = temp_dir("fuse_layernorm_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {3, 8}, 4);
  PassRun r = run_with_and_without(path, {&passes::fuse_layernorm_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.rewrites, 0);
}

TEST(FuseLayerNorm, RecModelHasFive) {
  const auto path = models_dir() / "ch_PP-OCRv4_rec_infer.onnx";
  ASSERT_TRUE(std::filesystem::exists(path)) << "no " << path << " (scripts/fetch-models.sh)";
  auto g = onnx_import::load_model(path);
  ASSERT_TRUE(g.has_value());
  auto n = passes::fuse_layernorm_pass(*g);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 5);
  EXPECT_EQ(count_op(*g, "LayerNormalization"), 5);
  EXPECT_EQ(count_op(*g, "Sqrt"), 0);
  EXPECT_EQ(count_op(*g, "Pow"), 0);
}

}  // namespace
}  // namespace ecoinfer::testing
