#include "quant/qdq_rewrite.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "quant/model_proto.h"

namespace ecoinfer::quant {

bool is_excluded(const onnx::NodeProto& node, const QuantizeOptions& options) {
  return std::any_of(options.exclude.begin(), options.exclude.end(),
                     [&](const std::string& e) { return e == node.name() || e == node.op_type(); });
}

namespace {

bool is_default_domain(const onnx::NodeProto& node) { return node.domain().empty() || node.domain() == "ai.onnx"; }

bool is_float_initializer(const onnx::GraphProto& graph, const std::string& name, int rank = -1) {
  const onnx::TensorProto* t = find_initializer(graph, name);
  return t != nullptr && t->data_type() == onnx::TensorProto::FLOAT && (rank < 0 || t->dims_size() == rank);
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

// What static quantization does with a node: which inputs are activations to
// quantize, which is the weight and along which axis its output channels
// run, and which input is a bias that becomes int32.
struct StaticPlan {
  std::vector<int> activations;
  int weight = -1;
  int weight_axis = 0;
  int bias = -1;
};

std::optional<StaticPlan> plan_static(const onnx::GraphProto& graph, const onnx::NodeProto& node) {
  if (!is_default_domain(node) || node.input_size() < 2) return std::nullopt;
  const std::string& op = node.op_type();
  const bool a_const = find_initializer(graph, node.input(0)) != nullptr;
  if (a_const) return std::nullopt;
  StaticPlan plan;
  plan.activations.push_back(0);
  if (op == "Conv") {
    if (!is_float_initializer(graph, node.input(1))) return std::nullopt;
    plan.weight = 1;
    plan.weight_axis = 0;  // [M, C/group, kH, kW]
    if (node.input_size() > 2 && is_float_initializer(graph, node.input(2), 1)) plan.bias = 2;
    return plan;
  }
  // ConvTranspose stores its weight [C, M/group, kH, kW]: the output
  // channels run along axis 1, which a per-axis scale can name only when
  // there is one group (with more, axis 1 holds one group's channels).
  if (op == "ConvTranspose") {
    if (int_attribute(node, "group", 1) != 1 || !is_float_initializer(graph, node.input(1))) return std::nullopt;
    plan.weight = 1;
    plan.weight_axis = 1;
    if (node.input_size() > 2 && is_float_initializer(graph, node.input(2), 1)) plan.bias = 2;
    return plan;
  }
  if (op == "MatMul") {
    if (is_float_initializer(graph, node.input(1), 2)) {
      plan.weight = 1;
      plan.weight_axis = 1;  // [K, N]
    } else if (find_initializer(graph, node.input(1)) == nullptr) {
      plan.activations.push_back(1);  // activation x activation (attention)
    } else {
      return std::nullopt;
    }
    return plan;
  }
  if (op == "Gemm") {
    if (int_attribute(node, "transA", 0) != 0 || !is_float_initializer(graph, node.input(1), 2)) return std::nullopt;
    plan.weight = 1;
    plan.weight_axis = int_attribute(node, "transB", 0) != 0 ? 0 : 1;
    const bool plain = float_attribute(node, "alpha", 1) == 1 && float_attribute(node, "beta", 1) == 1;
    if (plain && node.input_size() > 2 && is_float_initializer(graph, node.input(2), 1)) plan.bias = 2;
    return plan;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> tensors_to_calibrate(const onnx::GraphProto& graph, const QuantizeOptions& options) {
  std::vector<std::string> tensors;
  for (const auto& node : graph.node()) {
    if (is_excluded(node, options)) continue;
    const auto plan = plan_static(graph, node);
    if (!plan) continue;
    for (int i : plan->activations)
      if (std::find(tensors.begin(), tensors.end(), node.input(i)) == tensors.end()) tensors.push_back(node.input(i));
  }
  return tensors;
}

QuantizedWeight quantize_weight_symmetric(const Tensor& weight, int axis) {
  const Shape& shape = weight.shape();
  const int64_t channels = axis < 0 ? 1 : shape[static_cast<size_t>(axis)];
  int64_t inner = 1;  // elements after the axis
  for (size_t d = static_cast<size_t>(axis) + 1; axis >= 0 && d < shape.size(); ++d) inner *= shape[d];
  if (axis < 0) inner = weight.numel();
  auto channel_of = [&](int64_t i) { return (i / inner) % channels; };
  const auto w = weight.span<float>();
  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < weight.numel(); ++i)
    amax[static_cast<size_t>(channel_of(i))] = std::max(amax[static_cast<size_t>(channel_of(i))], std::fabs(w[i]));
  QuantizedWeight q;
  for (float a : amax) q.scales.push_back(a > 0 ? a / 127.0f : 1.0f);  // an all-zero channel: any scale is exact
  q.values = Tensor::zeros(DataType::kInt8, shape);
  auto out = q.values.span<int8_t>();
  for (int64_t i = 0; i < weight.numel(); ++i) {
    const float scaled = std::nearbyint(w[i] / q.scales[static_cast<size_t>(channel_of(i))]);
    out[i] = static_cast<int8_t>(std::clamp(scaled, -127.0f, 127.0f));
  }
  return q;
}

UInt8Params uint8_params(FloatRange range) {
  const float lo = std::min(range.min, 0.0f);
  const float hi = std::max(range.max, 0.0f);
  UInt8Params p;
  if (hi - lo <= 0) return p;  // a tensor that is always 0
  p.scale = (hi - lo) / 255.0f;
  p.zero_point = static_cast<uint8_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0f, 255.0f));
  return p;
}

namespace {

class StaticRewriter {
 public:
  StaticRewriter(onnx::GraphProto& graph, const std::map<std::string, FloatRange>& ranges, const QuantizeOptions& options)
      : graph_(graph), ranges_(ranges), options_(options), names_(graph) {}

  Expected<RewriteResult> run() {
    RewriteResult result;
    std::vector<onnx::NodeProto> nodes(graph_.node().begin(), graph_.node().end());
    const std::set<std::string> quantized = quantized_activations(nodes);
    for (onnx::NodeProto& node : nodes) {
      if (shares_output_quantization(node, quantized)) {
        const UInt8Params p = uint8_params(ranges_.at(node.output(0)));
        for (int i = 0; i < node.input_size(); ++i) node.set_input(i, shared_qdq(node.input(i), node.output(0), p));
        emitted_.push_back(node);
        continue;
      }
      const auto plan = plan_static(graph_, node);
      const bool ready = plan && std::all_of(plan->activations.begin(), plan->activations.end(),
                                             [&](int i) { return ranges_.count(node.input(i)) > 0; });
      // The first exclude_first candidates in graph order stay fp32: in
      // these small CNNs the error of the early layers spreads through all
      // the later ones (docs/QUANTIZATION.md).
      const bool excluded = plan && (is_excluded(node, options_) || candidates_seen_++ < options_.exclude_first);
      if (excluded) ++result.excluded;
      if (!ready || excluded) {
        emitted_.push_back(node);
        continue;
      }
      std::vector<std::string> inputs;
      for (int i : plan->activations) inputs.push_back(node.input(i));
      ECOINFER_RETURN_IF_ERROR(quantize_node(node, *plan));
      result.quantized.push_back({node.name(), node.op_type(), node.output(0), std::move(inputs)});
      emitted_.push_back(node);
    }
    graph_.clear_node();
    for (auto& n : emitted_) *graph_.add_node() = std::move(n);
    remove_unused_initializers(graph_);  // the float weights now quantized
    return result;
  }

 private:
  // The activations run() will quantize: the inputs of the candidates that
  // have ranges and are not excluded (the same decisions, made ahead).
  std::set<std::string> quantized_activations(const std::vector<onnx::NodeProto>& nodes) const {
    std::set<std::string> out;
    int seen = 0;
    for (const onnx::NodeProto& node : nodes) {
      const auto plan = plan_static(graph_, node);
      if (!plan) continue;
      const bool excluded = is_excluded(node, options_) || seen++ < options_.exclude_first;
      const bool ready = std::all_of(plan->activations.begin(), plan->activations.end(),
                                     [&](int i) { return ranges_.count(node.input(i)) > 0; });
      if (ready && !excluded)
        for (int i : plan->activations) out.insert(node.input(i));
    }
    return out;
  }

  // A Concat whose output is quantized (a quantized node reads it) gets
  // Q -> DQ on every input with the output's scale and zero point, as ONNX
  // Runtime's quantizer writes it: the concatenation then moves uint8
  // values unchanged (passes/fuse_qdq_concat.cc), and the output's range
  // covers every input's, so nothing is clipped that the output's own
  // quantization would not clip.
  bool shares_output_quantization(const onnx::NodeProto& node, const std::set<std::string>& quantized) const {
    if (!is_default_domain(node) || node.op_type() != "Concat" || node.output_size() != 1 ||
        node.input_size() < 1 || is_excluded(node, options_) || quantized.count(node.output(0)) == 0 ||
        ranges_.count(node.output(0)) == 0) {
      return false;
    }
    return std::none_of(node.input().begin(), node.input().end(),
                        [&](const std::string& i) { return find_initializer(graph_, i) != nullptr; });
  }

  // Q -> DQ of `tensor` with the parameters of `owner` (a Concat's output),
  // apart from the tensor's own pair: another reader may quantize it with
  // its own range.
  std::string shared_qdq(const std::string& tensor, const std::string& owner, const UInt8Params& p) {
    const std::string key = tensor + "\n" + owner;
    if (auto it = dq_of_.find(key); it != dq_of_.end()) return it->second;
    const std::string scale = add_initializer(owner + "_shared_scale", Tensor::scalar<float>(p.scale));
    const std::string zero = add_initializer(owner + "_shared_zero_point", Tensor::scalar<uint8_t>(p.zero_point));
    const std::string q = names_.make(tensor + "_QuantizeLinear_Output");
    const std::string dq = names_.make(tensor + "_DequantizeLinear_Output");
    emit("QuantizeLinear", tensor + "_QuantizeLinear", {tensor, scale, zero}, q, -1);
    emit("DequantizeLinear", tensor + "_DequantizeLinear", {q, scale, zero}, dq, -1);
    dq_of_[key] = dq;
    return dq;
  }

  Status quantize_node(onnx::NodeProto& node, const StaticPlan& plan) {
    std::vector<float> activation_scales;
    for (int i : plan.activations) {
      const UInt8Params p = uint8_params(ranges_.at(node.input(i)));
      activation_scales.push_back(p.scale);
      node.set_input(i, activation_qdq(node.input(i), p));
    }
    if (plan.weight < 0) return Status::ok();
    const std::string weight_name = node.input(plan.weight);
    ECOINFER_ASSIGN_OR_RETURN(Tensor w, float_initializer(graph_, weight_name));
    const int axis = options_.per_channel ? plan.weight_axis : -1;
    const QuantizedWeight q = quantize_weight_symmetric(w, axis);
    node.set_input(plan.weight, weight_dq(weight_name, q, axis));
    if (plan.bias >= 0) {
      std::vector<float> bias_scales;
      for (float s : q.scales) bias_scales.push_back(s * activation_scales[0]);
      ECOINFER_ASSIGN_OR_RETURN(Tensor b, float_initializer(graph_, node.input(plan.bias)));
      node.set_input(plan.bias, bias_dq(node.input(plan.bias), b, bias_scales));
    }
    return Status::ok();
  }

  // One Q -> DQ pair per activation tensor, shared by all its quantized
  // consumers (the same range applies to all of them).
  std::string activation_qdq(const std::string& tensor, const UInt8Params& p) {
    if (auto it = dq_of_.find(tensor); it != dq_of_.end()) return it->second;
    const std::string scale = add_initializer(tensor + "_scale", Tensor::scalar<float>(p.scale));
    const std::string zero = add_initializer(tensor + "_zero_point", Tensor::scalar<uint8_t>(p.zero_point));
    const std::string q = names_.make(tensor + "_QuantizeLinear_Output");
    const std::string dq = names_.make(tensor + "_DequantizeLinear_Output");
    emit("QuantizeLinear", tensor + "_QuantizeLinear", {tensor, scale, zero}, q, -1);
    emit("DequantizeLinear", tensor + "_DequantizeLinear", {q, scale, zero}, dq, -1);
    dq_of_[tensor] = dq;
    return dq;
  }

  std::string weight_dq(const std::string& weight, const QuantizedWeight& q, int axis) {
    const auto n = static_cast<int64_t>(q.scales.size());
    const std::string values = add_initializer(weight + "_quantized", q.values);
    const Tensor scale = axis < 0 ? Tensor::scalar<float>(q.scales[0]) : Tensor::from_vector<float>({n}, q.scales);
    const Tensor zero = axis < 0 ? Tensor::scalar<int8_t>(0) : Tensor::zeros(DataType::kInt8, {n});
    const std::string dq = names_.make(weight + "_DequantizeLinear_Output");
    emit("DequantizeLinear", weight + "_DequantizeLinear",
         {values, add_initializer(weight + "_scale", scale), add_initializer(weight + "_zero_point", zero)}, dq, axis);
    return dq;
  }

  // int32 bias with scale s_x * s_w per output channel, as ORT's QDQ format
  // stores it: the integer kernel adds it to the int32 accumulator.
  std::string bias_dq(const std::string& bias, const Tensor& b, const std::vector<float>& scales) {
    const auto vals = b.span<float>();
    Tensor q = Tensor::zeros(DataType::kInt32, b.shape());
    auto out = q.span<int32_t>();
    for (size_t i = 0; i < vals.size(); ++i) {
      const float s = scales.size() == 1 ? scales[0] : scales[i];
      const double v = s > 0 ? std::nearbyint(vals[i] / static_cast<double>(s)) : 0.0;
      out[i] = static_cast<int32_t>(std::clamp<double>(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
    }
    const auto n = static_cast<int64_t>(scales.size());
    const Tensor scale = n == 1 ? Tensor::scalar<float>(scales[0]) : Tensor::from_vector<float>({n}, scales);
    const std::string dq = names_.make(bias + "_DequantizeLinear_Output");
    emit("DequantizeLinear", bias + "_DequantizeLinear",
         {add_initializer(bias + "_quantized", q), add_initializer(bias + "_scale", scale)}, dq, n == 1 ? -1 : 0);
    return dq;
  }

  std::string add_initializer(const std::string& base, const Tensor& value) {
    const std::string name = names_.make(base);
    *graph_.add_initializer() = make_tensor_proto(name, value);
    return name;
  }

  void emit(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
            const std::string& output, int axis) {
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_name(names_.make(name));
    for (const auto& i : inputs) n.add_input(i);
    n.add_output(output);
    if (axis >= 0) {
      auto* a = n.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(axis);
    }
    emitted_.push_back(std::move(n));
  }

  onnx::GraphProto& graph_;
  const std::map<std::string, FloatRange>& ranges_;
  const QuantizeOptions& options_;
  NameMaker names_;
  std::vector<onnx::NodeProto> emitted_;
  int candidates_seen_ = 0;
  std::map<std::string, std::string> dq_of_;
};

}  // namespace

Expected<RewriteResult> rewrite_static(onnx::GraphProto& graph, const std::map<std::string, FloatRange>& ranges,
                                       const QuantizeOptions& options) {
  return StaticRewriter(graph, ranges, options).run();
}

}  // namespace ecoinfer::quant
