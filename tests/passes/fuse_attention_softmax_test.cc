// fuse_attention_softmax: Softmax(Add(scores, mask)) [-> QuantizeLinear]
// becomes one Softmax with the same outputs (the same bytes when
// quantized): the mask broadcast from [batch, 1, 1, n], a mask that enlarges
// the scores (the kernel's broadcasting path), a constant mask written
// first, row lengths off the 16-lane vectors; an opset-11 Softmax (2-D
// coercion) stays. DistilBERT int8 with the fusion is checked against ONNX
// Runtime by qdq_matmul_models_test, BERT/DistilBERT fp32 by tests/zoo.
#include "pass_test_util.h"

namespace ecoinfer::testing {
namespace {

// A mask row of 0 and -10000 (every third position padded), as a float
// tensor of `shape` (last dim n).
Tensor mask_tensor(const Shape& shape) {
  Tensor m = Tensor::zeros(DataType::kFloat32, shape);
  for (int64_t i = 0; i < m.numel(); ++i) m.data<float>()[i] = (i % 3 == 2) ? -10000.0f : 0.0f;
  return m;
}

void quantize_after(ModelBuilder& b, const std::string& p, const std::string& x, const std::string& q) {
  b.initializer(p + "scale", {}, {1.0f / 255.0f});
  const uint8_t zero = 0;
  raw_initializer(b, p + "zero", onnx::TensorProto::UINT8, {}, &zero, 1);
  b.node("QuantizeLinear", {x, p + "scale", p + "zero"}, {q});
}

TEST(FuseAttentionSoftmax, MaskAndQuantizeJoinTheSoftmax) {
  for (const int64_t n : {20, 128}) {
    ModelBuilder b(13);
    b.input("scores", onnx::TensorProto::FLOAT, {2, 3, 5, n});
    b.input("mask", onnx::TensorProto::FLOAT, {2, 1, 1, n});
    b.node("Add", {"scores", "mask"}, {"s"});
    b.node("Softmax", {"s"}, {"p"});  // axis -1 by default at opset 13
    quantize_after(b, "q_", "p", "q");
    // A second softmax, float output, with a constant mask written first.
    std::vector<float> row(static_cast<size_t>(n), 0.0f);
    for (int64_t j = 0; j < n; j += 4) row[static_cast<size_t>(j)] = -10000.0f;
    b.initializer("const_mask", {n}, row);
    b.node("Add", {"const_mask", "scores"}, {"s2"});
    set_int(b.node("Softmax", {"s2"}, {"p2"}), "axis", -1);
    b.output("q", onnx::TensorProto::UINT8, {2, 3, 5, n});
    b.output("p2", onnx::TensorProto::FLOAT, {2, 3, 5, n});
    const auto path = temp_dir("fuse_attention_softmax") / "m.onnx";
    b.save(path);
    const Tensor scores = random_tensor(DataType::kFloat32, {2, 3, 5, n}, 7, -6.0f, 6.0f);
    PassRun r = run_with_and_without(path, {&passes::fuse_attention_softmax_pass},
                                     {{"scores", scores}, {"mask", mask_tensor({2, 1, 1, n})}}, false);
    EXPECT_EQ(r.rewrites, 3) << "n " << n;
    EXPECT_EQ(r.nodes_after, 2u) << "n " << n;
    EXPECT_EQ(count_op(r.optimized, "QuantizeLinear"), 0);
    expect_same_outputs(r, 0, 0);  // the same row kernel on the same sums: the same bits
  }
}

TEST(FuseAttentionSoftmax, MaskThatEnlargesTheScores) {
  ModelBuilder b(13);
  b.input("scores", onnx::TensorProto::FLOAT, {1, 3, 4, 24});
  b.input("mask", onnx::TensorProto::FLOAT, {2, 1, 1, 24});
  b.node("Add", {"scores", "mask"}, {"s"});
  b.node("Softmax", {"s"}, {"p"});
  b.output("p", onnx::TensorProto::FLOAT, {2, 3, 4, 24});
  const auto path = temp_dir("fuse_attention_softmax_enlarge") / "m.onnx";
  b.save(path);
  const Tensor scores = random_tensor(DataType::kFloat32, {1, 3, 4, 24}, 8, -6.0f, 6.0f);
  PassRun r = run_with_and_without(path, {&passes::fuse_attention_softmax_pass},
                                   {{"scores", scores}, {"mask", mask_tensor({2, 1, 1, 24})}}, false);
  EXPECT_EQ(r.rewrites, 1);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].tensor.shape(), (Shape{2, 3, 4, 24}));
  expect_same_outputs(r, 0, 0);
}

TEST(FuseAttentionSoftmax, KeepsOpset11Softmax) {
  ModelBuilder b(11);
  b.input("scores", onnx::TensorProto::FLOAT, {2, 4, 8});
  b.input("mask", onnx::TensorProto::FLOAT, {2, 1, 8});
  b.node("Add", {"scores", "mask"}, {"s"});
  set_int(b.node("Softmax", {"s"}, {"p"}), "axis", -1);
  b.output("p", onnx::TensorProto::FLOAT, {2, 4, 8});
  const auto path = temp_dir("fuse_attention_softmax_opset11") / "m.onnx";
  b.save(path);
  const Tensor scores = random_tensor(DataType::kFloat32, {2, 4, 8}, 9, -3.0f, 3.0f);
  PassRun r = run_with_and_without(path, {&passes::fuse_attention_softmax_pass},
                                   {{"scores", scores}, {"mask", mask_tensor({2, 1, 8})}}, false);
  EXPECT_EQ(r.rewrites, 0);
  expect_same_outputs(r, 0, 0);
}

}  // namespace
}  // namespace ecoinfer::testing
