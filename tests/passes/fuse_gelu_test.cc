// fuse_gelu: the three spellings of the erf GELU (0.5 last, first, or on
// the (1 + erf) side; Div by sqrt 2 or Mul by 1/sqrt 2) become Gelu.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

enum class Half { kLast, kFirst, kInner };

void gelu(ModelBuilder& b, const std::string& x, const std::string& p, bool use_div, Half half,
          const std::string& y) {
  if (use_div) {
    b.initializer(p + "s2", {}, {1.4142135f});
    b.node("Div", {x, p + "s2"}, {p + "u"});
  } else {
    b.initializer(p + "r2", {1}, {0.70710677f});
    b.node("Mul", {p + "r2", x}, {p + "u"});
  }
  b.node("Erf", {p + "u"}, {p + "e"});
  b.initializer(p + "one", {}, {1.0f});
  b.node("Add", {p + "one", p + "e"}, {p + "p"});
  b.initializer(p + "half", {}, {0.5f});
  switch (half) {
    case Half::kLast:
      b.node("Mul", {x, p + "p"}, {p + "m"});
      b.node("Mul", {p + "m", p + "half"}, {y});
      break;
    case Half::kFirst:
      b.node("Mul", {x, p + "half"}, {p + "h"});
      b.node("Mul", {p + "h", p + "p"}, {y});
      break;
    case Half::kInner:
      b.node("Mul", {p + "p", p + "half"}, {p + "m"});
      b.node("Mul", {x, p + "m"}, {y});
      break;
  }
}

TEST(FuseGelu, ThreeSpellings) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {4, 16});
  gelu(b, "x", "a_", true, Half::kLast, "y0");
  gelu(b, "y0", "b_", false, Half::kFirst, "y1");
  gelu(b, "y1", "c_", true, Half::kInner, "y2");
  b.output("y2", onnx::TensorProto::FLOAT, {4, 16});
  const auto path = temp_dir("fuse_gelu") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {4, 16}, 1, -4.0f, 4.0f);
  PassRun r = run_with_and_without(path, {&passes::fuse_gelu_pass}, {{"x", x}});
  expect_same_outputs(r, 1e-5, 1e-6);
  EXPECT_EQ(r.rewrites, 3);
  EXPECT_EQ(r.nodes_after, 3u);
  EXPECT_EQ(count_op(r.optimized, "Gelu"), 3);
}

TEST(FuseGelu, KeepsWrongConstant) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {4});
  b.initializer("s", {}, {2.0f});  // not sqrt(2)
  b.node("Div", {"x", "s"}, {"u"});
  b.node("Erf", {"u"}, {"e"});
  b.initializer("one", {}, {1.0f});
  b.node("Add", {"e", "one"}, {"p"});
  b.node("Mul", {"x", "p"}, {"m"});
  b.initializer("half", {}, {0.5f});
  b.node("Mul", {"m", "half"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {4});
  const auto path = temp_dir("fuse_gelu_keep") / "m.onnx";
  b.save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {4}, 2);
  PassRun r = run_with_and_without(path, {&passes::fuse_gelu_pass}, {{"x", x}});
  EXPECT_EQ(r.rewrites, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
