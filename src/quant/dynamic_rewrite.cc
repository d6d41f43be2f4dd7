// Dynamic quantization, as ONNX Runtime's quantize_dynamic writes it:
//   x -> DynamicQuantizeLinear -> (x_q uint8, s_x, zp_x)
//   MatMulInteger(x_q, W_q int8, zp_x, zp_w) -> int32 -> Cast(float) -> Mul(s_x * s_w)
// The activation range is measured on every run, so no calibration is needed.
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "quant/model_proto.h"
#include "quant/qdq_rewrite.h"

namespace ecoinfer::quant {
namespace {

class DynamicRewriter {
 public:
  DynamicRewriter(onnx::GraphProto& graph, const QuantizeOptions& options)
      : graph_(graph), options_(options), names_(graph) {}

  Expected<RewriteResult> run() {
    RewriteResult result;
    std::vector<onnx::NodeProto> nodes(graph_.node().begin(), graph_.node().end());
    for (onnx::NodeProto& node : nodes) {
      if (!is_candidate(node)) {
        emitted_.push_back(std::move(node));
        continue;
      }
      if (is_excluded(node, options_)) {
        ++result.excluded;
        emitted_.push_back(std::move(node));
        continue;
      }
      ECOINFER_RETURN_IF_ERROR(quantize(node));
      result.quantized.push_back({node.name(), node.op_type(), node.output(0), {node.input(0)}});
    }
    graph_.clear_node();
    for (auto& n : emitted_) *graph_.add_node() = std::move(n);
    remove_unused_initializers(graph_);
    return result;
  }

 private:
  bool is_candidate(const onnx::NodeProto& node) const {
    if (node.op_type() != "MatMul" || !(node.domain().empty() || node.domain() == "ai.onnx")) return false;
    if (find_initializer(graph_, node.input(0)) != nullptr) return false;
    const onnx::TensorProto* w = find_initializer(graph_, node.input(1));
    return w != nullptr && w->data_type() == onnx::TensorProto::FLOAT && w->dims_size() == 2;
  }

  Status quantize(const onnx::NodeProto& node) {
    const auto& [xq, xs, xzp] = dynamic_quantize(node.input(0));
    ECOINFER_ASSIGN_OR_RETURN(Tensor w, float_initializer(graph_, node.input(1)));
    const int axis = options_.per_channel ? 1 : -1;  // [K, N]: one scale per output column
    const QuantizedWeight q = quantize_weight_symmetric(w, axis);
    const auto n = static_cast<int64_t>(q.scales.size());
    const std::string base = node.input(1);
    const std::string wq = add_initializer(base + "_quantized", q.values);
    const std::string wzp = add_initializer(base + "_zero_point", axis < 0 ? Tensor::scalar<int8_t>(0)
                                                                            : Tensor::zeros(DataType::kInt8, {n}));
    const std::string ws = add_initializer(base + "_scale", axis < 0 ? Tensor::scalar<float>(q.scales[0])
                                                                      : Tensor::from_vector<float>({n}, q.scales));
    const std::string prefix = node.name().empty() ? node.output(0) : node.name();
    const std::string acc = emit("MatMulInteger", prefix + "_MatMulInteger", {xq, wq, xzp, wzp});
    const std::string acc_f = emit("Cast", prefix + "_Cast", {acc}, onnx::TensorProto::FLOAT);
    const std::string scale = emit("Mul", prefix + "_scales_mul", {xs, ws});
    emit("Mul", prefix + "_output_scale_mul", {acc_f, scale}, -1, node.output(0));
    return Status::ok();
  }

  // One DynamicQuantizeLinear per activation, shared by its consumers.
  std::array<std::string, 3> dynamic_quantize(const std::string& x) {
    if (auto it = dql_of_.find(x); it != dql_of_.end()) return it->second;
    onnx::NodeProto n;
    n.set_op_type("DynamicQuantizeLinear");
    n.set_name(names_.make(x + "_DynamicQuantizeLinear"));
    n.add_input(x);
    std::array<std::string, 3> outs = {names_.make(x + "_quantized"), names_.make(x + "_scale"),
                                       names_.make(x + "_zero_point")};
    for (const auto& o : outs) n.add_output(o);
    emitted_.push_back(std::move(n));
    return dql_of_[x] = outs;
  }

  std::string add_initializer(const std::string& base, const Tensor& value) {
    const std::string name = names_.make(base);
    *graph_.add_initializer() = make_tensor_proto(name, value);
    return name;
  }

  // `to` >= 0 sets Cast's target type; an empty `output` gets a fresh name.
  std::string emit(const std::string& op, const std::string& name, const std::vector<std::string>& inputs, int to = -1,
                   std::string output = "") {
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_name(names_.make(name));
    for (const auto& i : inputs) n.add_input(i);
    if (output.empty()) output = names_.make(name + "_output");
    n.add_output(output);
    if (to >= 0) {
      auto* a = n.add_attribute();
      a->set_name("to");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(to);
    }
    emitted_.push_back(std::move(n));
    return output;
  }

  onnx::GraphProto& graph_;
  const QuantizeOptions& options_;
  NameMaker names_;
  std::vector<onnx::NodeProto> emitted_;
  std::map<std::string, std::array<std::string, 3>> dql_of_;
};

}  // namespace

Expected<RewriteResult> rewrite_dynamic(onnx::GraphProto& graph, const QuantizeOptions& options) {
  return DynamicRewriter(graph, options).run();
}

}  // namespace ecoinfer::quant
