#include <cmath>

#include "zoo/builders.h"

namespace ecoinfer::zoo {

std::string conv_bn(OnnxBuilder& b, const std::string& x, const ConvSpec& s, const std::string& name) {
  // He initialization keeps activations at a steady scale through ReLUs.
  int64_t fan_in = s.in / s.groups * s.kernel * s.kernel;
  float stddev = std::sqrt(2.0f / static_cast<float>(fan_in));
  std::string w = b.normal_weight(name + ".weight", {s.out, s.in / s.groups, s.kernel, s.kernel}, stddev);
  int64_t pad = s.kernel / 2;
  std::string y = b.op("Conv", {x, w},
                       {attr("kernel_shape", std::vector<int64_t>{s.kernel, s.kernel}),
                        attr("strides", std::vector<int64_t>{s.stride, s.stride}),
                        attr("pads", std::vector<int64_t>{pad, pad, pad, pad}), attr("group", s.groups)},
                       name);
  // Statistics near identity: a trained BN keeps activations near unit scale.
  std::string gamma = b.filled_weight(name + ".bn.weight", {s.out}, s.bn_scale);
  std::string beta = b.normal_weight(name + ".bn.bias", {s.out}, 0.01f);
  std::string mean = b.normal_weight(name + ".bn.running_mean", {s.out}, 0.01f);
  std::string var = b.filled_weight(name + ".bn.running_var", {s.out}, 1.0f);
  return b.op("BatchNormalization", {y, gamma, beta, mean, var}, {attr("epsilon", 1e-5f)}, name + ".bn");
}

}  // namespace ecoinfer::zoo
