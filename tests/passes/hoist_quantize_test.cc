// hoist_quantize: a per-tensor QuantizeLinear after Reshape/Transpose moves
// before them (same bits, since quantizing is elementwise); a per-axis one,
// and one after a data movement whose output has another reader, stay.
// The real-model check (DistilBERT int8, the heads' QuantizeLinear fused
// into their MatMuls) is in qdq_matmul_models_test.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

// x [2, 6, 8] -> Reshape [2, 6, 2, 4] -> Transpose (0, 2, 1, 3) -> QuantizeLinear(scale, zero) -> q
void heads_then_quantize(ModelBuilder& b, const std::string& p, const std::string& x, const std::string& q) {
  int64_initializer(b, p + "shape", {4}, {2, 6, 2, 4});
  b.node("Reshape", {x, p + "shape"}, {p + "r"});
  set_ints(b.node("Transpose", {p + "r"}, {p + "t"}), "perm", {0, 2, 1, 3});
  b.initializer(p + "scale", {}, {0.03f});
  const uint8_t zero = 121;
  raw_initializer(b, p + "zero", onnx::TensorProto::UINT8, {}, &zero, 1);
  b.node("QuantizeLinear", {p + "t", p + "scale", p + "zero"}, {q});
}

TEST(HoistQuantize, MovesPerTensorQuantizeBeforeReshapeAndTranspose) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 6, 8});
  heads_then_quantize(b, "a_", "x", "q");
  b.output("q", onnx::TensorProto::UINT8, {2, 2, 6, 4});
  const auto path = temp_dir("hoist_quantize") / "m.onnx";
  b.save(path);
  Tensor x = random_tensor(DataType::kFloat32, {2, 6, 8}, 3, -5.0f, 5.0f);
  x.data<float>()[7] = 0.03f * 2.5f;  // near a rounding tie
  x.data<float>()[9] = 100.0f;        // saturates
  PassRun r = run_with_and_without(path, {&passes::hoist_quantize_pass}, {{"x", x}}, false);
  EXPECT_EQ(r.rewrites, 2);
  EXPECT_EQ(r.nodes_after, r.nodes_before);
  expect_same_outputs(r, 0, 0);  // the same bytes
  ASSERT_EQ(r.optimized.nodes.size(), 3u);
  EXPECT_EQ(r.optimized.nodes[0].op_type, "QuantizeLinear");
  EXPECT_EQ(r.optimized.nodes[0].inputs[0], r.optimized.find_value("x"));
  EXPECT_EQ(r.optimized.nodes[2].op_type, "Transpose");
  EXPECT_EQ(r.optimized.nodes[2].outputs[0], r.optimized.find_value("q"));
}

TEST(HoistQuantize, KeepsPerAxisQuantizeAndSharedReshape) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 6, 8});
  // Per-axis: one scale per head (axis 1 of the transposed tensor).
  int64_initializer(b, "shape", {4}, {2, 6, 2, 4});
  b.node("Reshape", {"x", "shape"}, {"r"});
  set_ints(b.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1, 3});
  b.initializer("scales", {2}, {0.03f, 0.05f});
  const std::vector<uint8_t> zeros = {100, 130};
  raw_initializer(b, "zeros", onnx::TensorProto::UINT8, {2}, zeros);
  set_int(b.node("QuantizeLinear", {"t", "scales", "zeros"}, {"q_axis"}), "axis", 1);
  // The Reshape's output is also a graph output: the float copy must stay.
  b.initializer("scale", {}, {0.03f});
  b.node("QuantizeLinear", {"r", "scale"}, {"q_shared"});
  b.output("q_axis", onnx::TensorProto::UINT8, {2, 2, 6, 4});
  b.output("q_shared", onnx::TensorProto::UINT8, {2, 6, 2, 4});
  b.output("r", onnx::TensorProto::FLOAT, {2, 6, 2, 4});
  const auto path = temp_dir("hoist_quantize_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {2, 6, 8}, 4, -5.0f, 5.0f);
  PassRun r = run_with_and_without(path, {&passes::hoist_quantize_pass}, {{"x", x}}, false);
  EXPECT_EQ(r.rewrites, 0);
  expect_same_outputs(r, 0, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
