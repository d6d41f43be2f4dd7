#include "serve/loadgen/request_builder.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/half.h"
#include "serve/backend/base64.h"
#include "serve/protocol/binary_bytes.h"

namespace ecoinfer::serve {
namespace {

constexpr std::pair<DataType, std::string_view> kKserveTypes[] = {
    {DataType::kBool, "BOOL"},   {DataType::kUInt8, "UINT8"},   {DataType::kUInt16, "UINT16"},
    {DataType::kUInt32, "UINT32"}, {DataType::kUInt64, "UINT64"}, {DataType::kInt8, "INT8"},
    {DataType::kInt16, "INT16"}, {DataType::kInt32, "INT32"},   {DataType::kInt64, "INT64"},
    {DataType::kFloat16, "FP16"}, {DataType::kFloat32, "FP32"}, {DataType::kFloat64, "FP64"},
    {DataType::kBFloat16, "BF16"},
};

template <class T>
void fill(Tensor& t, std::mt19937& rng) {
  T* p = t.data<T>();
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<T> d(-1, 1);
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  } else {
    std::uniform_int_distribution<int> d(0, 99);
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(d(rng));
  }
}

template <class T>
nlohmann::json values_of(const Tensor& t) {
  nlohmann::json a = nlohmann::json::array();
  const T* p = static_cast<const T*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if constexpr (std::is_same_v<T, Float16>) a.push_back(half_to_float(p[i]));
    else if constexpr (std::is_same_v<T, BFloat16>) a.push_back(bfloat16_to_float(p[i]));
    else if constexpr (std::is_same_v<T, bool>) a.push_back(static_cast<bool>(p[i]));
    else a.push_back(p[i]);
  }
  return a;
}

nlohmann::json json_data(const Tensor& t) {
  switch (t.dtype()) {
    case DataType::kFloat32: return values_of<float>(t);
    case DataType::kFloat64: return values_of<double>(t);
    case DataType::kFloat16: return values_of<Float16>(t);
    case DataType::kBFloat16: return values_of<BFloat16>(t);
    case DataType::kInt8: return values_of<int8_t>(t);
    case DataType::kUInt8: return values_of<uint8_t>(t);
    case DataType::kInt16: return values_of<int16_t>(t);
    case DataType::kUInt16: return values_of<uint16_t>(t);
    case DataType::kInt32: return values_of<int32_t>(t);
    case DataType::kUInt32: return values_of<uint32_t>(t);
    case DataType::kInt64: return values_of<int64_t>(t);
    case DataType::kUInt64: return values_of<uint64_t>(t);
    case DataType::kBool: return values_of<bool>(t);
    default: return nlohmann::json::array();
  }
}

// The declared dims as numbers, -1 for dynamic ones ("shape": [-1, 3, 48, 192]).
Expected<Shape> declared_shape(const nlohmann::json& input, const std::string& name) {
  if (!input.contains("shape") || !input["shape"].is_array()) {
    return invalid_argument(fmt::format("the server's metadata for input '{}' has no shape array", name));
  }
  Shape s;
  for (const auto& d : input["shape"]) s.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
  return s;
}

Expected<LoadgenInput> resolve_input(const nlohmann::json& input, const LoadgenOptions& o) {
  if (!input.is_object() || !input.contains("name") || !input["name"].is_string() || !input.contains("datatype") ||
      !input["datatype"].is_string()) {
    return invalid_argument("the server's model metadata lists an input without name or datatype");
  }
  LoadgenInput out{input["name"].get<std::string>(), input["datatype"].get<std::string>(), {}};
  ECOINFER_ASSIGN_OR_RETURN(Shape declared, declared_shape(input, out.name));
  if (auto bytes = o.bytes_inputs.find(out.name); bytes != o.bytes_inputs.end()) {
    if (out.datatype != "BYTES") {
      return invalid_argument(fmt::format("input '{}' is {}, not BYTES: give it as --input {}=FILE.npy", out.name,
                                          out.datatype, out.name));
    }
    out.shape = {1};
    return out;
  }
  if (out.datatype == "BYTES") {
    return invalid_argument(fmt::format("input '{}' is BYTES: give its content with --input {}=FILE (e.g. an image; "
                                        "the file's bytes are sent as one element)", out.name, out.name));
  }
  if (auto given = o.inputs.find(out.name); given != o.inputs.end()) {
    out.shape = given->second.shape();
    out.datatype = std::string(kserve_datatype(given->second.dtype()));
    return out;
  }
  if (auto flag = o.shapes.find(out.name); flag != o.shapes.end()) {
    out.shape = flag->second;
  } else {
    out.shape = declared;
    for (int64_t d : declared) {
      if (d < 0) {
        std::string example;
        for (int64_t e : declared) example += (example.empty() ? "" : "x") + std::to_string(e < 0 ? 1 : e);
        return invalid_argument(fmt::format("input '{}' has dynamic dimensions {}: give its shape, e.g. --shape {}={}",
                                            out.name, input["shape"].dump(), out.name, example));
      }
    }
  }
  if (datatype_from_kserve(out.datatype) == DataType::kUndefined) {
    return unimplemented(fmt::format("input '{}' has datatype {}, which the loadgen cannot generate; give its data "
                                     "with --input {}=FILE.npy",
                                     out.name, out.datatype, out.name));
  }
  return out;
}

}  // namespace

DataType datatype_from_kserve(std::string_view name) {
  for (const auto& [t, n] : kKserveTypes) {
    if (n == name) return t;
  }
  return DataType::kUndefined;
}

std::string_view kserve_datatype(DataType t) {
  for (const auto& [type, n] : kKserveTypes) {
    if (type == t) return n;
  }
  return "";
}

std::string model_path(const std::string& model, const std::string& version) {
  return version.empty() ? "/v2/models/" + model : "/v2/models/" + model + "/versions/" + version;
}

Expected<std::vector<LoadgenInput>> fetch_inputs(HttpClient& client, const LoadgenOptions& o) {
  const std::string path = model_path(o.model, o.version);
  ECOINFER_ASSIGN_OR_RETURN(HttpResponse r, client.get(path));
  if (r.status != 200) {
    return not_found(fmt::format("GET {} answered {}: {} (is the model name right? GET /v2/models lists none, "
                                 "check the server's model repository)",
                                 path, r.status, r.body.substr(0, 200)));
  }
  nlohmann::json meta = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.contains("inputs") || !meta["inputs"].is_array()) {
    return invalid_argument(fmt::format("GET {}: the answer is not KServe v2 model metadata (no inputs array)", path));
  }
  // Flags naming no input are refused first: that mistake explains any other.
  std::vector<std::string> names;
  for (const auto& input : meta["inputs"]) {
    if (input.is_object() && input.contains("name") && input["name"].is_string()) names.push_back(input["name"]);
  }
  const auto check_known = [&](const std::string& name, const char* flag) -> Status {
    if (std::find(names.begin(), names.end(), name) != names.end()) return Status::ok();
    return invalid_argument(fmt::format("{} {}: the model has no input called '{}' (its inputs: {})", flag, name, name,
                                        fmt::join(names, ", ")));
  };
  for (const auto& [name, shape] : o.shapes) ECOINFER_RETURN_IF_ERROR(check_known(name, "--shape"));
  for (const auto& [name, tensor] : o.inputs) ECOINFER_RETURN_IF_ERROR(check_known(name, "--input"));
  std::vector<LoadgenInput> out;
  for (const auto& input : meta["inputs"]) {
    ECOINFER_ASSIGN_OR_RETURN(LoadgenInput resolved, resolve_input(input, o));
    out.push_back(std::move(resolved));
  }
  return out;
}

Tensor random_input(DataType dtype, const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::zeros(dtype, shape);
  std::mt19937 rng(seed);
  switch (dtype) {
    case DataType::kFloat32: fill<float>(t, rng); break;
    case DataType::kFloat64: fill<double>(t, rng); break;
    case DataType::kInt8: fill<int8_t>(t, rng); break;
    case DataType::kUInt8: fill<uint8_t>(t, rng); break;
    case DataType::kInt16: fill<int16_t>(t, rng); break;
    case DataType::kUInt16: fill<uint16_t>(t, rng); break;
    case DataType::kInt32: fill<int32_t>(t, rng); break;
    case DataType::kUInt32: fill<uint32_t>(t, rng); break;
    case DataType::kInt64: fill<int64_t>(t, rng); break;
    case DataType::kUInt64: fill<uint64_t>(t, rng); break;
    case DataType::kBool: {
      auto* p = static_cast<uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng() & 1;
      break;
    }
    case DataType::kFloat16:
    case DataType::kBFloat16: {
      std::uniform_real_distribution<float> d(-1, 1);
      auto* p = static_cast<uint16_t*>(t.raw_data());
      for (int64_t i = 0; i < t.numel(); ++i) {
        p[i] = dtype == DataType::kFloat16 ? float_to_half(d(rng)).bits : float_to_bfloat16(d(rng)).bits;
      }
      break;
    }
    default: break;
  }
  return t;
}

InferBody make_infer_body(const std::vector<NamedTensor>& tensors,
                          const std::vector<std::pair<std::string, std::string>>& bytes, bool binary) {
  nlohmann::json header;
  header["inputs"] = nlohmann::json::array();
  std::string payload;
  for (const auto& [name, t] : tensors) {
    nlohmann::json in{{"name", name}, {"shape", t.shape()}, {"datatype", kserve_datatype(t.dtype())}};
    if (binary) {
      in["parameters"]["binary_data_size"] = t.nbytes();
      payload.append(static_cast<const char*>(t.raw_data()), t.nbytes());
    } else {
      in["data"] = json_data(t);
    }
    header["inputs"].push_back(std::move(in));
  }
  for (const auto& [name, element] : bytes) {
    nlohmann::json in{{"name", name}, {"shape", {1}}, {"datatype", "BYTES"}};
    if (binary) {
      in["parameters"]["binary_data_size"] = kBinaryElementPrefix + element.size();
      append_binary_element(payload, element);
    } else {
      in["data"] = {encode_base64(element)};
    }
    header["inputs"].push_back(std::move(in));
  }
  if (!binary) return {header.dump(), "application/json", {}};
  header["parameters"]["binary_data_output"] = true;
  std::string json = header.dump();
  InferBody out{json + payload, "application/octet-stream", {{"Inference-Header-Content-Length", std::to_string(json.size())}}};
  return out;
}

}  // namespace ecoinfer::serve
