#include "onnx/model_loader.h"

#include <fstream>
#include <queue>
#include <unordered_set>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include "onnx/tensor_proto.h"

namespace ecoinfer::onnx_import {
namespace fs = std::filesystem;

namespace {

Expected<onnx::ModelProto> parse_model_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(fmt::format("model file {} does not exist", path.string()));
  if (fs::is_directory(path, ec))
    return invalid_argument(fmt::format("{} is a folder; give the path of a .onnx file", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(fmt::format("cannot open model file {}", path.string()));
  google::protobuf::io::IstreamInputStream raw(&in);
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT32_MAX);  // models up to 2 GiB; larger weights go in external data
  onnx::ModelProto model;
  const std::string not_onnx = fmt::format(
      "{} is not a valid ONNX model (the protobuf does not parse: truncated, or not an ONNX file); "
      "re-export or re-download it",
      path.string());
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) return invalid_model(not_onnx);
  if (!model.has_graph() || model.ir_version() <= 0 || model.graph().output_size() == 0) return invalid_model(not_onnx);
  return model;
}

void read_declared_type(const onnx::ValueInfoProto& vi, ValueDescription& out) {
  out.name = vi.name();
  if (!vi.type().has_tensor_type()) return;
  const auto& tt = vi.type().tensor_type();
  out.dtype = static_cast<DataType>(tt.elem_type());
  if (!tt.has_shape()) return;
  out.has_shape = true;
  out.shape.clear();
  for (const auto& d : tt.shape().dim()) {
    DimInfo dim;
    if (d.has_dim_value()) dim.value = d.dim_value();
    else if (d.has_dim_param()) dim.symbol = d.dim_param();
    out.shape.push_back(dim);
  }
}

Expected<ir::Attribute> convert_attribute(const onnx::AttributeProto& a, const fs::path& dir) {
  using K = ir::Attribute::Kind;
  ir::Attribute out;
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT: out.kind = K::kFloat; out.f = a.f(); break;
    case onnx::AttributeProto::INT: out.kind = K::kInt; out.i = a.i(); break;
    case onnx::AttributeProto::STRING: out.kind = K::kString; out.s = a.s(); break;
    case onnx::AttributeProto::TENSOR: {
      out.kind = K::kTensor;
      ECOINFER_ASSIGN_OR_RETURN(out.t, tensor_from_proto(a.t(), dir));
      break;
    }
    case onnx::AttributeProto::FLOATS: out.kind = K::kFloats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case onnx::AttributeProto::INTS: out.kind = K::kInts; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::STRINGS: out.kind = K::kStrings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
    case onnx::AttributeProto::GRAPH: case onnx::AttributeProto::GRAPHS: out.kind = K::kGraph; break;
    default: out.kind = K::kOther; break;
  }
  return out;
}

// A Constant node's value, whichever of its attribute forms it uses.
Expected<Tensor> constant_value(const onnx::NodeProto& n, const fs::path& dir) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") return tensor_from_proto(a.t(), dir);
    if (a.name() == "value_float") return Tensor::scalar<float>(a.f());
    if (a.name() == "value_int") return Tensor::scalar<int64_t>(a.i());
    if (a.name() == "value_floats")
      return Tensor::from_vector<float>({a.floats_size()}, {a.floats().begin(), a.floats().end()});
    if (a.name() == "value_ints")
      return Tensor::from_vector<int64_t>({a.ints_size()}, {a.ints().begin(), a.ints().end()});
  }
  return unimplemented(fmt::format("Constant node '{}': only value, value_float(s) and value_int(s) are supported",
                                   n.name()));
}

// Orders nodes so each runs after the producers of its inputs (Kahn).
Status sort_topologically(ir::Graph& g) {
  const size_t n = g.nodes.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> consumers(g.values.size());
  for (size_t i = 0; i < n; ++i) {
    for (ir::ValueId v : g.nodes[i].inputs) {
      if (v == ir::kNoValue) continue;
      const int producer = g.values[static_cast<size_t>(v)].producer;
      if (producer >= 0) { ++pending[i]; consumers[static_cast<size_t>(v)].push_back(i); }
    }
  }
  std::queue<size_t> ready;
  for (size_t i = 0; i < n; ++i) if (pending[i] == 0) ready.push(i);
  std::vector<ir::Node> sorted;
  sorted.reserve(n);
  while (!ready.empty()) {
    const size_t i = ready.front();
    ready.pop();
    for (ir::ValueId v : g.nodes[i].outputs) {
      if (v == ir::kNoValue) continue;
      for (size_t c : consumers[static_cast<size_t>(v)]) if (--pending[c] == 0) ready.push(c);
    }
    sorted.push_back(std::move(g.nodes[i]));
  }
  if (sorted.size() != n) return invalid_model("the graph has a cycle; ONNX graphs must be acyclic");
  g.nodes = std::move(sorted);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ir::ValueId v : g.nodes[i].outputs) if (v != ir::kNoValue) g.values[static_cast<size_t>(v)].producer = static_cast<int>(i);
  return Status::ok();
}

Status check_opsets(const onnx::ModelProto& m, ir::Graph& g, const fs::path& path) {
  for (const auto& op : m.opset_import()) g.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  auto it = g.opsets.find("");
  if (it == g.opsets.end()) g.opsets[""] = 1;  // the ONNX default when none is imported
  const int64_t v = g.opsets[""];
  if (v < kMinOpset || v > kMaxOpset) {
    return unimplemented(fmt::format("{} uses default-domain opset {}; ecoinfer supports opsets {} to {}: "
                                     "convert the model (onnx.version_converter) to one of those",
                                     path.string(), v, kMinOpset, kMaxOpset));
  }
  return Status::ok();
}

Status add_nodes(const onnx::GraphProto& gp, const fs::path& dir, ir::Graph& g) {
  int index = 0;
  for (const auto& np : gp.node()) {
    const std::string name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), index) : np.name();
    ++index;
    if (np.op_type() == "Constant" && (np.domain().empty() || np.domain() == "ai.onnx") && np.output_size() == 1) {
      auto value = constant_value(np, dir);
      if (!value) return value.status().with_context(fmt::format("Constant node '{}'", name));
      g.constants[g.add_value(np.output(0))] = std::move(*value);
      continue;
    }
    ir::Node node;
    node.name = name;
    node.op_type = np.op_type();
    node.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    auto opset_it = g.opsets.find(node.domain);
    node.opset = opset_it == g.opsets.end() ? 0 : static_cast<int>(opset_it->second);
    for (const auto& in : np.input()) node.inputs.push_back(in.empty() ? ir::kNoValue : g.add_value(in));
    for (const auto& out : np.output()) {
      if (out.empty()) { node.outputs.push_back(ir::kNoValue); continue; }
      const ir::ValueId id = g.add_value(out);
      if (g.values[static_cast<size_t>(id)].producer != -1 || g.constant(id))
        return invalid_model(fmt::format("value '{}' is produced twice (second time by node '{}')", out, name));
      g.values[static_cast<size_t>(id)].producer = static_cast<int>(g.nodes.size());
      node.outputs.push_back(id);
    }
    for (const auto& a : np.attribute()) {
      auto attr = convert_attribute(a, dir);
      if (!attr) return attr.status().with_context(fmt::format("node '{}' attribute '{}'", name, a.name()));
      node.attributes[a.name()] = std::move(*attr);
    }
    g.nodes.push_back(std::move(node));
  }
  return Status::ok();
}

// Every value a node reads must come from somewhere.
Status check_inputs_defined(const ir::Graph& g) {
  std::unordered_set<ir::ValueId> graph_inputs(g.inputs.begin(), g.inputs.end());
  for (const ir::Node& n : g.nodes) {
    for (ir::ValueId v : n.inputs) {
      if (v == ir::kNoValue) continue;
      if (g.values[static_cast<size_t>(v)].producer < 0 && !g.constant(v) && !graph_inputs.count(v))
        return invalid_model(fmt::format("{} reads value '{}', which no node, input or initializer defines",
                                         n.describe(), g.name_of(v)));
    }
  }
  for (ir::ValueId v : g.outputs) {
    if (g.values[static_cast<size_t>(v)].producer < 0 && !g.constant(v) && !graph_inputs.count(v))
      return invalid_model(fmt::format("graph output '{}' is not produced by any node", g.name_of(v)));
  }
  return Status::ok();
}

}  // namespace

Expected<ir::Graph> load_model(const fs::path& path) {
  ECOINFER_ASSIGN_OR_RETURN(onnx::ModelProto m, parse_model_file(path));
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  ir::Graph g;
  g.ir_version = m.ir_version();
  g.producer = m.producer_name() + (m.producer_version().empty() ? "" : " " + m.producer_version());
  ECOINFER_RETURN_IF_ERROR(check_opsets(m, g, path));
  const onnx::GraphProto& gp = m.graph();

  for (auto& init : *m.mutable_graph()->mutable_initializer()) {
    auto t = tensor_from_proto(init, dir);
    if (!t) return t.status().with_context(fmt::format("{}: initializer '{}'", path.string(), init.name()));
    g.constants[g.add_value(init.name())] = std::move(*t);
    // Free the parsed copy now, not with the whole message at the end: the
    // weights are then held once during the load, not twice (a 265 MB
    // DistilBERT peaked at 524 MiB before, in `ecoinfer info`).
    std::string().swap(*init.mutable_raw_data());
  }
  for (const auto& vi : gp.input()) {
    const ir::ValueId id = g.add_value(vi.name());
    read_declared_type(vi, g.values[static_cast<size_t>(id)].info);
    if (!g.constant(id)) g.inputs.push_back(id);  // IR < 4 lists initializers as inputs too
  }
  for (const auto& vi : gp.value_info()) read_declared_type(vi, g.values[static_cast<size_t>(g.add_value(vi.name()))].info);
  ECOINFER_RETURN_IF_ERROR(add_nodes(gp, dir, g).with_context(path.string()));
  for (const auto& vi : gp.output()) {
    const ir::ValueId id = g.add_value(vi.name());
    read_declared_type(vi, g.values[static_cast<size_t>(id)].info);
    g.outputs.push_back(id);
  }
  ECOINFER_RETURN_IF_ERROR(sort_topologically(g).with_context(path.string()));
  ECOINFER_RETURN_IF_ERROR(check_inputs_defined(g).with_context(path.string()));
  return g;
}

}  // namespace ecoinfer::onnx_import
