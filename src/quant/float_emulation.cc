#include "quant/float_emulation.h"

#include <algorithm>

#include <fmt/format.h>

#include "onnx/tensor_proto.h"
#include "quant/model_proto.h"

namespace ecoinfer::quant {
namespace {

Expected<Tensor> initializer_as_float(const onnx::GraphProto& graph, const std::string& name) {
  const onnx::TensorProto* proto = find_initializer(graph, name);
  if (proto == nullptr) return unimplemented(fmt::format("'{}' must be a constant for the float emulation", name));
  ECOINFER_ASSIGN_OR_RETURN(Tensor t, onnx_import::tensor_from_proto(*proto, {}));
  Tensor f = Tensor::zeros(DataType::kFloat32, t.shape());
  auto out = f.span<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DataType::kFloat32: out[i] = t.data<float>()[i]; break;
      case DataType::kInt8: out[i] = t.data<int8_t>()[i]; break;
      case DataType::kUInt8: out[i] = t.data<uint8_t>()[i]; break;
      case DataType::kInt32: out[i] = static_cast<float>(t.data<int32_t>()[i]); break;
      default: return unimplemented(fmt::format("'{}' has type {}, not a quantized type", name, dtype_name(t.dtype())));
    }
  }
  return f;
}

// Integer limits of a zero point's type (uint8 when absent, as ONNX says).
std::pair<float, float> integer_limits(const onnx::GraphProto& graph, const onnx::NodeProto& node) {
  const onnx::TensorProto* zp = node.input_size() > 2 ? find_initializer(graph, node.input(2)) : nullptr;
  if (zp != nullptr && zp->data_type() == onnx::TensorProto::INT8) return {-128.0f, 127.0f};
  return {0.0f, 255.0f};
}

class Emulator {
 public:
  explicit Emulator(onnx::ModelProto model) : model_(std::move(model)), graph_(*model_.mutable_graph()), names_(graph_) {}

  Expected<onnx::ModelProto> run() {
    std::vector<onnx::NodeProto> nodes(graph_.node().begin(), graph_.node().end());
    for (const onnx::NodeProto& node : nodes) {
      const std::string& op = node.op_type();
      Status s = Status::ok();
      if (op == "QuantizeLinear") s = quantize(node);
      else if (op == "DequantizeLinear") s = dequantize(node);
      else if (op == "DynamicQuantizeLinear") s = dynamic_quantize(node);
      else if (op == "MatMulInteger") s = matmul_integer(node);
      else emitted_.push_back(node);
      if (!s.is_ok()) return s.with_context(fmt::format("float emulation of {} '{}'", op, node.name()));
    }
    graph_.clear_node();
    for (auto& n : emitted_) *graph_.add_node() = std::move(n);
    remove_unused_initializers(graph_);
    return std::move(model_);
  }

 private:
  // round(x / s) + zp, clamped to the integer type: Floor(x/s + 0.5) in float.
  std::string quantized_value(const std::string& x, const std::string& scale, const std::string& zero, float lo, float hi,
                              const std::string& output = "") {
    const std::string rounded = op("Floor", {op("Add", {op("Div", {x, scale}), constant(0.5f)})});
    return op("Min", {op("Max", {op("Add", {rounded, zero}), constant(lo)}), constant(hi)}, output);
  }

  Status quantize(const onnx::NodeProto& node) {
    ECOINFER_ASSIGN_OR_RETURN(Tensor scale, initializer_as_float(graph_, node.input(1)));
    if (scale.numel() != 1) return unimplemented("per-axis QuantizeLinear is not emulated");
    const auto [lo, hi] = integer_limits(graph_, node);
    std::string zero = constant(0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) {
      ECOINFER_ASSIGN_OR_RETURN(Tensor z, initializer_as_float(graph_, node.input(2)));
      zero = add_initializer(node.input(2) + "_float", z);
    }
    quantized_value(node.input(0), node.input(1), zero, lo, hi, node.output(0));
    return Status::ok();
  }

  Status dequantize(const onnx::NodeProto& node) {
    ECOINFER_ASSIGN_OR_RETURN(Tensor scale, initializer_as_float(graph_, node.input(1)));
    Tensor zero = Tensor::scalar<float>(0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) {
      ECOINFER_ASSIGN_OR_RETURN(zero, initializer_as_float(graph_, node.input(2)));
    }
    if (find_initializer(graph_, node.input(0)) != nullptr) {
      ECOINFER_ASSIGN_OR_RETURN(Tensor q, initializer_as_float(graph_, node.input(0)));
      int64_t axis = 1;
      for (const auto& a : node.attribute())
        if (a.name() == "axis") axis = a.i();
      *graph_.add_initializer() = make_tensor_proto(node.output(0), dequantized(q, scale, zero, axis));
      return Status::ok();
    }
    if (scale.numel() != 1) return unimplemented("per-axis DequantizeLinear of a computed tensor is not emulated");
    op("Mul", {op("Sub", {node.input(0), add_initializer(node.name() + "_zero", zero)}), node.input(1)}, node.output(0));
    return Status::ok();
  }

  static Tensor dequantized(const Tensor& q, const Tensor& scale, const Tensor& zero, int64_t axis) {
    Tensor out = Tensor::zeros(DataType::kFloat32, q.shape());
    if (axis < 0) axis += static_cast<int64_t>(q.rank());
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < q.rank(); ++d) inner *= q.dim(d);
    const int64_t channels = scale.numel();
    for (int64_t i = 0; i < q.numel(); ++i) {
      const int64_t c = channels == 1 ? 0 : (i / inner) % channels;
      const float z = zero.numel() == 1 ? zero.data<float>()[0] : zero.data<float>()[c];
      out.data<float>()[i] = (q.data<float>()[i] - z) * scale.data<float>()[c];
    }
    return out;
  }

  // Range over the whole tensor widened to include 0, 256 levels.
  Status dynamic_quantize(const onnx::NodeProto& node) {
    const std::string flat = op("Reshape", {node.input(0), add_initializer("flat_shape", Tensor::from_vector<int64_t>({1}, {-1}))});
    const std::string lo = op("Min", {reduce("ReduceMin", flat), constant(0.0f)});
    const std::string hi = op("Max", {reduce("ReduceMax", flat), constant(0.0f)});
    const std::string scale = op("Max", {op("Div", {op("Sub", {hi, lo}), constant(255.0f)}), constant(1e-30f)}, node.output(1));
    const std::string zero = op("Min", {op("Max", {op("Floor", {op("Add", {op("Div", {op("Neg", {lo}), scale}), constant(0.5f)})}),
                                                   constant(0.0f)}), constant(255.0f)}, node.output(2));
    quantized_value(node.input(0), scale, zero, 0.0f, 255.0f, node.output(0));
    return Status::ok();
  }

  // (a - zp_a) x (b - zp_b), with b a constant: float MatMul of integers.
  Status matmul_integer(const onnx::NodeProto& node) {
    ECOINFER_ASSIGN_OR_RETURN(Tensor b, initializer_as_float(graph_, node.input(1)));
    if (node.input_size() > 3 && !node.input(3).empty()) {
      ECOINFER_ASSIGN_OR_RETURN(Tensor zb, initializer_as_float(graph_, node.input(3)));
      const int64_t n = b.dim(b.rank() - 1);
      for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] -= zb.data<float>()[zb.numel() == 1 ? 0 : i % n];
    }
    std::string a = node.input(0);
    if (node.input_size() > 2 && !node.input(2).empty()) a = op("Sub", {a, node.input(2)});
    op("MatMul", {a, add_initializer(node.input(1) + "_float", b)}, node.output(0));
    return Status::ok();
  }

  std::string reduce(const std::string& type, const std::string& x) {
    const std::string out = op(type, {x});
    auto& n = emitted_.back();
    auto* axes = n.add_attribute();
    axes->set_name("axes");
    axes->set_type(onnx::AttributeProto::INTS);
    axes->add_ints(0);
    auto* keep = n.add_attribute();
    keep->set_name("keepdims");
    keep->set_type(onnx::AttributeProto::INT);
    keep->set_i(0);
    return out;
  }

  std::string constant(float value) { return add_initializer("emulation_constant", Tensor::scalar<float>(value)); }

  std::string add_initializer(const std::string& base, const Tensor& value) {
    const std::string name = names_.make(base);
    *graph_.add_initializer() = make_tensor_proto(name, value);
    return name;
  }

  std::string op(const std::string& type, const std::vector<std::string>& inputs, std::string output = "") {
    onnx::NodeProto n;
    n.set_op_type(type);
    n.set_name(names_.make("emulation_" + type));
    for (const auto& i : inputs) n.add_input(i);
    if (output.empty()) output = names_.make(n.name() + "_output");
    n.add_output(output);
    emitted_.push_back(std::move(n));
    return output;
  }

  onnx::ModelProto model_;
  onnx::GraphProto& graph_;
  NameMaker names_;
  std::vector<onnx::NodeProto> emitted_;
};

}  // namespace

Expected<onnx::ModelProto> float_emulation(const onnx::ModelProto& quantized) { return Emulator(quantized).run(); }

}  // namespace ecoinfer::quant
