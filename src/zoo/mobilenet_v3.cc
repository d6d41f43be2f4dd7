// MobileNetV3-Large 1.0 (Howard et al. 2019; torchvision's layout): inverted
// residual blocks with depthwise convs, squeeze-excite and hard-swish.
#include <cmath>

#include <fmt/format.h>

#include "zoo/builders.h"

namespace ecoinfer::zoo {
namespace {

struct BlockSpec {
  int64_t in, kernel, expanded, out;
  bool se;
  bool hard_swish;  // else ReLU
  int64_t stride;
};

// The paper's Table 1 (Large).
constexpr BlockSpec kBlocks[] = {
    {16, 3, 16, 16, false, false, 1},   {16, 3, 64, 24, false, false, 2},   {24, 3, 72, 24, false, false, 1},
    {24, 5, 72, 40, true, false, 2},    {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
    {40, 3, 240, 80, false, true, 2},   {80, 3, 200, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
    {80, 3, 184, 80, false, true, 1},   {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
    {112, 5, 672, 160, true, true, 2},  {160, 5, 960, 160, true, true, 1},  {160, 5, 960, 160, true, true, 1},
};

// Channels rounded to a multiple of 8, as the reference implementation does.
int64_t make_divisible(double v) {
  int64_t r = std::max<int64_t>(8, static_cast<int64_t>(v + 4) / 8 * 8);
  if (r < 0.9 * v) r += 8;
  return r;
}

std::string activate(OnnxBuilder& b, const std::string& x, bool hard_swish) {
  return b.op(hard_swish ? "HardSwish" : "Relu", {x});
}

// relu6(x + 3) / 6, torchvision's hard sigmoid (ONNX's default alpha is 0.2).
std::string hard_sigmoid(OnnxBuilder& b, const std::string& x) {
  return b.op("HardSigmoid", {x}, {attr("alpha", 1.0f / 6.0f), attr("beta", 0.5f)});
}

std::string conv_bias(OnnxBuilder& b, const std::string& x, int64_t in, int64_t out, const std::string& name) {
  std::string w = b.normal_weight(name + ".weight", {out, in, 1, 1}, std::sqrt(2.0f / static_cast<float>(in)));
  std::string bias = b.filled_weight(name + ".bias", {out}, 0.0f);
  return b.op("Conv", {x, w, bias}, {attr("kernel_shape", std::vector<int64_t>{1, 1})}, name);
}

std::string squeeze_excite(OnnxBuilder& b, const std::string& x, int64_t channels, const std::string& name) {
  int64_t squeezed = make_divisible(channels / 4.0);
  std::string s = b.op("GlobalAveragePool", {x});
  s = b.op("Relu", {conv_bias(b, s, channels, squeezed, name + ".fc1")});
  s = hard_sigmoid(b, conv_bias(b, s, squeezed, channels, name + ".fc2"));
  return b.op("Mul", {x, s});
}

std::string inverted_residual(OnnxBuilder& b, const std::string& x, const BlockSpec& s, const std::string& name) {
  std::string y = x;
  if (s.expanded != s.in) y = activate(b, conv_bn(b, y, {s.in, s.expanded, 1, 1}, name + ".expand"), s.hard_swish);
  y = activate(b, conv_bn(b, y, {s.expanded, s.expanded, s.kernel, s.stride, s.expanded}, name + ".depthwise"),
               s.hard_swish);
  if (s.se) y = squeeze_excite(b, y, s.expanded, name + ".se");
  bool residual = s.stride == 1 && s.in == s.out;
  y = conv_bn(b, y, {s.expanded, s.out, 1, 1, 1, residual ? 0.2f : 1.0f}, name + ".project");
  return residual ? b.op("Add", {y, x}) : y;
}

std::string linear(OnnxBuilder& b, const std::string& x, int64_t in, int64_t out, const std::string& name) {
  std::string w = b.normal_weight(name + ".weight", {out, in}, 1.0f / std::sqrt(static_cast<float>(in)));
  std::string bias = b.filled_weight(name + ".bias", {out}, 0.0f);
  return b.op("Gemm", {x, w, bias}, {attr("transB", int64_t{1})}, name);
}

}  // namespace

onnx::ModelProto build_mobilenet_v3_large(uint64_t seed) {
  OnnxBuilder b("mobilenet_v3_large", kOpset, seed);
  b.input("input", onnx::TensorProto::FLOAT, {"batch", 3, 224, 224});
  std::string x = b.op("HardSwish", {conv_bn(b, "input", {3, 16, 3, 2}, "features.0")});
  int i = 1;
  for (const BlockSpec& s : kBlocks) x = inverted_residual(b, x, s, fmt::format("features.{}", i++));
  x = b.op("HardSwish", {conv_bn(b, x, {160, 960, 1, 1}, fmt::format("features.{}", i))});
  x = b.op("Flatten", {b.op("GlobalAveragePool", {x})}, {attr("axis", int64_t{1})});
  x = b.op("HardSwish", {linear(b, x, 960, 1280, "classifier.0")});
  std::string w = b.normal_weight("classifier.3.weight", {1000, 1280}, 1.0f / std::sqrt(1280.0f));
  std::string bias = b.filled_weight("classifier.3.bias", {1000}, 0.0f);
  std::string logits = b.op_named("logits", "Gemm", {x, w, bias}, {attr("transB", int64_t{1})});
  b.output(logits, onnx::TensorProto::FLOAT, {"batch", 1000});
  return b.finish();
}

}  // namespace ecoinfer::zoo
