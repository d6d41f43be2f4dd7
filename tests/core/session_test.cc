// The Session API contract: loading errors, input checks, concurrency,
// shape changes without reload, buffer reuse across runs.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

// y = x * 2 + 1 along a symbolic batch, with a Constant node and an initializer.
fs::path affine_model(const fs::path& dir, int64_t opset = 13) {
  testing::ModelBuilder b(opset);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3});
  b.initializer("two", {1}, {2.0f});
  auto* c = b.node("Constant", {}, {"one"});
  auto* a = c->add_attribute();
  a->set_name("value_float");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1.0f);
  b.node("Mul", {"x", "two"}, {"t"});
  b.node("Add", {"t", "one"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3});
  b.save(dir / "affine.onnx");
  return dir / "affine.onnx";
}

Tensor expected_affine(const Tensor& x) {
  Tensor y = x.clone();
  for (float& v : y.span<float>()) v = v * 2 + 1;
  return y;
}

TEST(Session, DescribesInputsAndOutputs) {
  auto s = Session::load(affine_model(testing::temp_dir("session_describe")), {.optimize = false});
  ASSERT_TRUE(s) << s.status().message();
  ASSERT_EQ((*s)->inputs().size(), 1u);
  EXPECT_EQ((*s)->inputs()[0].name, "x");
  EXPECT_EQ((*s)->inputs()[0].dtype, DataType::kFloat32);
  EXPECT_EQ((*s)->inputs()[0].shape_string(), "d0x3");
  EXPECT_EQ((*s)->summary().node_count, 2);  // the Constant became a constant; nothing fused
}

TEST(Session, NewInputShapeNeedsNoReloadAndBuffersAreReusedSafely) {
  auto s = Session::load(affine_model(testing::temp_dir("session_shapes")));
  ASSERT_TRUE(s) << s.status().message();
  for (int64_t batch : {1, 5, 1, 2, 5}) {
    Tensor x = testing::random_tensor(DataType::kFloat32, {batch, 3}, static_cast<uint32_t>(batch));
    auto out = (*s)->run({{"x", x}});
    ASSERT_TRUE(out) << out.status().message();
    EXPECT_TRUE(testing::tensors_close((*out)[0].tensor, expected_affine(x))) << "batch " << batch;
  }
}

TEST(Session, OutputsDoNotChangeWhenTheSessionRunsAgain) {
  auto s = Session::load(affine_model(testing::temp_dir("session_outputs_owned")));
  ASSERT_TRUE(s);
  Tensor x1 = testing::random_tensor(DataType::kFloat32, {2, 3}, 1);
  Tensor x2 = testing::random_tensor(DataType::kFloat32, {2, 3}, 2);
  auto first = (*s)->run({{"x", x1}});
  auto second = (*s)->run({{"x", x2}});
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(testing::tensors_close((*first)[0].tensor, expected_affine(x1)));
}

TEST(Session, RunsConcurrentlyFromSeveralThreads) {
  auto s = Session::load(affine_model(testing::temp_dir("session_threads")), {.threads = 1});
  ASSERT_TRUE(s);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        Tensor x = testing::random_tensor(DataType::kFloat32, {1 + (t + i) % 7, 3}, static_cast<uint32_t>(t * 100 + i));
        auto out = (*s)->run({{"x", x}});
        if (!out || !testing::tensors_close((*out)[0].tensor, expected_affine(x))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Session, InputGivenTwiceIsAnError) {
  auto s = Session::load(affine_model(testing::temp_dir("session_twice")));
  ASSERT_TRUE(s);
  Tensor x = Tensor::zeros(DataType::kFloat32, {1, 3});
  auto out = (*s)->run({{"x", x}, {"x", x}});
  ASSERT_FALSE(out);
  EXPECT_NE(out.status().message().find("given twice"), std::string::npos);
}

TEST(Session, OpsetOutsideTheSupportedRangeIsRefusedWithAHint) {
  const auto dir = testing::temp_dir("session_opset");
  auto s = Session::load(affine_model(dir, 19));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.status().message().find("opset 19"), std::string::npos) << s.status().message();
}

TEST(Session, UndefinedValueIsAModelError) {
  const auto dir = testing::temp_dir("session_undefined");
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Add", {"x", "ghost"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2});
  b.save(dir / "m.onnx");
  auto s = Session::load(dir / "m.onnx");
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("'ghost'"), std::string::npos) << s.status().message();
}

TEST(Session, NegativeThreadCountIsRefused) {
  auto s = Session::load(affine_model(testing::temp_dir("session_neg_threads")), {.threads = -2});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

TEST(Tensor, ResizeReusesALargeEnoughUnsharedBuffer) {
  Tensor t = Tensor::zeros(DataType::kFloat32, {4, 4});
  const void* before = t.raw_data();
  t.resize(DataType::kFloat32, {2, 4});
  EXPECT_EQ(t.raw_data(), before);
  Tensor shared = t;  // a second handle: resizing must not hand its buffer away
  t.resize(DataType::kFloat32, {2, 2});
  EXPECT_NE(t.raw_data(), shared.raw_data());
}

TEST(Flops, CountsMatrixProductsExactly) {
  NodeTrace mm{"mm", "MatMul", {{2, 8, 16}, {16, 4}}, {{2, 8, 4}}, 0};
  NodeTrace conv{"c", "Conv", {{1, 3, 10, 10}, {8, 3, 3, 3}}, {{1, 8, 8, 8}}, 0};
  EXPECT_EQ(estimate_flops({mm}), 2 * 2 * 8 * 4 * 16);
  EXPECT_EQ(estimate_flops({conv}), 2 * 8 * 8 * 8 * 3 * 3 * 3);
}

// The first run of a shape frees intermediates as soon as their last reader
// is done; its trace must still show every input's shape (FLOP estimates
// and the quantizer's calibration read them).
TEST(Session, FirstRunTraceHasTheShapesOfFreedIntermediates) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {2, 8});
  b.node("Relu", {"x"}, {"r"});
  b.initializer("w", {8, 4}, std::vector<float>(32, 0.5f));
  b.node("MatMul", {"r", "w"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {2, 4});
  auto s = testing::save_and_load(b, "trace_first_run");
  ASSERT_TRUE(s) << s.status().message();
  const std::vector<NamedTensor> in = {{"x", testing::random_tensor(DataType::kFloat32, {2, 8}, 1)}};
  std::vector<NodeTrace> first, second;
  ASSERT_TRUE((*s)->run(in, &first));
  ASSERT_TRUE((*s)->run(in, &second));
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].input_shapes, second[i].input_shapes) << first[i].name;
  EXPECT_EQ(estimate_flops(first), 2 * 2 * 4 * 8 + 2 * 8);
}

}  // namespace
}  // namespace ecoinfer
