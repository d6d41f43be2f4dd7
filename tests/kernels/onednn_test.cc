// The oneDNN kernels (Conv, ConvTranspose, MatMul, Gemm) against plain
// reference loops written here, on many shapes: odd sizes, channel counts
// around SIMD tile boundaries, groups and depthwise, strides, dilations and
// pads, batch broadcasting, 1-D MatMul operands, every Gemm variant; plus
// the per-shape primitive cache (repeat runs, a second shape) and two
// threads running one session at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "ir/graph.h"
#include "runtime/session_impl.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::random_tensor;
using testing::tensors_close;

// ------------------------------------------------------------ one-node graphs

struct Input {
  Tensor tensor;          // undefined: an omitted optional input
  bool constant = false;  // an initializer (weights) or a runtime input
};

ir::Attribute ints_attr(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute int_attr(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}
ir::Attribute float_attr(float v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloat;
  a.f = v;
  return a;
}
ir::Attribute string_attr(std::string v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = std::move(v);
  return a;
}

using Attrs = std::map<std::string, ir::Attribute>;

Expected<std::unique_ptr<Session>> make_session(const std::string& op, const std::vector<Input>& inputs,
                                                const Attrs& attrs) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.ir_version = 8;
  ir::Node node;
  node.name = "n";
  node.op_type = op;
  node.opset = 13;
  node.attributes = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].tensor.defined()) {
      node.inputs.push_back(ir::kNoValue);
      continue;
    }
    const ir::ValueId id = g.add_value("in" + std::to_string(i));
    g.values[static_cast<size_t>(id)].info.dtype = inputs[i].tensor.dtype();
    if (inputs[i].constant) g.constants[id] = inputs[i].tensor;
    else g.inputs.push_back(id);
    node.inputs.push_back(id);
  }
  const ir::ValueId y = g.add_value("y");
  g.values[static_cast<size_t>(y)].producer = 0;
  node.outputs.push_back(y);
  g.outputs.push_back(y);
  g.nodes.push_back(std::move(node));
  return runtime::SessionImpl::create(std::move(g), SessionOptions{.threads = 2});
}

std::vector<NamedTensor> runtime_inputs(const std::vector<Input>& inputs) {
  std::vector<NamedTensor> v;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].tensor.defined() && !inputs[i].constant) v.push_back({"in" + std::to_string(i), inputs[i].tensor});
  }
  return v;
}

Expected<Tensor> run_once(const std::string& op, const std::vector<Input>& inputs, const Attrs& attrs) {
  ECOINFER_ASSIGN_OR_RETURN(auto session, make_session(op, inputs, attrs));
  ECOINFER_ASSIGN_OR_RETURN(auto out, session->run(runtime_inputs(inputs)));
  return out[0].tensor;
}

// ------------------------------------------------------------ reference loops

struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides = {};
  std::vector<int64_t> dilations = {};
  std::vector<int64_t> pads = {};            // begin..., end...
  std::vector<int64_t> output_padding = {};  // ConvTranspose only
};

int64_t get(const std::vector<int64_t>& v, size_t i, int64_t d) { return i < v.size() ? v[i] : d; }

// Spatial dims padded to 3 with size-1 axes, so one loop nest serves 1-D..3-D.
std::vector<int64_t> spatial3(const Shape& s) {
  std::vector<int64_t> r(s.begin() + 2, s.end());
  while (r.size() < 3) r.push_back(1);
  return r;
}

Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
  const size_t n = x.rank() - 2;
  const int64_t batch = x.dim(0), c = x.dim(1), m = w.dim(0), g = p.group, cg = c / g, mg = m / g;
  auto in = spatial3(x.shape()), k = spatial3(w.shape());
  std::vector<int64_t> s(3, 1), d(3, 1), pb(3, 0), out(3, 1);
  for (size_t i = 0; i < n; ++i) {
    s[i] = get(p.strides, i, 1);
    d[i] = get(p.dilations, i, 1);
    pb[i] = get(p.pads, i, 0);
    const int64_t pe = get(p.pads, i + n, 0);
    out[i] = (in[i] + pb[i] + pe - (k[i] - 1) * d[i] - 1) / s[i] + 1;
  }
  Shape ys = {batch, m};
  for (size_t i = 0; i < n; ++i) ys.push_back(out[i]);
  Tensor y = Tensor::zeros(DataType::kFloat32, ys);
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  float* yp = y.data<float>();
  for (int64_t nb = 0; nb < batch; ++nb)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double acc = b ? b->data<float>()[oc] : 0.0;
            const int64_t grp = oc / mg;
            for (int64_t ic = 0; ic < cg; ++ic)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i0 = o0 * s[0] - pb[0] + k0 * d[0], i1 = o1 * s[1] - pb[1] + k1 * d[1],
                                  i2 = o2 * s[2] - pb[2] + k2 * d[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) continue;
                    const int64_t xc = grp * cg + ic;
                    acc += static_cast<double>(xp[(((nb * c + xc) * in[0] + i0) * in[1] + i1) * in[2] + i2]) *
                           wp[(((oc * cg + ic) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
            yp[(((nb * m + oc) * out[0] + o0) * out[1] + o1) * out[2] + o2] = static_cast<float>(acc);
          }
  return y;
}

Tensor ref_conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
  const size_t n = x.rank() - 2;
  const int64_t batch = x.dim(0), c = x.dim(1), g = p.group, cg = c / g, mg = w.dim(1), m = mg * g;
  auto in = spatial3(x.shape()), k = spatial3(w.shape());
  std::vector<int64_t> s(3, 1), d(3, 1), pb(3, 0), out(3, 1);
  for (size_t i = 0; i < n; ++i) {
    s[i] = get(p.strides, i, 1);
    d[i] = get(p.dilations, i, 1);
    pb[i] = get(p.pads, i, 0);
    out[i] = s[i] * (in[i] - 1) + get(p.output_padding, i, 0) + (k[i] - 1) * d[i] + 1 - pb[i] - get(p.pads, i + n, 0);
  }
  Shape ys = {batch, m};
  for (size_t i = 0; i < n; ++i) ys.push_back(out[i]);
  std::vector<double> acc(static_cast<size_t>(shape_numel(ys)), 0.0);
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  for (int64_t nb = 0; nb < batch; ++nb)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t i0 = 0; i0 < in[0]; ++i0)
        for (int64_t i1 = 0; i1 < in[1]; ++i1)
          for (int64_t i2 = 0; i2 < in[2]; ++i2) {
            const double xv = xp[(((nb * c + ic) * in[0] + i0) * in[1] + i1) * in[2] + i2];
            const int64_t grp = ic / cg;
            for (int64_t oc = 0; oc < mg; ++oc)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t o0 = i0 * s[0] - pb[0] + k0 * d[0], o1 = i1 * s[1] - pb[1] + k1 * d[1],
                                  o2 = i2 * s[2] - pb[2] + k2 * d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    const int64_t yc = grp * mg + oc;
                    acc[static_cast<size_t>((((nb * m + yc) * out[0] + o0) * out[1] + o1) * out[2] + o2)] +=
                        xv * wp[(((ic * mg + oc) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
          }
  Tensor y = Tensor::zeros(DataType::kFloat32, ys);
  const int64_t spatial = out[0] * out[1] * out[2];
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t ch = static_cast<int64_t>(i) / spatial % m;
    y.data<float>()[i] = static_cast<float>(acc[i] + (b ? b->data<float>()[ch] : 0.0));
  }
  return y;
}

// numpy matmul, including 1-D operands and batch broadcasting.
Tensor ref_matmul(const Tensor& a, const Tensor& b) {
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const size_t r = std::max(as.size(), bs.size());
  while (as.size() < r) as.insert(as.begin(), 1);
  while (bs.size() < r) bs.insert(bs.begin(), 1);
  const int64_t m = as[r - 2], k = as[r - 1], n = bs[r - 1];
  Shape batch(r - 2);
  for (size_t i = 0; i + 2 < r; ++i) batch[i] = std::max(as[i], bs[i]);
  Shape ys = batch;
  if (a.rank() > 1) ys.push_back(m);
  if (b.rank() > 1) ys.push_back(n);
  Tensor y = Tensor::zeros(DataType::kFloat32, ys);
  const int64_t nbatch = shape_numel(batch);
  for (int64_t bi = 0; bi < nbatch; ++bi) {
    int64_t rem = bi, aoff = 0, boff = 0, astride = m * k, bstride = k * n;
    for (size_t i = r - 2; i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      aoff += (as[i] == 1 ? 0 : idx) * astride;
      boff += (bs[i] == 1 ? 0 : idx) * bstride;
      astride *= as[i];
      bstride *= bs[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += static_cast<double>(a.data<float>()[aoff + i * k + q]) * b.data<float>()[boff + q * n + j];
        y.data<float>()[(bi * m + i) * n + j] = static_cast<float>(acc);
      }
  }
  return y;
}

Tensor ref_gemm(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb, float alpha, float beta) {
  const int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
  Tensor y = Tensor::zeros(DataType::kFloat32, {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < k; ++q) {
        const float av = ta ? a.data<float>()[q * m + i] : a.data<float>()[i * k + q];
        const float bv = tb ? b.data<float>()[j * k + q] : b.data<float>()[q * n + j];
        acc += static_cast<double>(av) * bv;
      }
      double cv = 0;
      if (c != nullptr) {
        const int64_t rows = c->rank() == 2 ? c->dim(0) : 1, cols = c->rank() == 0 ? 1 : c->shape().back();
        cv = c->data<float>()[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
      }
      y.data<float>()[i * n + j] = static_cast<float>(alpha * acc + beta * cv);
    }
  return y;
}

Attrs conv_attrs(const ConvParams& p) {
  Attrs a;
  if (p.group != 1) a["group"] = int_attr(p.group);
  if (!p.strides.empty()) a["strides"] = ints_attr(p.strides);
  if (!p.dilations.empty()) a["dilations"] = ints_attr(p.dilations);
  if (!p.pads.empty()) a["pads"] = ints_attr(p.pads);
  if (!p.output_padding.empty()) a["output_padding"] = ints_attr(p.output_padding);
  return a;
}

// ------------------------------------------------------------ Conv

struct ConvCase {
  Shape x, w;
  ConvParams p;
  bool bias = true;
};

void check_conv(const ConvCase& cc, bool transposed, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(cc.x) + " W " + shape_to_string(cc.w) + (transposed ? " transposed" : ""));
  const Tensor x = random_tensor(DataType::kFloat32, cc.x, seed);
  const Tensor w = random_tensor(DataType::kFloat32, cc.w, seed + 1);
  const int64_t out_channels = transposed ? cc.w[1] * cc.p.group : cc.w[0];
  const Tensor b = cc.bias ? random_tensor(DataType::kFloat32, {out_channels}, seed + 2) : Tensor();
  const Tensor expected = transposed ? ref_conv_transpose(x, w, cc.bias ? &b : nullptr, cc.p)
                                     : ref_conv(x, w, cc.bias ? &b : nullptr, cc.p);
  // Constant weights (packed once) and runtime weights (plain layout).
  for (bool constant : {true, false}) {
    auto y = run_once(transposed ? "ConvTranspose" : "Conv", {{x}, {w, constant}, {b, constant}}, conv_attrs(cc.p));
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " weights";
  }
}

TEST(OnednnConv, ChannelsAroundTileBoundaries) {
  uint32_t seed = 1;
  for (int64_t c : {1, 3, 15, 16, 17, 64}) {
    for (int64_t m : {1, 8, 17}) check_conv({{1, c, 7, 9}, {m, c, 3, 3}, {}}, false, seed++);
  }
}

TEST(OnednnConv, StridesDilationsPads) {
  check_conv({{2, 3, 11, 10}, {5, 3, 3, 3}, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 10);
  check_conv({{1, 4, 12, 13}, {6, 4, 3, 2}, {.strides = {1, 3}, .dilations = {2, 1}, .pads = {0, 1, 2, 0}}}, false,
             11);
  check_conv({{1, 2, 5, 5}, {3, 2, 5, 5}, {.pads = {2, 2, 2, 2}}}, false, 12);
  check_conv({{1, 3, 9, 9}, {4, 3, 1, 1}, {.strides = {2, 2}}, false}, false, 13);
  // Large enough for oneDNN's blocked JIT paths.
  check_conv({{1, 64, 20, 20}, {64, 64, 3, 3}, {.pads = {1, 1, 1, 1}}}, false, 14);
  check_conv({{1, 32, 17, 17}, {48, 32, 1, 1}, {}}, false, 15);
  check_conv({{1, 96, 19, 19}, {96, 1, 3, 3}, {.group = 96, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 16);
}

TEST(OnednnConv, GroupsAndDepthwise) {
  check_conv({{1, 8, 9, 9}, {8, 2, 3, 3}, {.group = 4, .pads = {1, 1, 1, 1}}}, false, 20);
  check_conv({{2, 16, 10, 7}, {16, 1, 3, 3}, {.group = 16, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, false, 21);
  check_conv({{1, 17, 6, 6}, {34, 1, 3, 3}, {.group = 17}}, false, 22);
  check_conv({{1, 6, 8, 8}, {9, 2, 3, 3}, {.group = 3, .dilations = {2, 2}, .pads = {2, 2, 2, 2}}}, false, 23);
}

TEST(OnednnConv, OneAndThreeDimensional) {
  check_conv({{2, 3, 17}, {5, 3, 4}, {.strides = {2}, .pads = {1, 2}}}, false, 30);
  check_conv({{1, 4, 20}, {4, 1, 3}, {.group = 4, .dilations = {3}}}, false, 31);
  check_conv({{1, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, {.strides = {1, 2, 1}, .pads = {1, 0, 1, 1, 1, 0}}}, false, 32);
}

TEST(OnednnConv, AutoPadSame) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 3, 7, 8}, 40);
  const Tensor w = random_tensor(DataType::kFloat32, {4, 3, 4, 3}, 41);
  // in 7, k 4, s 2: out 4, total pad 3 -> UPPER 1/2, LOWER 2/1. in 8, k 3, s 2: out 4, total 1.
  for (auto [mode, pads] : {std::pair<std::string, std::vector<int64_t>>{"SAME_UPPER", {1, 0, 2, 1}},
                            {"SAME_LOWER", {2, 1, 1, 0}}, {"VALID", {0, 0, 0, 0}}}) {
    SCOPED_TRACE(mode);
    Attrs a = {{"auto_pad", string_attr(mode)}, {"strides", ints_attr({2, 2})}};
    auto y = run_once("Conv", {{x}, {w, true}}, a);
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, ref_conv(x, w, nullptr, {.strides = {2, 2}, .pads = pads}), 1e-4, 1e-4));
  }
}

TEST(OnednnConv, ShapeErrorsAreStatuses) {
  const Tensor w = random_tensor(DataType::kFloat32, {4, 3, 3, 3}, 50);
  auto bad_channels = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 4, 8, 8}, 51)}, {w, true}}, {});
  ASSERT_FALSE(bad_channels.has_value());
  EXPECT_NE(bad_channels.status().message().find("4 channels but weights expect 3"), std::string::npos)
      << bad_channels.status().message();
  auto too_small = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 2, 8}, 52)}, {w, true}}, {});
  ASSERT_FALSE(too_small.has_value());
  EXPECT_NE(too_small.status().message().find("larger than the padded input"), std::string::npos);
  auto bad_rank = run_once("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 8}, 53)}, {w, true}}, {});
  EXPECT_FALSE(bad_rank.has_value());
}

// ------------------------------------------------------------ ConvTranspose

TEST(OnednnConvTranspose, Shapes) {
  uint32_t seed = 100;
  for (int64_t c : {1, 3, 16, 17}) check_conv({{1, c, 5, 6}, {c, 4, 3, 3}, {}}, true, seed++);
  check_conv({{2, 3, 4, 5}, {3, 2, 3, 3}, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{1, 3, 4, 5}, {3, 2, 3, 3}, {.strides = {3, 2}, .pads = {1, 2, 1, 2}}}, true, seed++);
  check_conv({{1, 2, 5, 5}, {2, 3, 3, 3}, {.strides = {2, 2}, .output_padding = {1, 1}}}, true, seed++);
  check_conv({{1, 2, 5, 5}, {2, 3, 2, 3}, {.strides = {2, 3}, .dilations = {2, 2}, .pads = {0, 1, 1, 0}}}, true, seed++);
  check_conv({{1, 4, 6, 6}, {4, 3, 3, 3}, {.group = 2, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{1, 8, 5, 5}, {8, 1, 4, 4}, {.group = 8, .strides = {2, 2}, .pads = {1, 1, 1, 1}}}, true, seed++);
  check_conv({{2, 3, 9}, {3, 5, 4}, {.strides = {3}, .pads = {1, 0}}}, true, seed++);
  check_conv({{1, 2, 3, 4, 3}, {2, 2, 2, 3, 2}, {.strides = {2, 1, 2}}}, true, seed++);
}

TEST(OnednnConvTranspose, OutputShapeAttribute) {
  const Tensor x = random_tensor(DataType::kFloat32, {1, 1, 3, 3}, 120);
  const Tensor w = random_tensor(DataType::kFloat32, {1, 2, 3, 3}, 121);
  Attrs a = {{"strides", ints_attr({3, 2})}, {"output_shape", ints_attr({10, 8})}};
  auto y = run_once("ConvTranspose", {{x}, {w, true}}, a);
  ASSERT_TRUE(y.has_value()) << y.status().message();
  // Natural size 9x7: the spec's equations give pads 0/-1, i.e. one extra row/column at the end.
  EXPECT_TRUE(tensors_close(*y, ref_conv_transpose(x, w, nullptr, {.strides = {3, 2}, .output_padding = {1, 1}}),
                            1e-4, 1e-4));
}

// ------------------------------------------------------------ MatMul

void check_matmul(const Shape& as, const Shape& bs, uint32_t seed) {
  SCOPED_TRACE(shape_to_string(as) + " @ " + shape_to_string(bs));
  const Tensor a = random_tensor(DataType::kFloat32, as, seed);
  const Tensor b = random_tensor(DataType::kFloat32, bs, seed + 1);
  const Tensor expected = ref_matmul(a, b);
  for (bool constant : {true, false}) {
    auto y = run_once("MatMul", {{a}, {b, constant}}, {});
    ASSERT_TRUE(y.has_value()) << y.status().message();
    EXPECT_TRUE(tensors_close(*y, expected, 1e-4, 1e-4)) << (constant ? "constant" : "runtime") << " B";
  }
}

TEST(OnednnMatMul, TwoDimensionalOddSizes) {
  uint32_t seed = 200;
  for (int64_t m : {1, 3, 16, 17})
    for (int64_t k : {1, 15, 64})
      for (int64_t n : {1, 16, 33}) check_matmul({m, k}, {k, n}, seed++);
  check_matmul({130, 257}, {257, 96}, seed++);
  check_matmul({2, 40, 96}, {96, 288}, seed++);
}

TEST(OnednnMatMul, NonFloatIsAClearError) {
  auto y = run_once("MatMul", {{Tensor::zeros(DataType::kInt32, {2, 3})}, {Tensor::zeros(DataType::kInt32, {3, 2})}}, {});
  ASSERT_FALSE(y.has_value());
  EXPECT_NE(y.status().message().find("only float32"), std::string::npos) << y.status().message();
}

TEST(OnednnMatMul, OneDimensionalOperands) {
  check_matmul({7}, {7, 5}, 220);
  check_matmul({4, 7}, {7}, 221);
  check_matmul({7}, {7}, 222);
  check_matmul({2, 3, 7}, {7}, 223);
  check_matmul({7}, {3, 7, 5}, 224);
}

TEST(OnednnMatMul, BatchBroadcasting) {
  check_matmul({2, 3, 5, 4}, {4, 6}, 230);       // weights shared: folded into M
  check_matmul({3, 5, 4}, {3, 4, 6}, 231);       // same batch
  check_matmul({1, 5, 4}, {3, 4, 6}, 232);       // A broadcast
  check_matmul({2, 1, 5, 4}, {3, 4, 6}, 233);    // rank differs, both broadcast
  check_matmul({2, 1, 5, 4}, {1, 3, 4, 6}, 234);
  check_matmul({5, 4}, {2, 3, 4, 6}, 235);
}

TEST(OnednnMatMul, ErrorsAreStatuses) {
  auto k_mismatch = run_once("MatMul", {{random_tensor(DataType::kFloat32, {3, 4}, 1)},
                                        {random_tensor(DataType::kFloat32, {5, 6}, 2)}}, {});
  ASSERT_FALSE(k_mismatch.has_value());
  EXPECT_NE(k_mismatch.status().message().find("3x4"), std::string::npos) << k_mismatch.status().message();
  EXPECT_NE(k_mismatch.status().message().find("5x6"), std::string::npos);
  auto batch_mismatch = run_once("MatMul", {{random_tensor(DataType::kFloat32, {2, 3, 4}, 1)},
                                            {random_tensor(DataType::kFloat32, {3, 4, 6}, 2)}}, {});
  EXPECT_FALSE(batch_mismatch.has_value());
}

// ------------------------------------------------------------ Gemm

TEST(OnednnGemm, AllVariants) {
  const int64_t m = 5, k = 17, n = 16;
  uint32_t seed = 300;
  const std::vector<Shape> c_shapes = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1}, {1, 1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float alpha : {1.0f, 0.5f})
        for (float beta : {1.0f, 2.0f, 0.0f})
          for (size_t ci = 0; ci <= c_shapes.size(); ++ci)
            for (bool constant : {true, false}) {
              const bool has_c = ci < c_shapes.size();
              SCOPED_TRACE(::testing::Message() << "transA " << ta << " transB " << tb << " alpha " << alpha << " beta "
                                                << beta << " C " << (has_c ? shape_to_string(c_shapes[ci]) : "none")
                                                << (constant ? " constant" : " runtime"));
              const Tensor a = random_tensor(DataType::kFloat32, ta ? Shape{k, m} : Shape{m, k}, seed++);
              const Tensor b = random_tensor(DataType::kFloat32, tb ? Shape{n, k} : Shape{k, n}, seed++);
              const Tensor c = has_c ? random_tensor(DataType::kFloat32, c_shapes[ci], seed++) : Tensor();
              Attrs at = {{"transA", int_attr(ta)}, {"transB", int_attr(tb)}, {"alpha", float_attr(alpha)},
                          {"beta", float_attr(beta)}};
              auto y = run_once("Gemm", {{a}, {b, constant}, {c, constant}}, at);
              ASSERT_TRUE(y.has_value()) << y.status().message();
              EXPECT_TRUE(tensors_close(*y, ref_gemm(a, b, has_c ? &c : nullptr, ta, tb, alpha, beta), 1e-4, 1e-4));
            }
}

// ------------------------------------------------------------ cache and threads

TEST(OnednnCache, RepeatRunsSecondShapeAndTwoThreads) {
  const Tensor w = random_tensor(DataType::kFloat32, {8, 3, 3, 3}, 400);
  const Tensor b = random_tensor(DataType::kFloat32, {8}, 401);
  const ConvParams p{.pads = {1, 1, 1, 1}};
  auto session = make_session("Conv", {{random_tensor(DataType::kFloat32, {1, 3, 4, 4}, 1)}, {w, true}, {b, true}},
                         conv_attrs(p));
  ASSERT_TRUE(session.has_value()) << session.status().message();
  const Tensor x1 = random_tensor(DataType::kFloat32, {1, 3, 10, 12}, 402);
  const Tensor x2 = random_tensor(DataType::kFloat32, {2, 3, 7, 5}, 403);
  const Tensor e1 = ref_conv(x1, w, &b, p), e2 = ref_conv(x2, w, &b, p);
  for (int rep = 0; rep < 2; ++rep) {
    for (const auto& [x, e] : {std::pair{x1, e1}, std::pair{x2, e2}}) {
      auto out = (*session)->run({{"in0", x}});
      ASSERT_TRUE(out.has_value()) << out.status().message();
      EXPECT_TRUE(tensors_close((*out)[0].tensor, e, 1e-4, 1e-4));
    }
  }
  std::vector<std::thread> threads;
  std::vector<int> failures(2, 0);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool first = (i + t) % 2 == 0;
        auto out = (*session)->run({{"in0", first ? x1 : x2}});
        if (!out || !tensors_close((*out)[0].tensor, first ? e1 : e2, 1e-4, 1e-4)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures[0] + failures[1], 0);
}

TEST(OnednnCache, MatMulAndGemmTwoThreads) {
  const Tensor w = random_tensor(DataType::kFloat32, {33, 20}, 500);
  auto session = make_session("MatMul", {{random_tensor(DataType::kFloat32, {1, 33}, 1)}, {w, true}}, {});
  ASSERT_TRUE(session.has_value()) << session.status().message();
  std::vector<Tensor> xs = {random_tensor(DataType::kFloat32, {3, 33}, 501),
                            random_tensor(DataType::kFloat32, {2, 7, 33}, 502)};
  std::vector<Tensor> es = {ref_matmul(xs[0], w), ref_matmul(xs[1], w)};
  std::vector<int> failures(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const size_t s = static_cast<size_t>((i + t) % 2);
        auto out = (*session)->run({{"in0", xs[s]}});
        if (!out || !tensors_close((*out)[0].tensor, es[s], 1e-4, 1e-4)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures[0] + failures[1], 0);
}

}  // namespace
}  // namespace ecoinfer
