// Element-wise kernels: what the ONNX node tests do not cover. Accuracy of
// the vectorized exp/tanh/erf over the whole float range, opset-specific
// semantics (Clip attributes vs inputs, Pow's mixed types), broadcasting
// corners (rank 0, size-1 and size-0 dims, 6-D) against a naive index loop,
// integer corner cases that must not trap, and bad input as an error Status.
#include <cmath>
#include <limits>
#include <fstream>
#include <random>
#include <variant>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "kernels/ref/broadcast.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

struct Attr {
  std::string name;
  std::variant<int64_t, float, std::string> value;
};

// One node whose inputs are all graph inputs (no declared shapes, so any
// shape can be fed). An empty input name is an omitted optional input.
Expected<std::unique_ptr<Session>> single_op(const std::string& op, int64_t opset,
                                             const std::vector<std::pair<std::string, DataType>>& inputs,
                                             DataType out_type, const std::vector<Attr>& attrs = {},
                                             const std::string& dir_name = "elementwise") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("t");
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node");
  for (const auto& [name, dtype] : inputs) {
    n->add_input(name);
    if (name.empty()) continue;
    onnx::ValueInfoProto* vi = g->add_input();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(dtype));
  }
  n->add_output("y");
  onnx::ValueInfoProto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(out_type));
  for (const Attr& a : attrs) {
    onnx::AttributeProto* p = n->add_attribute();
    p->set_name(a.name);
    if (auto* i = std::get_if<int64_t>(&a.value)) {
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(*i);
    } else if (auto* f = std::get_if<float>(&a.value)) {
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(*f);
    } else {
      p->set_type(onnx::AttributeProto::STRING);
      p->set_s(std::get<std::string>(a.value));
    }
  }
  const auto path = testing::temp_dir(dir_name) / "model.onnx";
  std::ofstream file(path, std::ios::binary);
  m.SerializeToOstream(&file);
  file.close();
  return Session::load(path, {.threads = 2});
}

Expected<Tensor> run1(const Session& s, const std::vector<Tensor>& inputs) {
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < inputs.size(); ++i) named.push_back({s.inputs()[i].name, inputs[i]});
  ECOINFER_ASSIGN_OR_RETURN(auto out, s.run(named));
  return out[0].tensor;
}

// Unary float op over a dense grid plus special values, against a double
// reference function.
void check_unary_accuracy(const std::string& op, double (*ref)(double), float lo, float hi,
                          const std::vector<Attr>& attrs = {}, int64_t opset = 13) {
  std::vector<float> xs;
  for (int i = 0; i <= 200000; ++i) xs.push_back(lo + (hi - lo) * static_cast<float>(i) / 200000.0f);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 0.624f, 0.626f, -0.626f}) xs.push_back(v);
  std::vector<float> want;
  for (float v : xs) want.push_back(static_cast<float>(ref(v)));
  auto s = single_op(op, opset, {{"x", DataType::kFloat32}}, DataType::kFloat32, attrs, "acc_" + op);
  ASSERT_TRUE(s) << s.status().message();
  auto y = run1(**s, {Tensor::from_vector<float>({static_cast<int64_t>(xs.size())}, xs)});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<float>({static_cast<int64_t>(want.size())}, want)))
      << op;
}

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double ref_gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
double ref_elu(double x) { return x < 0 ? std::exp(x) - 1.0 : x; }
double ref_softplus(double x) { return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0); }

TEST(ElementwiseAccuracy, VectorizedMathMatchesLibm) {
  check_unary_accuracy("Exp", [](double x) { return std::exp(x); }, -110.0f, 89.0f);
  check_unary_accuracy("Exp", [](double x) { return std::exp(x); }, -3.0f, 3.0f);
  check_unary_accuracy("Tanh", [](double x) { return std::tanh(x); }, -12.0f, 12.0f);
  check_unary_accuracy("Tanh", [](double x) { return std::tanh(x); }, -1.0f, 1.0f);
  check_unary_accuracy("Erf", [](double x) { return std::erf(x); }, -6.0f, 6.0f);
  check_unary_accuracy("Sigmoid", ref_sigmoid, -100.0f, 100.0f);
  check_unary_accuracy("Gelu", ref_gelu, -10.0f, 10.0f, {}, 17);
  check_unary_accuracy("Gelu", ref_gelu_tanh, -10.0f, 10.0f, {{"approximate", std::string("tanh")}}, 17);
  check_unary_accuracy("Elu", ref_elu, -20.0f, 5.0f, {}, 13);
  check_unary_accuracy("Softplus", ref_softplus, -50.0f, 50.0f, {}, 13);
}

TEST(ElementwiseAccuracy, ExpAndTanhSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  auto s = single_op("Exp", 13, {{"x", DataType::kFloat32}}, DataType::kFloat32);
  ASSERT_TRUE(s);
  auto y = run1(**s, {Tensor::from_vector<float>({4}, {inf, -inf, nan, 100.0f})});
  ASSERT_TRUE(y);
  EXPECT_EQ(y->data<float>()[0], inf);
  EXPECT_EQ(y->data<float>()[1], 0.0f);
  EXPECT_TRUE(std::isnan(y->data<float>()[2]));
  EXPECT_EQ(y->data<float>()[3], inf);
  auto t = single_op("Tanh", 13, {{"x", DataType::kFloat32}}, DataType::kFloat32, {}, "tanh_special");
  ASSERT_TRUE(t);
  auto ty = run1(**t, {Tensor::from_vector<float>({3}, {inf, -inf, nan})});
  ASSERT_TRUE(ty);
  EXPECT_EQ(ty->data<float>()[0], 1.0f);
  EXPECT_EQ(ty->data<float>()[1], -1.0f);
  EXPECT_TRUE(std::isnan(ty->data<float>()[2]));
}

TEST(ElementwiseClip, AttributesBeforeOpset11) {  // Clip-6 semantics, opsets 7 to 10
  auto s = single_op("Clip", 10, {{"x", DataType::kFloat32}}, DataType::kFloat32,
                     {{"min", -1.0f}, {"max", 0.5f}});
  ASSERT_TRUE(s) << s.status().message();
  auto y = run1(**s, {Tensor::from_vector<float>({4}, {-3.0f, 0.2f, 0.7f, 9.0f})});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<float>({4}, {-1.0f, 0.2f, 0.5f, 0.5f})));
}

TEST(ElementwiseClip, OptionalInputsFromOpset11) {
  // Only max given (min omitted with ""), int32 data.
  auto s = single_op("Clip", 13, {{"x", DataType::kInt32}, {"", DataType::kInt32}, {"hi", DataType::kInt32}},
                     DataType::kInt32);
  ASSERT_TRUE(s) << s.status().message();
  auto y = run1(**s, {Tensor::from_vector<int32_t>({3}, {-100, 5, 100}), Tensor::scalar<int32_t>(7)});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<int32_t>({3}, {-100, 5, 7})));

  // min > max: everything becomes max.
  auto both = single_op("Clip", 12, {{"x", DataType::kFloat32}, {"lo", DataType::kFloat32}, {"hi", DataType::kFloat32}},
                        DataType::kFloat32, {}, "clip_both");
  ASSERT_TRUE(both);
  auto z = run1(**both, {Tensor::from_vector<float>({3}, {-1.0f, 0.0f, 5.0f}), Tensor::scalar<float>(2.0f),
                         Tensor::scalar<float>(1.0f)});
  ASSERT_TRUE(z);
  EXPECT_TRUE(testing::tensors_close(*z, Tensor::from_vector<float>({3}, {1.0f, 1.0f, 1.0f})));

  // A non-scalar bound is an error, not a crash.
  auto bad = run1(**both, {Tensor::from_vector<float>({3}, {-1.0f, 0.0f, 5.0f}),
                           Tensor::from_vector<float>({2}, {0.0f, 1.0f}), Tensor::scalar<float>(1.0f)});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("scalar"), std::string::npos) << bad.status().message();
}

// Naive numpy broadcasting by full index arithmetic, the reference for Add.
Tensor naive_add(const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::zeros(DataType::kFloat32, out_shape);
  const size_t rank = out_shape.size();
  std::vector<int64_t> idx(rank, 0);
  auto offset = [&](const Shape& s) {
    int64_t off = 0;
    const size_t pad = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) off = off * s[d] + (s[d] == 1 ? 0 : idx[pad + d]);
    return off;
  };
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t rem = i;
    for (size_t d = rank; d-- > 0;) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
    }
    out.data<float>()[i] = a.data<float>()[offset(a.shape())] + b.data<float>()[offset(b.shape())];
  }
  return out;
}

TEST(ElementwiseBroadcast, MatchesNaiveIndexingOnCorners) {
  auto s = single_op("Add", 14, {{"a", DataType::kFloat32}, {"b", DataType::kFloat32}}, DataType::kFloat32);
  ASSERT_TRUE(s) << s.status().message();
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{}, {}},                                     // rank 0 both
      {{}, {2, 3}},                                 // scalar operand
      {{2, 3}, {1}},                                // size-1 operand
      {{2, 3, 4, 5}, {3, 1, 5}},                    // middle broadcast
      {{1, 8, 16, 16}, {8, 1, 1}},                  // per-channel bias
      {{64, 300}, {300}},                           // bias row, large enough to be parallel
      {{4, 1}, {1, 5}},                             // outer product
      {{2, 1, 3, 1, 2, 3}, {1, 4, 1, 5, 2, 1}},     // 6-D, alternating
      {{0, 3}, {1, 3}},                             // empty
      {{2, 0, 3}, {3}},                             // empty in the middle
      {{300, 1, 200}, {1, 7, 200}},                 // > kParallelElements with a repeated row
      {{1}, {70000}},                               // long flat row split in chunks
  };
  uint32_t seed = 1;
  for (const auto& [sa, sb] : cases) {
    const Tensor a = testing::random_tensor(DataType::kFloat32, sa, seed++);
    const Tensor b = testing::random_tensor(DataType::kFloat32, sb, seed++);
    auto shape = kernels::broadcast_shapes({&sa, &sb});
    ASSERT_TRUE(shape);
    for (int swap = 0; swap < 2; ++swap) {
      auto y = swap ? run1(**s, {b, a}) : run1(**s, {a, b});
      ASSERT_TRUE(y) << y.status().message();
      EXPECT_EQ(y->shape(), *shape);
      EXPECT_TRUE(testing::tensors_close(*y, naive_add(a, b, *shape), 1e-6, 0))
          << shape_to_string(sa) << " + " << shape_to_string(sb);
    }
  }
}

TEST(ElementwiseBroadcast, IncompatibleShapesNameBoth) {
  auto s = single_op("Mul", 14, {{"a", DataType::kFloat32}, {"b", DataType::kFloat32}}, DataType::kFloat32);
  ASSERT_TRUE(s);
  auto y = run1(**s, {Tensor::zeros(DataType::kFloat32, {2, 3}), Tensor::zeros(DataType::kFloat32, {4})});
  ASSERT_FALSE(y);
  EXPECT_NE(y.status().message().find("2x3"), std::string::npos) << y.status().message();
  EXPECT_NE(y.status().message().find("4"), std::string::npos) << y.status().message();
  auto t = run1(**s, {Tensor::zeros(DataType::kFloat32, {2, 3}), Tensor::zeros(DataType::kInt32, {3})});
  EXPECT_FALSE(t);  // declared float, fed int32: refused somewhere, never a crash
}

TEST(ElementwiseBroadcast, VariadicSumMeanMaxBroadcast) {
  auto sum = single_op("Sum", 13, {{"a", DataType::kFloat32}, {"b", DataType::kFloat32}, {"c", DataType::kFloat32}},
                       DataType::kFloat32);
  ASSERT_TRUE(sum);
  const Tensor a = Tensor::from_vector<float>({2, 1}, {1, 2});
  const Tensor b = Tensor::from_vector<float>({3}, {10, 20, 30});
  const Tensor c = Tensor::scalar<float>(100);
  auto y = run1(**sum, {a, b, c});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<float>({2, 3}, {111, 121, 131, 112, 122, 132})));
  auto mean = single_op("Mean", 13, {{"a", DataType::kFloat32}, {"b", DataType::kFloat32}, {"c", DataType::kFloat32}},
                        DataType::kFloat32, {}, "mean");
  ASSERT_TRUE(mean);
  auto m = run1(**mean, {a, b, c});
  ASSERT_TRUE(m);
  EXPECT_NEAR(m->data<float>()[0], 111.0f / 3, 1e-4);
  auto mx = single_op("Max", 13, {{"a", DataType::kInt64}, {"b", DataType::kInt64}}, DataType::kInt64, {}, "max");
  ASSERT_TRUE(mx);
  auto r = run1(**mx, {Tensor::from_vector<int64_t>({2, 1}, {5, -5}), Tensor::from_vector<int64_t>({2}, {0, 7})});
  ASSERT_TRUE(r);
  EXPECT_TRUE(testing::tensors_close(*r, Tensor::from_vector<int64_t>({2, 2}, {5, 7, 0, 7})));
}

TEST(ElementwiseBinary, WhereBroadcastsAllThree) {
  auto s = single_op("Where", 16, {{"c", DataType::kBool}, {"p", DataType::kInt64}, {"q", DataType::kInt64}},
                     DataType::kInt64);
  ASSERT_TRUE(s) << s.status().message();
  auto y = run1(**s, {Tensor::from_vector<bool>({2, 1}, {true, false}), Tensor::from_vector<int64_t>({3}, {1, 2, 3}),
                      Tensor::scalar<int64_t>(-1)});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<int64_t>({2, 3}, {1, 2, 3, -1, -1, -1})));
}

TEST(ElementwiseBinary, IntegerDivTruncatesAndNeverTraps) {
  auto s = single_op("Div", 14, {{"a", DataType::kInt32}, {"b", DataType::kInt32}}, DataType::kInt32);
  ASSERT_TRUE(s);
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  auto y = run1(**s, {Tensor::from_vector<int32_t>({5}, {7, -7, 7, 3, kMin}),
                      Tensor::from_vector<int32_t>({5}, {2, 2, -2, 0, -1})});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<int32_t>({5}, {3, -3, -3, 0, kMin})));
}

TEST(ElementwiseBinary, PowMixedTypesFollowOpset) {
  auto s = single_op("Pow", 15, {{"x", DataType::kFloat32}, {"e", DataType::kInt64}}, DataType::kFloat32);
  ASSERT_TRUE(s);
  auto y = run1(**s, {Tensor::from_vector<float>({3}, {2.0f, -3.0f, 0.5f}), Tensor::from_vector<int64_t>({3}, {3, 2, -1})});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<float>({3}, {8.0f, 9.0f, 2.0f})));

  auto ints = single_op("Pow", 15, {{"x", DataType::kInt64}, {"e", DataType::kInt64}}, DataType::kInt64, {}, "pow_int");
  ASSERT_TRUE(ints);
  auto yi = run1(**ints, {Tensor::from_vector<int64_t>({4}, {3, -2, 2, 1}), Tensor::from_vector<int64_t>({4}, {4, 3, -1, -5})});
  ASSERT_TRUE(yi);
  EXPECT_TRUE(testing::tensors_close(*yi, Tensor::from_vector<int64_t>({4}, {81, -8, 0, 1})));

  // x^2 and x^0.5 fast paths with a broadcast scalar exponent.
  auto sq = single_op("Pow", 13, {{"x", DataType::kFloat32}, {"e", DataType::kFloat32}}, DataType::kFloat32, {}, "pow_sq");
  ASSERT_TRUE(sq);
  auto y2 = run1(**sq, {Tensor::from_vector<float>({2}, {3.0f, -4.0f}), Tensor::from_vector<float>({1, 1}, {2.0f})});
  ASSERT_TRUE(y2);
  EXPECT_EQ(y2->shape(), (Shape{1, 2}));
  EXPECT_TRUE(testing::tensors_close(*y2, Tensor::from_vector<float>({1, 2}, {9.0f, 16.0f})));

  // Before opset 12 base and exponent must share a type.
  auto old = single_op("Pow", 7, {{"x", DataType::kFloat32}, {"e", DataType::kFloat64}}, DataType::kFloat32, {}, "pow_old");
  ASSERT_TRUE(old);
  auto bad = run1(**old, {Tensor::from_vector<float>({1}, {2.0f}), Tensor::from_vector<double>({1}, {2.0})});
  EXPECT_FALSE(bad);
}

TEST(ElementwiseBinary, PReluSlopeMustBroadcastToX) {
  auto s = single_op("PRelu", 16, {{"x", DataType::kFloat32}, {"slope", DataType::kFloat32}}, DataType::kFloat32);
  ASSERT_TRUE(s);
  auto y = run1(**s, {Tensor::from_vector<float>({1, 2, 2}, {-1, 1, -2, 2}), Tensor::from_vector<float>({2, 1}, {0.5f, 0.25f})});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close(*y, Tensor::from_vector<float>({1, 2, 2}, {-0.5f, 1, -0.5f, 2})));
  auto bad = run1(**s, {Tensor::zeros(DataType::kFloat32, {2}), Tensor::zeros(DataType::kFloat32, {2, 2})});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("slope"), std::string::npos);
}

TEST(ElementwiseCast, NumericCornersAndHalfs) {
  auto s = single_op("Cast", 13, {{"x", DataType::kFloat32}}, DataType::kInt8, {{"to", int64_t{3}}});
  ASSERT_TRUE(s) << s.status().message();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto y = run1(**s, {Tensor::from_vector<float>({5}, {1.9f, -1.9f, 300.0f, nan, 1e30f})});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_EQ(y->data<int8_t>()[0], 1);
  EXPECT_EQ(y->data<int8_t>()[1], -1);
  EXPECT_EQ(y->data<int8_t>()[2], 44);  // wraps like numpy on x86

  auto h = single_op("Cast", 13, {{"x", DataType::kFloat32}}, DataType::kFloat16, {{"to", int64_t{10}}}, "cast_half");
  ASSERT_TRUE(h);
  auto hy = run1(**h, {Tensor::from_vector<float>({3}, {1.0f, 65504.0f, 1e6f})});
  ASSERT_TRUE(hy);
  EXPECT_EQ(hy->data<Float16>()[0].bits, 0x3c00);
  EXPECT_EQ(hy->data<Float16>()[1].bits, 0x7bff);
  EXPECT_EQ(hy->data<Float16>()[2].bits, 0x7c00);  // overflow to inf

  auto b = single_op("Cast", 13, {{"x", DataType::kFloat32}}, DataType::kBool, {{"to", int64_t{9}}}, "cast_bool");
  ASSERT_TRUE(b);
  auto by = run1(**b, {Tensor::from_vector<float>({3}, {0.0f, -0.5f, nan})});
  ASSERT_TRUE(by);
  EXPECT_TRUE(testing::tensors_close(*by, Tensor::from_vector<bool>({3}, {false, true, true})));

  auto str = single_op("Cast", 13, {{"x", DataType::kFloat32}}, DataType::kString, {{"to", int64_t{8}}}, "cast_str");
  ASSERT_FALSE(str);
  EXPECT_EQ(str.status().code(), StatusCode::kUnimplemented);
}

TEST(ElementwiseUnary, Float16ComputedInFloat) {
  auto s = single_op("Sigmoid", 13, {{"x", DataType::kFloat16}}, DataType::kFloat16);
  ASSERT_TRUE(s);
  const Tensor x = testing::random_tensor(DataType::kFloat16, {1000}, 7, -8.0f, 8.0f);
  auto y = run1(**s, {x});
  ASSERT_TRUE(y) << y.status().message();
  std::vector<float> want;
  for (int i = 0; i < 1000; ++i) want.push_back(float(ref_sigmoid(half_to_float(x.data<Float16>()[i]))));
  std::vector<double> got = testing::to_doubles(*y);
  for (int i = 0; i < 1000; ++i) EXPECT_NEAR(got[i], want[i], 1e-3) << i;
}

TEST(ElementwiseUnary, GeluRejectsUnknownApproximation) {
  auto s = single_op("Gelu", 17, {{"x", DataType::kFloat32}}, DataType::kFloat32, {{"approximate", std::string("fast")}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("approximate"), std::string::npos);
}

TEST(ElementwiseUnary, UnsupportedTypeIsAnError) {
  auto s = single_op("Sqrt", 13, {{"x", DataType::kInt32}}, DataType::kInt32);
  ASSERT_TRUE(s);
  auto y = run1(**s, {Tensor::from_vector<int32_t>({1}, {4})});
  EXPECT_FALSE(y);
}

}  // namespace
}  // namespace ecoinfer
