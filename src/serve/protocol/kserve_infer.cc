#include "serve/protocol/kserve_infer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/half.h"
#include "serve/protocol/binary_bytes.h"
#include "serve/protocol/kserve_datatype.h"
#include "serve/protocol/shared_memory_params.h"

namespace ecoinfer::serve::protocol {
namespace {

using nlohmann::json;

Status bad(std::string message) { return invalid_argument(std::move(message)); }

// Flattens nested "data" arrays in row-major order.
void flatten(const json& data, std::vector<const json*>& out) {
  if (data.is_array()) {
    for (const json& e : data) flatten(e, out);
  } else {
    out.push_back(&data);
  }
}

template <class T>
Status store_integers(const std::vector<const json*>& values, Tensor& t, const std::string& name) {
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    const json& v = *values[i];
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return bad(fmt::format("input '{}': element {} = {} is out of range for {}", name, i, u,
                               kserve_datatype(t.dtype())));
      p[i] = static_cast<T>(u);
    } else if (v.is_number_integer()) {
      const int64_t s = v.get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        return bad(fmt::format("input '{}': element {} = {} is out of range for {}", name, i, s,
                               kserve_datatype(t.dtype())));
      p[i] = static_cast<T>(s);
    } else {
      return bad(fmt::format("input '{}' is {}: element {} is {}, not an integer", name, kserve_datatype(t.dtype()),
                             i, v.dump()));
    }
  }
  return Status::ok();
}

template <class T, class Convert>
Status store_floats(const std::vector<const json*>& values, Tensor& t, const std::string& name, Convert convert) {
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    const json& v = *values[i];
    if (!v.is_number())
      return bad(fmt::format("input '{}' is {}: element {} is {}, not a number", name, kserve_datatype(t.dtype()), i,
                             v.dump()));
    p[i] = convert(v.get<double>());
  }
  return Status::ok();
}

Status store_json_data(const json& data, Tensor& t, const std::string& name) {
  std::vector<const json*> values;
  values.reserve(static_cast<size_t>(t.numel()));
  flatten(data, values);
  if (static_cast<int64_t>(values.size()) != t.numel())
    return bad(fmt::format("input '{}': shape {} needs {} elements, \"data\" has {}", name,
                           shape_to_string(t.shape()), t.numel(), values.size()));
  switch (t.dtype()) {
    case DataType::kFloat32: return store_floats<float>(values, t, name, [](double d) { return static_cast<float>(d); });
    case DataType::kFloat64: return store_floats<double>(values, t, name, [](double d) { return d; });
    case DataType::kFloat16:
      return store_floats<Float16>(values, t, name, [](double d) { return float_to_half(static_cast<float>(d)); });
    case DataType::kBFloat16:
      return store_floats<BFloat16>(values, t, name, [](double d) { return float_to_bfloat16(static_cast<float>(d)); });
    case DataType::kInt8: return store_integers<int8_t>(values, t, name);
    case DataType::kInt16: return store_integers<int16_t>(values, t, name);
    case DataType::kInt32: return store_integers<int32_t>(values, t, name);
    case DataType::kInt64: return store_integers<int64_t>(values, t, name);
    case DataType::kUInt8: return store_integers<uint8_t>(values, t, name);
    case DataType::kUInt16: return store_integers<uint16_t>(values, t, name);
    case DataType::kUInt32: return store_integers<uint32_t>(values, t, name);
    case DataType::kUInt64: return store_integers<uint64_t>(values, t, name);
    case DataType::kBool: {
      bool* p = t.data<bool>();
      for (size_t i = 0; i < values.size(); ++i) {
        if (!values[i]->is_boolean())
          return bad(fmt::format("input '{}' is BOOL: element {} is {}, not true or false", name, i, values[i]->dump()));
        p[i] = values[i]->get<bool>();
      }
      return Status::ok();
    }
    default: return bad(fmt::format("input '{}': datatype {} is not supported", name, kserve_datatype(t.dtype())));
  }
}

Expected<Parameter> to_parameter(const json& v, const std::string& key) {
  if (v.is_boolean()) return Parameter{v.get<bool>()};
  if (v.is_number_integer()) return Parameter{v.get<int64_t>()};
  if (v.is_number()) return Parameter{v.get<double>()};
  if (v.is_string()) return Parameter{v.get<std::string>()};
  return bad(fmt::format("parameter '{}' must be a bool, number or string, got {}", key, v.dump()));
}

Expected<Parameters> read_parameters(const json& j) {
  Parameters out;
  if (!j.contains("parameters")) return out;
  const json& p = j["parameters"];
  if (!p.is_object()) return bad("\"parameters\" must be an object");
  for (const auto& [key, v] : p.items()) {
    ECOINFER_ASSIGN_OR_RETURN(out[key], to_parameter(v, key));
  }
  return out;
}

Expected<Shape> read_shape(const json& in, const std::string& name) {
  if (!in.contains("shape") || !in["shape"].is_array())
    return bad(fmt::format("input '{}' needs \"shape\", an array of integers", name));
  Shape shape;
  for (const json& d : in["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return bad(fmt::format("input '{}': shape {} must hold integers >= 0", name, in["shape"].dump()));
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

// Checks the element count before anything is allocated.
Expected<int64_t> checked_numel(const Shape& shape, const std::string& name, int64_t budget) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > budget / d)
      return bad(fmt::format("input '{}': shape {} has more elements than this server accepts per request ({}); "
                             "send smaller requests", name, shape_to_string(shape), budget));
    n *= d;
  }
  if (n > budget)
    return bad(fmt::format("input '{}': shape {} has more elements than this server accepts per request ({}); "
                           "send smaller requests", name, shape_to_string(shape), budget));
  return n;
}

// JSON "data" of a BYTES input: strings (nested or flat), taken as given
// (their UTF-8 bytes); the protocol has no base64 in its JSON form.
Status store_json_strings(const json& data, BytesTensor& b) {
  std::vector<const json*> values;
  flatten(data, values);
  const int64_t numel = shape_numel(b.shape);
  if (static_cast<int64_t>(values.size()) != numel)
    return bad(fmt::format("input '{}': shape {} needs {} elements, \"data\" has {}", b.name,
                           shape_to_string(b.shape), numel, values.size()));
  b.elements.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]->is_string())
      return bad(fmt::format("input '{}' is BYTES: element {} is {}, not a string", b.name, i,
                             values[i]->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 40)));
    b.elements.push_back(values[i]->get<std::string>());
  }
  return Status::ok();
}

// Triton's binary BYTES form: per element a 4-byte little-endian length,
// then that many bytes; `data` is exactly binary_data_size bytes.
Status split_binary_strings(std::string_view data, BytesTensor& b) {
  const int64_t numel = shape_numel(b.shape);
  for (int64_t i = 0; i < numel; ++i) {
    uint32_t size = 0;
    if (data.size() < sizeof size)
      return bad(fmt::format("input '{}': binary BYTES data ends before element {} of {} (each element is a 4-byte "
                             "little-endian length, then its bytes)", b.name, i, numel));
    std::memcpy(&size, data.data(), sizeof size);
    data.remove_prefix(sizeof size);
    if (data.size() < size)
      return bad(fmt::format("input '{}': binary BYTES element {} says {} bytes, only {} are left in its "
                             "binary_data_size", b.name, i, size, data.size()));
    b.elements.emplace_back(data.substr(0, size));
    data.remove_prefix(size);
  }
  if (!data.empty())
    return bad(fmt::format("input '{}': {} bytes of binary BYTES data are left after its {} elements; "
                           "binary_data_size must cover exactly the elements", b.name, data.size(), numel));
  return Status::ok();
}

// binary_data_size of an input, when it has one.
Expected<std::optional<size_t>> binary_size_of(const Parameters& params, const std::string& name) {
  auto it = params.find("binary_data_size");
  if (it == params.end()) return std::optional<size_t>();
  const int64_t* size = std::get_if<int64_t>(&it->second);
  if (!size || *size < 0) return bad(fmt::format("input '{}': binary_data_size must be an integer >= 0", name));
  return std::optional<size_t>(static_cast<size_t>(*size));
}

Expected<std::string_view> take_binary(std::string_view& binary, size_t size, const std::string& name) {
  if (binary.size() < size)
    return bad(fmt::format("input '{}': the body holds {} bytes of binary data after the JSON, {} needed", name,
                           binary.size(), size));
  std::string_view out = binary.substr(0, size);
  binary.remove_prefix(size);
  return out;
}

std::string_view view_of(const SharedMemorySlice& s) {
  return {reinterpret_cast<const char*>(s.data()), s.size};
}

Status read_bytes_input(const json& in, const std::string& name, Shape shape, const Parameters& params,
                        const std::optional<SharedMemorySlice>& shm, std::string_view& binary, InferenceRequest& r) {
  BytesTensor b{name, std::move(shape), {}};
  ECOINFER_ASSIGN_OR_RETURN(std::optional<size_t> binary_size, binary_size_of(params, name));
  if (shm) {
    ECOINFER_RETURN_IF_ERROR(split_binary_strings(view_of(*shm), b));
  } else if (binary_size) {
    ECOINFER_ASSIGN_OR_RETURN(std::string_view data, take_binary(binary, *binary_size, name));
    ECOINFER_RETURN_IF_ERROR(split_binary_strings(data, b));
  } else {
    if (!in.contains("data"))
      return bad(fmt::format("input '{}' needs \"data\" (or parameters.binary_data_size with binary data)", name));
    ECOINFER_RETURN_IF_ERROR(store_json_strings(in["data"], b));
  }
  r.bytes_inputs.push_back(std::move(b));
  return Status::ok();
}

// `binary` is the part of `body` after the JSON not yet claimed by an input.
Status read_input(const json& in, const RequestBody& body, std::string_view& binary, int64_t& element_budget,
                  const SharedMemoryRegistry* shared_memory, InferenceRequest& r) {
  if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
    return bad("every entry of \"inputs\" needs \"name\", a string");
  const std::string name = in["name"].get<std::string>();
  ECOINFER_ASSIGN_OR_RETURN(Shape shape, read_shape(in, name));
  if (!in.contains("datatype") || !in["datatype"].is_string())
    return bad(fmt::format("input '{}' needs \"datatype\" (e.g. \"FP32\")", name));
  const std::string dt_name = in["datatype"].get<std::string>();
  auto dt = datatype_from_kserve(dt_name);
  if (!dt) return bad(fmt::format("input '{}': unknown datatype \"{}\" (FP32, FP16, FP64, INT8..INT64, UINT8..UINT64, "
                                  "BOOL, BYTES)", name, dt_name));
  const bool is_bytes = *dt == DataType::kString;
  if (!is_bytes && (!dtype_is_supported(*dt) || dtype_size(*dt) == 0))
    return bad(fmt::format("input '{}': datatype {} is not supported by this server", name, dt_name));
  ECOINFER_ASSIGN_OR_RETURN(int64_t numel, checked_numel(shape, name, element_budget));
  element_budget -= numel;
  ECOINFER_ASSIGN_OR_RETURN(Parameters params, read_parameters(in));
  ECOINFER_ASSIGN_OR_RETURN(std::optional<SharedMemorySlice> shm,
                            shared_memory_slice(params, shared_memory, fmt::format("input '{}'", name)));
  if (shm && params.count("binary_data_size"))
    return bad(fmt::format("input '{}' has both shared memory and binary_data_size parameters; use one", name));
  if (is_bytes) return read_bytes_input(in, name, std::move(shape), params, shm, binary, r);
  ECOINFER_ASSIGN_OR_RETURN(std::optional<size_t> binary_size, binary_size_of(params, name));
  if (shm) {
    const size_t nbytes = static_cast<size_t>(numel) * dtype_size(*dt);
    if (shm->size != nbytes)
      return bad(fmt::format("input '{}': shared_memory_byte_size is {} bytes, shape {} of {} needs {}", name,
                             shm->size, shape_to_string(shape), dt_name, nbytes));
    // Copied (one memcpy) rather than viewed: the request then does not
    // depend on the client leaving the region alone while it is queued.
    Tensor t;
    t.resize(*dt, std::move(shape));  // no zero fill: overwritten at once
    if (nbytes) std::memcpy(t.raw_data(), shm->data(), nbytes);
    r.inputs.push_back({name, std::move(t)});
    return Status::ok();
  }
  if (binary_size) {
    const size_t nbytes = static_cast<size_t>(numel) * dtype_size(*dt);
    if (*binary_size != nbytes)
      return bad(fmt::format("input '{}': binary_data_size is {} bytes, shape {} of {} needs {}", name, *binary_size,
                             shape_to_string(shape), dt_name, nbytes));
    ECOINFER_ASSIGN_OR_RETURN(std::string_view data, take_binary(binary, nbytes, name));
    const auto offset = static_cast<size_t>(data.data() - body.view().data());
    r.inputs.push_back({name, body.tensor_at(offset, *dt, std::move(shape))});  // a view of the body when aligned
    return Status::ok();
  }
  if (!in.contains("data"))
    return bad(fmt::format("input '{}' needs \"data\" (or parameters.binary_data_size with binary data)", name));
  Tensor t = Tensor::zeros(*dt, shape);
  ECOINFER_RETURN_IF_ERROR(store_json_data(in["data"], t, name));
  r.inputs.push_back({name, std::move(t)});
  return Status::ok();
}

Status read_outputs(const json& j, const SharedMemoryRegistry* shared_memory, InferenceRequest& r) {
  if (!j.contains("outputs")) return Status::ok();
  if (!j["outputs"].is_array()) return bad("\"outputs\" must be an array");
  for (const json& o : j["outputs"]) {
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
      return bad("every entry of \"outputs\" needs \"name\", a string");
    ECOINFER_ASSIGN_OR_RETURN(Parameters params, read_parameters(o));
    RequestedOutput out{o["name"].get<std::string>(), r.all_outputs_binary};
    if (auto it = params.find("binary_data"); it != params.end()) {
      const bool* b = std::get_if<bool>(&it->second);
      if (!b) return bad(fmt::format("output '{}': binary_data must be true or false", out.name));
      out.binary = *b;
    }
    ECOINFER_ASSIGN_OR_RETURN(out.shared_memory,
                              shared_memory_slice(params, shared_memory, fmt::format("output '{}'", out.name)));
    r.outputs.push_back(std::move(out));
  }
  return Status::ok();
}

Status apply_request_parameters(InferenceRequest& r) {
  if (auto it = r.parameters.find("binary_data_output"); it != r.parameters.end()) {
    const bool* b = std::get_if<bool>(&it->second);
    if (!b) return bad("parameter binary_data_output must be true or false");
    r.all_outputs_binary = *b;
  }
  if (auto it = r.parameters.find("timeout"); it != r.parameters.end()) {
    const int64_t* us = std::get_if<int64_t>(&it->second);
    if (!us || *us < 0) return bad("parameter timeout must be an integer number of microseconds >= 0");
    if (*us > 0) r.timeout = std::chrono::microseconds(*us);
  }
  return Status::ok();
}

// Shortest text that reads back as the same value; JSON has no NaN or Inf.
void append_number(std::string& out, double v, bool single) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto res = single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v)) : std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

template <class T>
void append_integers(std::string& out, const Tensor& t) {
  char buf[24];
  const T* p = static_cast<const T*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i) out += ',';
    auto res = std::to_chars(buf, buf + sizeof buf, p[i]);
    out.append(buf, res.ptr);
  }
}

void append_data(std::string& out, const Tensor& t) {
  out += '[';
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DataType::kFloat32: {
      const float* p = t.data<float>();
      for (int64_t i = 0; i < n; ++i) { if (i) out += ','; append_number(out, p[i], true); }
      break;
    }
    case DataType::kFloat64: {
      const double* p = t.data<double>();
      for (int64_t i = 0; i < n; ++i) { if (i) out += ','; append_number(out, p[i], false); }
      break;
    }
    case DataType::kFloat16: {
      const Float16* p = t.data<Float16>();
      for (int64_t i = 0; i < n; ++i) { if (i) out += ','; append_number(out, half_to_float(p[i]), true); }
      break;
    }
    case DataType::kBFloat16: {
      const BFloat16* p = t.data<BFloat16>();
      for (int64_t i = 0; i < n; ++i) { if (i) out += ','; append_number(out, bfloat16_to_float(p[i]), true); }
      break;
    }
    case DataType::kBool: {
      const bool* p = t.data<bool>();
      for (int64_t i = 0; i < n; ++i) { if (i) out += ','; out += p[i] ? "true" : "false"; }
      break;
    }
    case DataType::kInt8: append_integers<int8_t>(out, t); break;
    case DataType::kInt16: append_integers<int16_t>(out, t); break;
    case DataType::kInt32: append_integers<int32_t>(out, t); break;
    case DataType::kInt64: append_integers<int64_t>(out, t); break;
    case DataType::kUInt8: append_integers<uint8_t>(out, t); break;
    case DataType::kUInt16: append_integers<uint16_t>(out, t); break;
    case DataType::kUInt32: append_integers<uint32_t>(out, t); break;
    case DataType::kUInt64: append_integers<uint64_t>(out, t); break;
    default: break;
  }
  out += ']';
}

}  // namespace

Expected<InferenceRequest> parse_infer_request(const RequestBody& body, std::optional<size_t> json_length,
                                               const ParseLimits& limits,
                                               const SharedMemoryRegistry* shared_memory) {
  const std::string_view all = body.view();
  if (json_length && *json_length > all.size())
    return bad(fmt::format("Inference-Header-Content-Length is {} but the body has only {} bytes", *json_length,
                           all.size()));
  const std::string_view json_text = json_length ? all.substr(0, *json_length) : all;
  std::string_view binary = json_length ? all.substr(*json_length) : std::string_view();
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("the request body is not valid JSON");
  if (!j.is_object()) return bad("the request body must be a JSON object with \"inputs\"");
  InferenceRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return bad("\"id\" must be a string");
    r.id = j["id"].get<std::string>();
  }
  ECOINFER_ASSIGN_OR_RETURN(r.parameters, read_parameters(j));
  ECOINFER_RETURN_IF_ERROR(apply_request_parameters(r));
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    return bad("the request needs \"inputs\", a non-empty array of tensors");
  int64_t element_budget = limits.max_elements;
  for (const json& in : j["inputs"])
    ECOINFER_RETURN_IF_ERROR(read_input(in, body, binary, element_budget, shared_memory, r));
  if (!binary.empty())
    return bad(fmt::format("{} bytes of binary data after the JSON are not claimed by any input's binary_data_size",
                           binary.size()));
  ECOINFER_RETURN_IF_ERROR(read_outputs(j, shared_memory, r));
  return r;
}

bool OutputFormat::binary(const std::string& name) const {
  for (const RequestedOutput& o : outputs) {
    if (o.name == name) return o.binary;
  }
  return all_binary;
}

const SharedMemorySlice* OutputFormat::shared_memory(const std::string& name) const {
  for (const RequestedOutput& o : outputs) {
    if (o.name == name && o.shared_memory) return &*o.shared_memory;
  }
  return nullptr;
}

namespace {

// One output as the response lists it: a numeric tensor or a BYTES one.
struct OutputRef {
  const NamedTensor* tensor = nullptr;
  const BytesTensor* bytes = nullptr;
  const std::string& name() const { return tensor ? tensor->name : bytes->name; }
};

// The requested order when the client gave one, else numeric then BYTES
// outputs, each in model order.
std::vector<OutputRef> response_order(const InferenceResponse& response, const OutputFormat& format) {
  std::vector<OutputRef> all;
  for (const NamedTensor& t : response.outputs) all.push_back({&t, nullptr});
  for (const BytesTensor& b : response.bytes_outputs) all.push_back({nullptr, &b});
  if (format.outputs.empty()) return all;
  std::vector<OutputRef> ordered;
  for (const RequestedOutput& r : format.outputs) {
    auto it = std::find_if(all.begin(), all.end(), [&](const OutputRef& o) { return o.name() == r.name; });
    if (it != all.end()) ordered.push_back(*it);
  }
  return ordered;
}

// Triton's binary BYTES form: per element a u32 little-endian length, then the bytes.
std::string binary_bytes(const BytesTensor& b) {
  size_t size = 0;
  for (const std::string& e : b.elements) size += kBinaryElementPrefix + e.size();
  std::string out;
  out.reserve(size);
  for (const std::string& e : b.elements) append_binary_element(out, e);
  return out;
}

std::string quoted(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

void append_json_strings(std::string& out, const BytesTensor& b) {
  out += '[';
  for (size_t i = 0; i < b.elements.size(); ++i) {
    if (i) out += ',';
    out += quoted(b.elements[i]);  // invalid UTF-8 becomes U+FFFD: JSON holds text only
  }
  out += ']';
}

}  // namespace

EncodedBody encode_infer_response(const InferenceResponse& response, const OutputFormat& format) {
  EncodedBody encoded;
  std::string& out = encoded.body;
  const std::vector<OutputRef> ordered = response_order(response, format);
  size_t json_numbers = 0;  // elements written as JSON text, about 12 characters each
  for (const OutputRef& o : ordered)
    if (o.tensor && !format.binary(o.name()) && !format.shared_memory(o.name()))
      json_numbers += static_cast<size_t>(o.tensor->tensor.numel());
  out.reserve(256 + json_numbers * 12);
  out += "{\"model_name\":";
  out += quoted(response.model);
  out += ",\"model_version\":";
  out += quoted(response.version);
  if (!response.id.empty()) {
    out += ",\"id\":";
    out += quoted(response.id);
  }
  // Energy and server time made visible per request, with the energy's
  // method (docs/SERVING.md): a client can tell its own and the network's
  // time from the server's.
  json params = {{"cache_hit", response.stats.cache_hit}};
  if (!response.stats.energy_method.empty()) {
    params["energy_joules"] = response.stats.energy_joules;
    params["energy_method"] = response.stats.energy_method;
  }
  if (!response.stats.cache_hit) {
    params["queue_seconds"] = response.stats.queue_seconds;
    params["compute_seconds"] = response.stats.compute_seconds;
  }
  out += ",\"parameters\":";
  out += params.dump();
  out += ",\"outputs\":[";
  for (size_t i = 0; i < ordered.size(); ++i) {
    const OutputRef& o = ordered[i];
    if (i) out += ',';
    out += "{\"name\":";
    out += quoted(o.name());
    out += ",\"datatype\":\"";
    out += o.tensor ? kserve_datatype(o.tensor->tensor.dtype()) : "BYTES";
    out += "\",\"shape\":";
    out += json(o.tensor ? o.tensor->tensor.shape() : o.bytes->shape).dump();
    if (const SharedMemorySlice* shm = format.shared_memory(o.name())) {
      json p = {{kSharedMemoryRegion, shm->region->info().name},
                {kSharedMemoryByteSize, o.tensor ? shared_memory_bytes(*o.tensor) : shared_memory_bytes(*o.bytes)}};
      if (shm->offset) p[kSharedMemoryOffset] = shm->offset;
      out += ",\"parameters\":";
      out += p.dump(-1, ' ', false, json::error_handler_t::replace);
      out += '}';
    } else if (format.binary(o.name())) {
      BinaryChunk chunk;  // the tensor's own memory is written; BYTES need their binary form built
      if (o.tensor) chunk.tensor = o.tensor->tensor;
      else chunk.bytes = binary_bytes(*o.bytes);
      out += ",\"parameters\":{\"binary_data_size\":";
      out += std::to_string(chunk.view().size());
      out += "}}";
      encoded.binary.push_back(std::move(chunk));
    } else {
      out += ",\"data\":";
      if (o.tensor) append_data(out, o.tensor->tensor);
      else append_json_strings(out, *o.bytes);
      out += '}';
    }
  }
  out += "]}";
  if (encoded.binary.empty()) {
    encoded.content_type = "application/json";
    return encoded;
  }
  encoded.json_length = out.size();
  encoded.content_type = "application/octet-stream";
  return encoded;
}

size_t EncodedBody::size() const {
  size_t size = body.size();
  for (const BinaryChunk& c : binary) size += c.view().size();
  return size;
}

std::string EncodedBody::flattened() const {
  std::string all;
  all.reserve(size());
  all += body;
  for (const BinaryChunk& c : binary) all += c.view();
  return all;
}

std::string error_body(std::string_view message) {
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ecoinfer::serve::protocol
