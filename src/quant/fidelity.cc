#include "quant/fidelity.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "quant/float_emulation.h"

namespace ecoinfer::quant {

double cosine_similarity(const Tensor& a, const Tensor& b) {
  const auto x = a.span<float>();
  const auto y = b.span<float>();
  double dot = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    dot += static_cast<double>(x[i]) * y[i];
    xx += static_cast<double>(x[i]) * x[i];
    yy += static_cast<double>(y[i]) * y[i];
  }
  if (xx == 0 && yy == 0) return 1;
  if (xx == 0 || yy == 0) return 0;
  return dot / std::sqrt(xx * yy);
}

double max_abs_error(const Tensor& a, const Tensor& b) {
  const auto x = a.span<float>();
  const auto y = b.span<float>();
  double worst = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - y[i]));
  return worst;
}

std::pair<int64_t, int64_t> top1_agreement(const Tensor& a, const Tensor& b) {
  if (a.rank() == 0 || a.shape() != b.shape()) return {0, 0};
  const int64_t classes = a.dim(a.rank() - 1);
  if (classes == 0) return {0, 0};
  const int64_t positions = a.numel() / classes;
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  int64_t agree = 0;
  for (int64_t p = 0; p < positions; ++p) {
    const float* xp = x + p * classes;
    const float* yp = y + p * classes;
    agree += (std::max_element(xp, xp + classes) - xp) == (std::max_element(yp, yp + classes) - yp);
  }
  return {agree, positions};
}

namespace {

// The int8 model in ecoinfer when the engine runs its ops, else its float
// emulation, so fidelity is measurable before the int8 kernels exist.
Expected<std::pair<std::unique_ptr<Session>, std::string>> int8_session(const onnx::ModelProto& quantized,
                                                                      const std::vector<std::string>& extra, int threads) {
  auto direct = session_with_outputs(quantized, extra, threads);
  if (direct) return std::make_pair(std::move(*direct), std::string("ecoinfer"));
  if (direct.status().code() != StatusCode::kUnimplemented) return direct.status().with_context("loading the quantized model");
  ECOINFER_ASSIGN_OR_RETURN(onnx::ModelProto emulated, float_emulation(quantized));
  auto session = session_with_outputs(emulated, extra, threads);
  if (!session) return session.status().with_context("loading the float emulation of the quantized model");
  return std::make_pair(std::move(*session), std::string("ecoinfer (float emulation of the quantized graph)"));
}

std::map<std::string, Tensor> by_name(std::vector<NamedTensor> tensors) {
  std::map<std::string, Tensor> m;
  for (auto& t : tensors) m.emplace(t.name, std::move(t.tensor));
  return m;
}

bool comparable(const Tensor& a, const Tensor& b) {
  return a.dtype() == DataType::kFloat32 && b.dtype() == DataType::kFloat32 && a.shape() == b.shape();
}

}  // namespace

Expected<FidelityResult> measure_fidelity(const onnx::ModelProto& fp32, const onnx::ModelProto& quantized,
                                          const std::vector<QuantizedNode>& layers, const std::vector<Sample>& held_out,
                                          int threads, const ProgressFn& progress) {
  std::vector<std::string> layer_tensors;
  for (const QuantizedNode& l : layers) {
    layer_tensors.push_back(l.output);
    for (const std::string& in : l.inputs)
      if (std::find(layer_tensors.begin(), layer_tensors.end(), in) == layer_tensors.end()) layer_tensors.push_back(in);
  }
  ECOINFER_ASSIGN_OR_RETURN(auto reference, session_with_outputs(fp32, layer_tensors, threads));
  ECOINFER_ASSIGN_OR_RETURN(auto int8, int8_session(quantized, layer_tensors, threads));
  FidelityResult result;
  result.int8_runner = int8.second;
  for (const auto& o : fp32.graph().output()) result.outputs.push_back({.name = o.name()});
  for (const QuantizedNode& l : layers) result.layers.push_back({l.name, l.op_type, l.output});
  std::vector<std::pair<int64_t, int64_t>> top1(result.outputs.size());
  const int total = static_cast<int>(held_out.size());
  for (int s = 0; s < total; ++s) {
    auto a = reference->run(held_out[s]);
    if (!a) return a.status().with_context("fp32 run on a held-out sample");
    auto b = int8.first->run(held_out[s]);
    if (!b) return b.status().with_context("int8 run on a held-out sample");
    auto fa = by_name(std::move(*a));
    auto fb = by_name(std::move(*b));
    for (size_t i = 0; i < result.outputs.size(); ++i) {
      OutputFidelity& o = result.outputs[i];
      const Tensor& x = fa[o.name];
      const Tensor& y = fb[o.name];
      if (!comparable(x, y)) continue;  // an integer output (ids) is compared by nothing here
      o.cosine = std::min(o.cosine, cosine_similarity(x, y));
      o.max_abs_error = std::max(o.max_abs_error, max_abs_error(x, y));
      const auto [agree, positions] = top1_agreement(x, y);
      top1[i].first += agree;
      top1[i].second += positions;
    }
    for (size_t k = 0; k < layers.size(); ++k) {
      LayerFidelity& l = result.layers[k];
      const Tensor& x = fa[l.tensor];
      const Tensor& y = fb[l.tensor];
      if (!comparable(x, y)) continue;
      l.cosine = std::min(l.cosine, cosine_similarity(x, y));
      l.max_abs_error = std::max(l.max_abs_error, max_abs_error(x, y));
      for (const std::string& in : layers[k].inputs)  // a graph input is not an output: left at 1
        if (comparable(fa[in], fb[in])) l.input_cosine = std::min(l.input_cosine, cosine_similarity(fa[in], fb[in]));
    }
    if (progress) progress("fidelity", s + 1, total);
  }
  for (size_t i = 0; i < top1.size(); ++i)
    if (top1[i].second > 0) result.outputs[i].top1_agreement = static_cast<double>(top1[i].first) / top1[i].second;
  std::stable_sort(result.layers.begin(), result.layers.end(),
                   [](const LayerFidelity& x, const LayerFidelity& y) { return x.cosine < y.cosine; });
  return result;
}

}  // namespace ecoinfer::quant
