#include "passes/qdq_match.h"

#include <algorithm>
#include <cmath>

#include "passes/pattern_util.h"

namespace ecoinfer::passes {

std::optional<Dequant> dequant_of(const ir::Graph& g, ir::ValueId v) {
  if (v == ir::kNoValue) return std::nullopt;
  const int p = g.values[static_cast<size_t>(v)].producer;
  if (p < 0) return std::nullopt;
  const ir::Node& d = g.nodes[static_cast<size_t>(p)];
  if (!is_op(d, "DequantizeLinear") || d.inputs.size() < 2) return std::nullopt;
  const Tensor* scale = float_constant(g, d.inputs[1]);
  if (scale == nullptr || scale->numel() == 0) return std::nullopt;
  Dequant out;
  out.quantized = d.inputs[0];
  out.scales.assign(scale->data<float>(), scale->data<float>() + scale->numel());
  const ir::Attribute* axis = d.attribute("axis");
  out.axis = d.opset >= 13 && axis != nullptr ? axis->i : 1;
  const bool has_zero = d.inputs.size() > 2 && d.inputs[2] != ir::kNoValue;
  if (!has_zero) {
    const Tensor* values = g.constant(out.quantized);
    if (values == nullptr) return std::nullopt;
    out.type = values->dtype();
    out.zeros.assign(out.scales.size(), 0);
    return out;
  }
  const Tensor* zero = g.constant(d.inputs[2]);
  if (zero == nullptr || zero->numel() != scale->numel()) return std::nullopt;
  out.type = zero->dtype();
  for (int64_t i = 0; i < zero->numel(); ++i) {
    switch (zero->dtype()) {
      case DataType::kUInt8: out.zeros.push_back(zero->data<uint8_t>()[i]); break;
      case DataType::kInt8: out.zeros.push_back(zero->data<int8_t>()[i]); break;
      case DataType::kInt32: out.zeros.push_back(zero->data<int32_t>()[i]); break;
      default: return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<float>> bias_values(const ir::Graph& g, ir::ValueId b, int64_t channels) {
  std::vector<float> real(static_cast<size_t>(channels));
  if (const Tensor* f = float_constant(g, b)) {
    if (f->numel() != channels) return std::nullopt;
    std::copy_n(f->data<float>(), channels, real.begin());
    return real;
  }
  const auto d = dequant_of(g, b);
  if (!d) return std::nullopt;
  const Tensor* q = g.constant(d->quantized);
  if (q == nullptr || q->dtype() != DataType::kInt32 || q->numel() != channels) return std::nullopt;
  if (!d->per_tensor() && static_cast<int64_t>(d->scales.size()) != channels) return std::nullopt;
  for (int64_t m = 0; m < channels; ++m) {
    const size_t k = d->per_tensor() ? 0 : static_cast<size_t>(m);
    real[static_cast<size_t>(m)] = static_cast<float>(q->data<int32_t>()[m] - d->zeros[k]) * d->scales[k];
  }
  return real;
}

Tensor int32_bias(const std::vector<float>& real, float s_x, const std::vector<float>& s_w) {
  const auto channels = static_cast<int64_t>(real.size());
  Tensor out = Tensor::zeros(DataType::kInt32, {channels});
  for (int64_t m = 0; m < channels; ++m) {
    const double scale = static_cast<double>(s_x) * s_w[s_w.size() == 1 ? 0 : static_cast<size_t>(m)];
    out.data<int32_t>()[m] = static_cast<int32_t>(std::nearbyint(real[static_cast<size_t>(m)] / scale));
  }
  return out;
}

ir::Attribute floats_attribute(std::vector<float> values) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloats;
  a.floats = std::move(values);
  return a;
}

}  // namespace ecoinfer::passes
