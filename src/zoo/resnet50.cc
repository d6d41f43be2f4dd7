// ResNet-50 v1.5 (He et al. 2016; torchvision's layout): 25.6M parameters.
#include <cmath>

#include <fmt/format.h>

#include "zoo/builders.h"

namespace ecoinfer::zoo {
namespace {

std::string bottleneck(OnnxBuilder& b, const std::string& x, int64_t in, int64_t width, int64_t stride,
                       const std::string& name) {
  const int64_t out = width * 4;
  std::string y = b.op("Relu", {conv_bn(b, x, {in, width, 1, 1}, name + ".conv1")});
  // v1.5: the stride sits in the 3x3 conv, not the first 1x1.
  y = b.op("Relu", {conv_bn(b, y, {width, width, 3, stride}, name + ".conv2")});
  // A small last gamma (as with zero_init_residual) keeps the residual sum
  // from growing block after block with synthetic weights.
  y = conv_bn(b, y, {width, out, 1, 1, 1, 0.2f}, name + ".conv3");
  std::string shortcut = x;
  if (stride != 1 || in != out) shortcut = conv_bn(b, x, {in, out, 1, stride}, name + ".downsample");
  return b.op("Relu", {b.op("Add", {y, shortcut})});
}

}  // namespace

onnx::ModelProto build_resnet50(uint64_t seed) {
  OnnxBuilder b("resnet50", kOpset, seed);
  b.input("input", onnx::TensorProto::FLOAT, {"batch", 3, 224, 224});
  std::string x = b.op("Relu", {conv_bn(b, "input", {3, 64, 7, 2}, "conv1")});
  x = b.op("MaxPool", {x},
           {attr("kernel_shape", std::vector<int64_t>{3, 3}), attr("strides", std::vector<int64_t>{2, 2}),
            attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  const int64_t blocks[4] = {3, 4, 6, 3};
  int64_t in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t width = 64 << stage;
    for (int64_t i = 0; i < blocks[stage]; ++i) {
      int64_t stride = (i == 0 && stage > 0) ? 2 : 1;
      x = bottleneck(b, x, in, width, stride, fmt::format("layer{}.{}", stage + 1, i));
      in = width * 4;
    }
  }
  x = b.op("Flatten", {b.op("GlobalAveragePool", {x})}, {attr("axis", int64_t{1})});
  std::string w = b.normal_weight("fc.weight", {1000, 2048}, 1.0f / std::sqrt(2048.0f));
  std::string bias = b.filled_weight("fc.bias", {1000}, 0.0f);
  std::string logits = b.op_named("logits", "Gemm", {x, w, bias}, {attr("transB", int64_t{1})});
  b.output(logits, onnx::TensorProto::FLOAT, {"batch", 1000});
  return b.finish();
}

}  // namespace ecoinfer::zoo
