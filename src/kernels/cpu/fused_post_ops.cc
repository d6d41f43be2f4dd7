#include "kernels/cpu/fused_post_ops.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "kernels/cpu/onednn_context.h"

namespace ecoinfer::kernels::onednn {
namespace {

using dnnl::algorithm;

constexpr float kLowest = std::numeric_limits<float>::lowest();
constexpr float kMax = std::numeric_limits<float>::max();

// oneDNN's clip takes finite bounds; ONNX's defaults are the float range.
float finite(float v) { return std::clamp(v, kLowest, kMax); }

algorithm binary_algorithm(const std::string& a) {
  if (a == "sub") return algorithm::binary_sub;
  if (a == "mul") return algorithm::binary_mul;
  if (a == "div") return algorithm::binary_div;
  if (a == "max") return algorithm::binary_max;
  if (a == "min") return algorithm::binary_min;
  return algorithm::binary_add;
}

algorithm eltwise_algorithm(const std::string& a) {
  if (a == "clip") return algorithm::eltwise_clip;
  if (a == "hardswish") return algorithm::eltwise_hardswish;
  if (a == "sigmoid") return algorithm::eltwise_logistic;
  if (a == "swish") return algorithm::eltwise_swish;
  if (a == "tanh") return algorithm::eltwise_tanh;
  if (a == "gelu_erf") return algorithm::eltwise_gelu_erf;
  if (a == "gelu_tanh") return algorithm::eltwise_gelu_tanh;
  if (a == "linear") return algorithm::eltwise_linear;
  if (a == "elu") return algorithm::eltwise_elu;
  return algorithm::eltwise_relu;
}

}  // namespace

void PostOpChain::eltwise(algorithm alg, float alpha, float beta) {
  if (alg == algorithm::eltwise_linear) {
    // a2 * (a1 * x + b1) + b2
    if (pending_linear_) pending_linear_ = std::pair{alpha * pending_linear_->first, alpha * pending_linear_->second + beta};
    else pending_linear_ = std::pair{alpha, beta};
    return;
  }
  flush();
  if (alg == algorithm::eltwise_clip) alpha = finite(alpha), beta = finite(beta);
  auto it = std::find_if(first_.begin(), first_.end(), [&](const auto& f) { return std::get<0>(f) == alg; });
  if (it == first_.end()) {
    first_.emplace_back(alg, alpha, beta);
    ops_.append_eltwise(1.0f, alg, alpha, beta);
    return;
  }
  if (std::get<1>(*it) == alpha && std::get<2>(*it) == beta) {
    ops_.append_eltwise(1.0f, alg, alpha, beta);
  } else if (alg == algorithm::eltwise_clip) {
    if (alpha > kLowest) scalar(algorithm::binary_max, alpha);
    if (beta < kMax) scalar(algorithm::binary_min, beta);
  } else if (alg == algorithm::eltwise_relu && alpha == 0.0f) {
    scalar(algorithm::binary_max, 0.0f);
  } else if (unsupported_.empty()) {
    unsupported_ = fmt::format("oneDNN 2.6 applies one alpha per element-wise algorithm in a post-op chain; "
                               "{} repeats with alpha {} after {}",
                               dnnl_alg_kind2str(static_cast<dnnl_alg_kind_t>(alg)), alpha, std::get<1>(*it));
  }
}

void PostOpChain::flush() {
  if (!pending_linear_) return;
  const auto [a, b] = *pending_linear_;
  pending_linear_.reset();
  if (a == 1.0f && b == 0.0f) return;
  auto it = std::find_if(first_.begin(), first_.end(),
                         [&](const auto& f) { return std::get<0>(f) == algorithm::eltwise_linear; });
  if (it == first_.end() || (std::get<1>(*it) == a && std::get<2>(*it) == b)) {
    if (it == first_.end()) first_.emplace_back(algorithm::eltwise_linear, a, b);
    ops_.append_eltwise(1.0f, algorithm::eltwise_linear, a, b);
    return;
  }
  if (a != 1.0f) scalar(algorithm::binary_mul, a);
  if (b != 0.0f) scalar(algorithm::binary_add, b);
}

void PostOpChain::scalar(algorithm alg, float value) {
  const dnnl::memory::desc desc = plain_f32(dnnl::memory::dims(dst_rank_, 1));
  dnnl::memory m(desc, cpu_engine());
  *static_cast<float*>(m.get_data_handle()) = value;
  constants_.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops_.len()) | DNNL_ARG_SRC_1, m);
  ops_.append_binary(alg, desc);
}

void PostOpChain::sum() {
  flush();
  ops_.append_sum(1.0f);
}

int PostOpChain::binary(algorithm alg, const dnnl::memory::desc& src1) {
  flush();
  const int position = ops_.len();
  ops_.append_binary(alg, src1);
  return position;
}

Expected<dnnl::post_ops> PostOpChain::finish() {
  flush();
  if (!unsupported_.empty()) return unimplemented(unsupported_);
  return ops_;
}

Expected<FusedPostOps> FusedPostOps::read(const KernelInfo& info) {
  FusedPostOps fused;
  ECOINFER_ASSIGN_OR_RETURN(fused.ops_, passes::read_post_ops(info.node()));
  if (!passes::fits_onednn_chain(fused.ops_)) {
    return info.unsupported("its fused post-ops repeat swish, elu or leaky relu with another alpha, which oneDNN 2.6 "
                            "cannot chain");
  }
  for (const passes::PostOp& op : fused.ops_) {
    if (op.kind != passes::PostOp::Kind::kBinary) continue;
    if (!info.has_input(static_cast<size_t>(op.input))) {
      return info.model_error(fmt::format("post-op input {} is omitted", op.input));
    }
    fused.binary_inputs_.push_back(op.input);
  }
  return fused;
}

std::vector<int> FusedPostOps::append_to(PostOpChain& chain, const std::vector<dnnl::memory::desc>& src1,
                                         int sum_entry) const {
  std::vector<int> positions;
  for (const passes::PostOp& op : ops_) {
    if (op.kind == passes::PostOp::Kind::kBinary && static_cast<int>(positions.size()) == sum_entry) {
      chain.sum();
      positions.push_back(-1);
    } else if (op.kind == passes::PostOp::Kind::kBinary) {
      positions.push_back(chain.binary(binary_algorithm(op.alg), src1[positions.size()]));
    } else if (op.alg == "hardsigmoid") {  // clip(alpha * x + beta, 0, 1): oneDNN 2.6 has no hardsigmoid
      chain.eltwise(algorithm::eltwise_linear, op.alpha, op.beta);
      chain.eltwise(algorithm::eltwise_clip, 0.0f, 1.0f);
    } else {
      chain.eltwise(eltwise_algorithm(op.alg), op.alpha, op.beta);
    }
  }
  return positions;
}

Expected<dnnl::memory::dims> broadcast_into(const Shape& operand, const dnnl::memory::dims& dst,
                                            const std::string& who) {
  auto refuse = [&] {
    return invalid_argument(fmt::format("{}: fused operand of shape {} does not broadcast into the output {}", who,
                                        shape_to_string(operand), shape_to_string(Shape(dst.begin(), dst.end()))));
  };
  if (operand.size() > dst.size()) return refuse();
  dnnl::memory::dims dims(dst.size(), 1);
  const size_t offset = dst.size() - operand.size();
  for (size_t i = 0; i < operand.size(); ++i) {
    if (operand[i] != 1 && operand[i] != dst[offset + i]) return refuse();
    dims[offset + i] = operand[i];
  }
  return dims;
}

}  // namespace ecoinfer::kernels::onednn
