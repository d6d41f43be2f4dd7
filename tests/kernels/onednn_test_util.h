// Shared by the oneDNN kernel tests (onednn_test.cc, onednn_fusion_test.cc):
// one-node graphs run through a Session, and plain reference loops for
// Conv, ConvTranspose, MatMul and Gemm to check the kernels against.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/session_impl.h"
#include "test_util.h"

namespace ecoinfer::onednn_test {

// ------------------------------------------------------------ one-node graphs

struct Input {
  Tensor tensor;          // undefined: an omitted optional input
  bool constant = false;  // an initializer (weights) or a runtime input
};

inline ir::Attribute ints_attr(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
inline ir::Attribute int_attr(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}
inline ir::Attribute float_attr(float v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloat;
  a.f = v;
  return a;
}
inline ir::Attribute string_attr(std::string v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = std::move(v);
  return a;
}

using Attrs = std::map<std::string, ir::Attribute>;

inline Expected<std::unique_ptr<Session>> make_session(const std::string& op, const std::vector<Input>& inputs,
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

inline std::vector<NamedTensor> runtime_inputs(const std::vector<Input>& inputs) {
  std::vector<NamedTensor> v;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].tensor.defined() && !inputs[i].constant) v.push_back({"in" + std::to_string(i), inputs[i].tensor});
  }
  return v;
}

inline Expected<Tensor> run_once(const std::string& op, const std::vector<Input>& inputs, const Attrs& attrs) {
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

inline int64_t get(const std::vector<int64_t>& v, size_t i, int64_t d) { return i < v.size() ? v[i] : d; }

// Spatial dims padded to 3 with size-1 axes, so one loop nest serves 1-D..3-D.
inline std::vector<int64_t> spatial3(const Shape& s) {
  std::vector<int64_t> r(s.begin() + 2, s.end());
  while (r.size() < 3) r.push_back(1);
  return r;
}

inline Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
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

inline Tensor ref_conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
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
inline Tensor ref_matmul(const Tensor& a, const Tensor& b) {
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

inline Tensor ref_gemm(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb, float alpha, float beta) {
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

inline Attrs conv_attrs(const ConvParams& p) {
  Attrs a;
  if (p.group != 1) a["group"] = int_attr(p.group);
  if (!p.strides.empty()) a["strides"] = ints_attr(p.strides);
  if (!p.dilations.empty()) a["dilations"] = ints_attr(p.dilations);
  if (!p.pads.empty()) a["pads"] = ints_attr(p.pads);
  if (!p.output_padding.empty()) a["output_padding"] = ints_attr(p.output_padding);
  return a;
}

}  // namespace ecoinfer::onednn_test
