// fuse_scaled_residual: x + x * gate becomes x * (1 + gate) (det's RSE
// layers, a squeeze-excitation product added to its input), with the same
// outputs (float rounding apart); a product read elsewhere, a gate that
// is no HardSigmoid/Sigmoid output, and x + y * gate stay as written.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

// x -> GlobalAveragePool -> Conv 1x1 -> HardSigmoid = s; y = Add(x, Mul(x, s)).
std::filesystem::path se_residual(const std::string& name, bool add_reads_x_second, bool product_is_output,
                                  const std::string& gate_op, bool multiply_other) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 6, 9, 7});
  b.input("z", onnx::TensorProto::FLOAT, {2, 6, 9, 7});
  random_initializer(b, "w", {6, 6, 1, 1}, 3);
  b.node("GlobalAveragePool", {"x"}, {"g"});
  b.node("Conv", {"g", "w"}, {"c"});
  b.node(gate_op, {"c"}, {"s"});
  b.node("Mul", {"s", multiply_other ? "z" : "x"}, {"m"});
  b.node("Add", add_reads_x_second ? std::vector<std::string>{"m", "x"} : std::vector<std::string>{"x", "m"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 6, 9, 7});
  if (product_is_output) b.output("m", onnx::TensorProto::FLOAT, {2, 6, 9, 7});
  const auto path = temp_dir("fuse_scaled_residual_" + name) / "m.onnx";
  b.save(path);
  return path;
}

PassRun run(const std::filesystem::path& model) {
  const Tensor x = random_tensor(DataType::kFloat32, {2, 6, 9, 7}, 1, -3.0f, 3.0f);
  const Tensor z = random_tensor(DataType::kFloat32, {2, 6, 9, 7}, 2, -3.0f, 3.0f);
  return run_with_and_without(model, {&passes::fuse_scaled_residual_pass}, {{"x", x}, {"z", z}}, false);
}

TEST(FuseScaledResidual, GateResidualBecomesOneMul) {
  for (bool second : {false, true}) {
    for (const char* gate : {"HardSigmoid", "Sigmoid"}) {
      PassRun r = run(se_residual(std::string(gate) + (second ? "_second" : "_first"), second, false, gate, false));
      EXPECT_EQ(r.rewrites, 1) << gate;
      expect_same_outputs(r, 1e-5, 1e-6);
      // The Add left is 1 + s on [2, 6, 1, 1]; the Mul reads x and it.
      EXPECT_EQ(count_op(r.optimized, "Add"), 1);
      EXPECT_EQ(count_op(r.optimized, "Mul"), 1);
      for (const ir::Node& n : r.optimized.nodes) {
        if (n.op_type == "Mul") EXPECT_EQ(r.optimized.name_of(n.inputs[0]), "x");
      }
    }
  }
}

TEST(FuseScaledResidual, OtherShapesStay) {
  EXPECT_EQ(run(se_residual("product_read_elsewhere", false, true, "HardSigmoid", false)).rewrites, 0);
  EXPECT_EQ(run(se_residual("not_a_gate", false, false, "Relu", false)).rewrites, 0);
  PassRun other = run(se_residual("other_tensor", false, false, "HardSigmoid", true));
  EXPECT_EQ(other.rewrites, 0);
  expect_same_outputs(other);
}

}  // namespace
}  // namespace ecoinfer::testing
