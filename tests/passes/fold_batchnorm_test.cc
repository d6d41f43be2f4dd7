// fold_batchnorm: BN after Conv (with and without bias, grouped),
// ConvTranspose and Gemm folds into the weights; a Conv whose output is
// also a graph output keeps its BN; in the whole pipeline, a BN behind a
// bias Add (det's head) folds once the Add has.
#include "pass_test_util.h"
#include "passes/pass.h"

namespace ecoinfer::testing {
namespace {

// BN parameters bn<i>.{s,b,m,v} for `channels` channels (variance > 0).
void bn_params(ModelBuilder& b, const std::string& p, int64_t channels, uint32_t seed) {
  random_initializer(b, p + ".s", {channels}, seed, 0.5f, 1.5f);
  random_initializer(b, p + ".b", {channels}, seed + 1);
  random_initializer(b, p + ".m", {channels}, seed + 2);
  random_initializer(b, p + ".v", {channels}, seed + 3, 0.1f, 2.0f);
}

onnx::NodeProto* bn(ModelBuilder& b, const std::string& x, const std::string& p, const std::string& y) {
  onnx::NodeProto* n = b.node("BatchNormalization", {x, p + ".s", p + ".b", p + ".m", p + ".v"}, {y});
  set_float(n, "epsilon", 1e-3f);
  return n;
}

TEST(FoldBatchNorm, ConvConvTransposeGemm) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 6, 6});
  b.input("g", onnx::TensorProto::FLOAT, {3, 5});
  // Conv without bias -> BN -> Relu.
  random_initializer(b, "w0", {6, 4, 3, 3}, 10);
  b.node("Conv", {"x", "w0"}, {"c0"});
  bn_params(b, "bn0", 6, 20);
  bn(b, "c0", "bn0", "n0");
  b.node("Relu", {"n0"}, {"y0"});
  // Grouped Conv with bias -> BN.
  random_initializer(b, "w1", {6, 2, 1, 1}, 11);
  random_initializer(b, "b1", {6}, 12);
  set_int(b.node("Conv", {"x", "w1", "b1"}, {"c1"}), "group", 2);
  bn_params(b, "bn1", 6, 30);
  bn(b, "c1", "bn1", "y1");
  // Grouped ConvTranspose -> BN: W is [C_in, C_out/group, k, k].
  random_initializer(b, "w2", {4, 3, 2, 2}, 13);
  onnx::NodeProto* ct = b.node("ConvTranspose", {"x", "w2"}, {"c2"});
  set_int(ct, "group", 2);
  set_ints(ct, "strides", {2, 2});
  bn_params(b, "bn2", 6, 40);
  bn(b, "c2", "bn2", "y2");
  // Gemm with transB and a [N] bias -> BN.
  random_initializer(b, "w3", {7, 5}, 14);
  random_initializer(b, "b3", {7}, 15);
  onnx::NodeProto* gemm = b.node("Gemm", {"g", "w3", "b3"}, {"c3"});
  set_int(gemm, "transB", 1);
  set_float(gemm, "alpha", 0.5f);
  set_float(gemm, "beta", 2.0f);
  bn_params(b, "bn3", 7, 50);
  bn(b, "c3", "bn3", "y3");
  for (const char* y : {"y0", "y1", "y2", "y3"}) b.output(y, onnx::TensorProto::FLOAT, {});
  const auto path = temp_dir("fold_batchnorm") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 4, 6, 6}, 1);
  const Tensor g = random_tensor(DataType::kFloat32, {3, 5}, 2);
  PassRun r = run_with_and_without(path, {&passes::fold_batchnorm_pass}, {{"x", x}, {"g", g}});
  expect_same_outputs(r, 1e-4, 1e-5);
  EXPECT_EQ(r.rewrites, 4);
  EXPECT_EQ(count_op(r.optimized, "BatchNormalization"), 0);
  EXPECT_EQ(r.nodes_after, r.nodes_before - 4);
}

// PP-OCRv4 det's head: ConvTranspose -> Add(per-channel bias) -> BN. The
// Add folds first (fold_scale_shift), then the BN can: the pipeline must
// give fold_batchnorm a second look after fold_scale_shift.
TEST(FoldBatchNorm, PipelineFoldsBnBehindABiasAdd) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 4, 5, 5});
  random_initializer(b, "w", {4, 3, 2, 2}, 5);
  set_ints(b.node("ConvTranspose", {"x", "w"}, {"c"}), "strides", {2, 2});
  random_initializer(b, "bias", {1, 3, 1, 1}, 6);
  b.node("Add", {"c", "bias"}, {"a"});
  bn_params(b, "bn", 3, 7);
  bn(b, "a", "bn", "y");
  b.output("y", onnx::TensorProto::FLOAT, {});
  const auto path = temp_dir("fold_batchnorm_after_add") / "m.onnx";
  b.save(path);
  std::vector<PassFunction> pipeline;
  for (const passes::Pass& pass : passes::optimization_pipeline()) pipeline.push_back(pass.apply);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 4, 5, 5}, 8);
  PassRun r = run_with_and_without(path, pipeline, {{"x", x}});
  expect_same_outputs(r, 1e-4, 1e-5);
  EXPECT_EQ(count_op(r.optimized, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(r.optimized, "Add"), 0);
  EXPECT_EQ(r.nodes_after, 1);
}

TEST(FoldBatchNorm, KeepsWhenConvOutputIsReadElsewhere) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 2, 4, 4});
  random_initializer(b, "w", {3, 2, 1, 1}, 1);
  b.node("Conv", {"x", "w"}, {"c"});
  bn_params(b, "bn", 3, 2);
  bn(b, "c", "bn", "y");
  b.output("y", onnx::TensorProto::FLOAT, {});
  b.output("c", onnx::TensorProto::FLOAT, {});
  const auto path = temp_dir("fold_batchnorm_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 2, 4, 4}, 3);
  PassRun r = run_with_and_without(path, {&passes::fold_batchnorm_pass}, {{"x", x}});
  expect_same_outputs(r, 0, 0);
  EXPECT_EQ(r.rewrites, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
