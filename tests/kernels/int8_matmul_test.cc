// MatMulInteger on oneDNN's int8 matmul (B a constant: kernels/cpu/matmul.cc)
// against the plain reference kernel (B a graph input:
// kernels/ref/quant_matmul.cc), on many shapes: tile boundaries (K and N
// of 1, 15, 17, 64, 100), batch dims on A, uint8 and int8 A with zero
// points over the full range. Integer products are exact, so the two must
// be equal element for element.
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::ModelBuilder;

struct Case {
  Shape a;  // [..., M, K]
  int64_t n;
  bool a_signed;
  bool b_zero_point;  // an explicit all-zero B zero point per column
};

template <class T>
Tensor full_range(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::zeros(std::is_same_v<T, uint8_t> ? DataType::kUInt8 : DataType::kInt8, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> v(std::is_same_v<T, uint8_t> ? 0 : -128, std::is_same_v<T, uint8_t> ? 255 : 127);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(v(rng));
  return t;
}

void add_raw(ModelBuilder& b, const std::string& name, const Tensor& t) {
  onnx::TensorProto* p = b.proto().mutable_graph()->add_initializer();
  p->set_name(name);
  p->set_data_type(t.dtype() == DataType::kUInt8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8);
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(std::string(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.numel())));
}

// MatMulInteger(a, b, a_zero, [b_zero]) with B constant or a graph input.
Tensor run(const Case& c, const Tensor& a, const Tensor& b, const Tensor& a_zero, bool b_constant) {
  ModelBuilder m(13);
  const int32_t a_type = c.a_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  m.input("a", a_type, std::vector<int64_t>(c.a.begin(), c.a.end()));
  m.input("a_zero", a_type, {});
  if (b_constant) add_raw(m, "b", b);
  else m.input("b", onnx::TensorProto::INT8, {b.dim(0), b.dim(1)});
  std::vector<std::string> in = {"a", "b", "a_zero"};
  if (c.b_zero_point) {
    add_raw(m, "b_zero", Tensor::zeros(DataType::kInt8, {c.n}));
    in.push_back("b_zero");
  }
  m.node("MatMulInteger", in, {"y"});
  m.output("y", onnx::TensorProto::INT32, {});
  auto s = testing::save_and_load(m, b_constant ? "int8_matmul_onednn" : "int8_matmul_ref");
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  std::vector<NamedTensor> feeds = {{"a", a}, {"a_zero", a_zero}};
  if (!b_constant) feeds.push_back({"b", b});
  auto y = (*s)->run(feeds);
  EXPECT_TRUE(y) << y.status().message();
  return y ? (*y)[0].tensor : Tensor();
}

void check(const Case& c, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(c.a) + " x N=" + std::to_string(c.n) + (c.a_signed ? " s8" : " u8"));
  const int64_t k = c.a.back();
  const Tensor a = c.a_signed ? full_range<int8_t>(c.a, seed) : full_range<uint8_t>(c.a, seed);
  const Tensor b = full_range<int8_t>({k, c.n}, seed + 1);
  const Tensor a_zero = c.a_signed ? full_range<int8_t>({}, seed + 2) : full_range<uint8_t>({}, seed + 2);
  const Tensor fast = run(c, a, b, a_zero, true), reference = run(c, a, b, a_zero, false);
  ASSERT_TRUE(fast.defined() && reference.defined());
  ASSERT_EQ(fast.dtype(), DataType::kInt32);
  ASSERT_EQ(fast.shape(), reference.shape());
  for (int64_t i = 0; i < fast.numel(); ++i) {
    ASSERT_EQ(fast.data<int32_t>()[i], reference.data<int32_t>()[i]) << "element " << i;
  }
}

TEST(Int8MatMul, MatMulIntegerWithConstantBMatchesReference) {
  uint32_t seed = 1;
  for (int64_t k : {1, 17, 64, 100}) {
    for (int64_t n : {1, 15, 64}) {
      check({{5, k}, n, false, false}, seed++);
      check({{2, 3, k}, n, true, true}, seed++);
    }
  }
  check({{33, 16}, 48, false, true}, seed++);
}

TEST(Int8MatMul, ConstantBUsesOneDnn) {
  check({{4, 32}, 16, false, false}, 99);
  bool used = false;
  for (const auto& u : onednn_implementations_used()) used |= u.kind == "matmul int8";
  EXPECT_TRUE(used) << "MatMulInteger with a constant B should run on oneDNN's int8 matmul";
}

}  // namespace
}  // namespace ecoinfer
