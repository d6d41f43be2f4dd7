// Builds small ONNX models in tests, with the protobuf API:
//   ModelBuilder b(13);
//   b.input("x", onnx::TensorProto::FLOAT, {1, 3});
//   b.node("Relu", {"x"}, {"y"});
//   b.output("y", onnx::TensorProto::FLOAT, {1, 3});
//   b.save(dir / "model.onnx");
//   auto out = save_and_run(b, "relu", {{"x", x}});   // in testing::temp_dir("relu")
//
// Attribute setters (set_int, set_ints, set_float, set_string) and typed
// initializers live here too, so test files do not carry their own copies.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "test_util.h"

namespace ecoinfer::testing {

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset, const std::string& domain = "") {
    model_.set_ir_version(8);
    model_.set_producer_name("ecoinfer-tests");
    auto* op = model_.add_opset_import();
    op->set_domain(domain);
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  // Dimensions < 0 are symbolic ("d0", "d1"...).
  void input(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims) {
    describe(model_.mutable_graph()->add_input(), name, elem_type, dims);
  }
  void output(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims) {
    describe(model_.mutable_graph()->add_output(), name, elem_type, dims);
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& domain = "") {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_domain(domain);
    n->set_name(op + "_" + std::to_string(model_.graph().node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  onnx::TensorProto* initializer(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return t;
  }
  onnx::ModelProto& proto() { return model_; }

  void save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary);
    model_.SerializeToOstream(&out);
  }

 private:
  static void describe(onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                       const std::vector<int64_t>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      auto* d = shape->add_dim();
      if (dims[i] >= 0) d->set_dim_value(dims[i]);
      else d->set_dim_param(std::string("d").append(std::to_string(i)));
    }
  }

  onnx::ModelProto model_;
};

inline void set_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void set_float(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
inline void set_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}
// An initializer of any element type from its raw little-endian bytes
// (int8/uint8 weights and zero points, int32 biases).
inline void raw_initializer(ModelBuilder& b, const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                            const void* data, size_t bytes) {
  onnx::TensorProto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
}
template <class T>
void raw_initializer(ModelBuilder& b, const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                     const std::vector<T>& values) {
  raw_initializer(b, name, type, dims, values.data(), values.size() * sizeof(T));
}
inline void int64_initializer(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& values) {
  onnx::TensorProto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
}

// Saves the model in temp_dir(name) and loads it (two threads by default,
// so the kernels' parallel paths run).
inline Expected<std::unique_ptr<Session>> save_and_load(const ModelBuilder& b, const std::string& name,
                                                        SessionOptions options = {.threads = 2}) {
  const auto path = temp_dir(name) / "model.onnx";
  b.save(path);
  return Session::load(path, options);
}
inline Expected<std::vector<NamedTensor>> save_and_run(const ModelBuilder& b, const std::string& name,
                                                       const std::vector<NamedTensor>& inputs) {
  auto s = save_and_load(b, name);
  if (!s) return s.status();
  return (*s)->run(inputs);
}

}  // namespace ecoinfer::testing
