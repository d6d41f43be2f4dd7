#include "quant/model_proto.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "onnx/tensor_proto.h"

namespace ecoinfer::quant {

Expected<onnx::ModelProto> load_model_proto(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(fmt::format("cannot open model {}: check the path", path.string()));
  google::protobuf::io::IstreamInputStream stream(&in);
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT32_MAX);
  onnx::ModelProto model;
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    return invalid_model(fmt::format("{} is not an ONNX model (protobuf parse failed)", path.string()));
  return model;
}

Status save_model_proto(const onnx::ModelProto& model, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error(fmt::format("cannot write {}: check the folder exists and is writable", path.string()));
  if (!model.SerializeToOstream(&out) || !out.flush())
    return io_error(fmt::format("writing {} failed (disk full?)", path.string()));
  return Status::ok();
}

int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  return 0;
}

void set_default_opset(onnx::ModelProto& model, int64_t version) {
  for (auto& o : *model.mutable_opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      o.set_version(version);
      return;
    }
  }
  auto* o = model.add_opset_import();
  o->set_domain("");
  o->set_version(version);
}

const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

Expected<Tensor> float_initializer(const onnx::GraphProto& graph, const std::string& name) {
  const onnx::TensorProto* proto = find_initializer(graph, name);
  if (proto == nullptr) return not_found(fmt::format("no initializer '{}'", name));
  if (proto->data_type() != onnx::TensorProto::FLOAT)
    return unimplemented(fmt::format("initializer '{}' is not float32", name));
  return onnx_import::tensor_from_proto(*proto, {});
}

onnx::TensorProto make_tensor_proto(const std::string& name, const Tensor& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(static_cast<int32_t>(values.dtype()));
  for (int64_t d : values.shape()) t.add_dims(d);
  t.set_raw_data(values.raw_data(), values.nbytes());
  return t;
}

void add_float_output(onnx::GraphProto& graph, const std::string& name) {
  for (const auto& o : graph.output())
    if (o.name() == name) return;
  auto* out = graph.add_output();
  out->set_name(name);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

void constants_to_initializers(onnx::GraphProto& graph) {
  auto* nodes = graph.mutable_node();
  for (int i = 0; i < nodes->size(); ++i) {
    const onnx::NodeProto& node = nodes->Get(i);
    if (node.op_type() != "Constant" || node.output_size() != 1 || node.attribute_size() != 1) continue;
    const onnx::AttributeProto& a = node.attribute(0);
    if (a.name() != "value" || !a.has_t()) continue;
    onnx::TensorProto* t = graph.add_initializer();
    *t = a.t();
    t->set_name(node.output(0));
    nodes->DeleteSubrange(i--, 1);
  }
}

void remove_unused_initializers(onnx::GraphProto& graph) {
  std::vector<std::string> used;
  for (const auto& n : graph.node())
    for (const auto& i : n.input()) used.push_back(i);
  for (const auto& o : graph.output()) used.push_back(o.name());
  std::sort(used.begin(), used.end());
  auto unused = [&](const std::string& name) { return !std::binary_search(used.begin(), used.end(), name); };
  std::vector<std::string> removed;
  auto* inits = graph.mutable_initializer();
  for (int i = 0; i < inits->size(); ++i) {
    if (unused(inits->Get(i).name())) {
      removed.push_back(inits->Get(i).name());
      inits->DeleteSubrange(i--, 1);
    }
  }
  std::sort(removed.begin(), removed.end());
  auto* inputs = graph.mutable_input();  // IR < 4 lists initializers as inputs too
  for (int i = 0; i < inputs->size(); ++i)
    if (std::binary_search(removed.begin(), removed.end(), inputs->Get(i).name())) inputs->DeleteSubrange(i--, 1);
}

NameMaker::NameMaker(const onnx::GraphProto& graph) {
  for (const auto& t : graph.initializer()) taken_sorted_.push_back(t.name());
  for (const auto& v : graph.input()) taken_sorted_.push_back(v.name());
  for (const auto& n : graph.node()) {
    taken_sorted_.push_back(n.name());
    for (const auto& o : n.output()) taken_sorted_.push_back(o);
  }
  std::sort(taken_sorted_.begin(), taken_sorted_.end());
}

bool NameMaker::taken(const std::string& name) const {
  return std::binary_search(taken_sorted_.begin(), taken_sorted_.end(), name) ||
         std::find(made_.begin(), made_.end(), name) != made_.end();
}

std::string NameMaker::make(const std::string& base) {
  std::string name = base;
  for (int i = 1; taken(name); ++i) name = fmt::format("{}_{}", base, i);
  made_.push_back(name);
  return name;
}

TempFile::TempFile(const std::string& stem) {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          fmt::format("ecoinfer-{}-{}-{}.onnx", stem, ::getpid(), counter.fetch_add(1));
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace ecoinfer::quant
