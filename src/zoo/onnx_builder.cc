#include "zoo/onnx_builder.h"

#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace ecoinfer::zoo {

onnx::AttributeProto attr(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

onnx::AttributeProto attr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
  return a;
}

onnx::AttributeProto attr(const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
  return a;
}

OnnxBuilder::OnnxBuilder(const std::string& graph_name, int64_t opset, uint64_t seed) : rng_(seed) {
  model_.set_ir_version(8);
  model_.set_producer_name("ecoinfer-zoo");
  model_.set_producer_version("0.1.0");
  auto* import = model_.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  graph_ = model_.mutable_graph();
  graph_->set_name(graph_name);
}

static void describe(onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                     const std::vector<Dim>& dims) {
  vi->set_name(name);
  auto* tensor_type = vi->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(elem_type);
  auto* shape = tensor_type->mutable_shape();
  for (const Dim& d : dims) {
    auto* dim = shape->add_dim();
    if (d.symbol.empty()) dim->set_dim_value(d.value);
    else dim->set_dim_param(d.symbol);
  }
}

void OnnxBuilder::input(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims) {
  describe(graph_->add_input(), name, elem_type, dims);
}

void OnnxBuilder::output(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims) {
  describe(graph_->add_output(), name, elem_type, dims);
}

std::string OnnxBuilder::unique(const std::string& hint) { return fmt::format("{}_{}", hint, counter_++); }

std::string OnnxBuilder::op(const std::string& op_type, const std::vector<std::string>& inputs,
                            const std::vector<onnx::AttributeProto>& attributes, const std::string& hint) {
  return op_named(unique(hint.empty() ? op_type : hint), op_type, inputs, attributes);
}

std::string OnnxBuilder::op_named(const std::string& out, const std::string& op_type,
                                  const std::vector<std::string>& inputs,
                                  const std::vector<onnx::AttributeProto>& attributes) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(op_type);
  node->set_name(out);
  for (const auto& i : inputs) node->add_input(i);
  node->add_output(out);
  for (const auto& a : attributes) *node->add_attribute() = a;
  return out;
}

onnx::TensorProto* OnnxBuilder::add_float_tensor(const std::string& name, const std::vector<int64_t>& dims) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  parameters_ += n;
  t->mutable_raw_data()->resize(static_cast<size_t>(n) * sizeof(float));
  return t;
}

// raw_data is little-endian float32, the layout of this machine's floats.
static float* float_data(onnx::TensorProto* t) { return reinterpret_cast<float*>(t->mutable_raw_data()->data()); }

std::string OnnxBuilder::normal_weight(const std::string& name, const std::vector<int64_t>& dims, float stddev) {
  onnx::TensorProto* t = add_float_tensor(name, dims);
  std::normal_distribution<float> normal(0.0f, stddev);
  float* p = float_data(t);
  size_t n = t->raw_data().size() / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = normal(rng_);
  return name;
}

std::string OnnxBuilder::filled_weight(const std::string& name, const std::vector<int64_t>& dims, float value) {
  onnx::TensorProto* t = add_float_tensor(name, dims);
  float* p = float_data(t);
  size_t n = t->raw_data().size() / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = value;
  return name;
}

std::string OnnxBuilder::float_constant(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<float>& values) {
  onnx::TensorProto* t = add_float_tensor(name, dims);
  std::memcpy(float_data(t), values.data(), t->raw_data().size());
  return name;
}

std::string OnnxBuilder::int64_constant(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<int64_t>& values) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return name;
}

Status save_model(const onnx::ModelProto& model, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error(fmt::format("cannot write '{}': check that its folder exists and is writable", path.string()));
  if (!model.SerializeToOstream(&out) || !out.flush())
    return io_error(fmt::format("writing '{}' failed (disk full?)", path.string()));
  return Status::ok();
}

}  // namespace ecoinfer::zoo
