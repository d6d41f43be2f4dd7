#include "passes/channel_affine.h"

#include "passes/pass.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

int64_t attr_int(const ir::Node& n, const char* key, int64_t fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInt ? a->i : fallback;
}

bool is_conv(const ir::Node& n) { return is_op(n, "Conv") || is_op(n, "ConvTranspose"); }

// Output channel of each weight element, by the op's weight layout.
// ConvTranspose and Gemm (fold_channel_affine scales a Conv's rows itself).
std::vector<int64_t> weight_channels(const ir::Node& n, const Tensor& w) {
  const int64_t numel = w.numel();
  std::vector<int64_t> channel(static_cast<size_t>(numel));
  if (is_op(n, "ConvTranspose")) {  // [C, M/g, k...]: channel (c / (C/g)) * M/g + j
    const int64_t group = attr_int(n, "group", 1);
    const int64_t in_per_group = w.dim(0) / group, out_per_group = w.dim(1);
    const int64_t inner = numel / (w.dim(0) * w.dim(1));
    for (int64_t i = 0; i < numel; ++i) {
      const int64_t c = i / (out_per_group * inner), j = (i / inner) % out_per_group;
      channel[static_cast<size_t>(i)] = (c / in_per_group) * out_per_group + j;
    }
  } else {  // Gemm: B is [K, N], or [N, K] with transB
    const bool trans = attr_int(n, "transB", 0) != 0;
    const int64_t n_cols = w.dim(1);
    for (int64_t i = 0; i < numel; ++i) channel[static_cast<size_t>(i)] = trans ? i / n_cols : i % n_cols;
  }
  return channel;
}

// Conv, ConvTranspose and Gemm all take (X, W, B) / (A, B, C).
constexpr size_t kWeight = 1;
constexpr size_t kBias = 2;

}  // namespace

std::optional<int64_t> foldable_channels(const ir::Graph& g, const ir::Node& p) {
  if (!is_conv(p) && !is_op(p, "Gemm")) return std::nullopt;
  if (p.attribute(kPostOpsAttribute) != nullptr || p.outputs.size() != 1) return std::nullopt;
  if (p.inputs.size() < 2) return std::nullopt;
  const Tensor* w = float_constant(g, p.inputs[kWeight]);
  if (w == nullptr || w->numel() == 0) return std::nullopt;
  int64_t channels = 0;
  if (is_op(p, "Conv")) {
    if (w->rank() < 3) return std::nullopt;
    channels = w->dim(0);
  } else if (is_op(p, "ConvTranspose")) {
    const int64_t group = attr_int(p, "group", 1);
    if (w->rank() < 3 || group <= 0 || w->dim(0) % group != 0) return std::nullopt;
    channels = w->dim(1) * group;
  } else {
    if (w->rank() != 2) return std::nullopt;
    channels = attr_int(p, "transB", 0) != 0 ? w->dim(0) : w->dim(1);
  }
  const bool has_bias = p.inputs.size() > 2 && p.inputs[2] != ir::kNoValue;
  if (has_bias) {
    const Tensor* b = float_constant(g, p.inputs[2]);
    if (b == nullptr) return std::nullopt;
    // Conv's bias is [M]; Gemm's C may be a scalar, [N] or [1, N].
    const bool per_channel = b->numel() == channels && (b->rank() == 1 || (b->rank() == 2 && b->dim(0) == 1));
    if (!per_channel && !(is_op(p, "Gemm") && b->numel() == 1)) return std::nullopt;
    if (is_conv(p) && b->rank() != 1) return std::nullopt;
  }
  return channels;
}

int64_t producer_output_rank(const ir::Graph& g, const ir::Node& p) {
  if (is_op(p, "Gemm")) return 2;
  const Tensor* w = g.constant(p.inputs[1]);
  return w == nullptr ? 0 : static_cast<int64_t>(w->rank());
}

void fold_channel_affine(ir::Graph& g, ir::Node& p, const std::vector<double>& scale,
                         const std::vector<double>& shift) {
  const size_t channels = scale.size();
  const Tensor& w = *g.constant(p.inputs[kWeight]);
  Tensor new_w = Tensor::zeros(DataType::kFloat32, w.shape());
  const float* src = w.data<float>();
  float* dst = new_w.data<float>();
  if (is_op(p, "Conv")) {
    // A Conv's output channel is its weight's outermost dimension: scale it
    // row by row. The per-element channel index below costs a 64-bit division
    // per weight, which was 12% of ResNet-50's load (25M weights).
    const size_t rows = static_cast<size_t>(w.dim(0)), inner = static_cast<size_t>(w.numel()) / rows;
    for (size_t m = 0; m < rows; ++m) {
      const double s = scale[m];
      for (size_t j = 0; j < inner; ++j) dst[m * inner + j] = static_cast<float>(src[m * inner + j] * s);
    }
  } else {
    const std::vector<int64_t> channel = weight_channels(p, w);
    for (size_t i = 0; i < channel.size(); ++i)
      dst[i] = static_cast<float>(src[i] * scale[static_cast<size_t>(channel[i])]);
  }

  // Old bias, per channel (Gemm: beta * C, and beta becomes 1).
  std::vector<double> bias(channels, 0.0);
  if (p.inputs.size() > kBias && p.inputs[kBias] != ir::kNoValue) {
    const Tensor& b = *g.constant(p.inputs[kBias]);
    double beta = 1.0;
    if (const ir::Attribute* a = p.attribute("beta"); a != nullptr && is_op(p, "Gemm")) beta = a->f;
    for (size_t c = 0; c < channels; ++c) bias[c] = beta * b.data<float>()[b.numel() == 1 ? 0 : c];
  }
  std::vector<float> new_bias(channels);
  for (size_t c = 0; c < channels; ++c) new_bias[c] = static_cast<float>(bias[c] * scale[c] + shift[c]);

  const std::string base = p.name.empty() ? std::string("folded") : p.name;
  p.inputs[kWeight] = add_constant(g, base + ".weight", std::move(new_w));
  const ir::ValueId b_id = add_constant(
      g, base + ".bias", Tensor::from_vector<float>({static_cast<int64_t>(channels)}, new_bias));
  if (p.inputs.size() <= kBias) p.inputs.resize(kBias + 1, ir::kNoValue);
  p.inputs[kBias] = b_id;
  if (is_op(p, "Gemm")) {
    ir::Attribute beta;
    beta.kind = ir::Attribute::Kind::kFloat;
    beta.f = 1.0f;
    p.attributes["beta"] = beta;
  }
}

}  // namespace ecoinfer::passes
