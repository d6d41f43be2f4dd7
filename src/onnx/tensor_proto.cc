#include "onnx/tensor_proto.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "common/half.h"

namespace ecoinfer::onnx_import {
namespace fs = std::filesystem;

namespace {

// Refuses negative dimensions and element counts that overflow or exceed
// what a tensor here can hold, before anything is allocated.
Expected<Shape> shape_of(const onnx::TensorProto& p) {
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  Shape shape;
  int64_t count = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) return invalid_model(fmt::format("tensor '{}' has a negative dimension {}", p.name(), d));
    if (d != 0 && count > kMaxElements / d)
      return invalid_model(fmt::format("tensor '{}' is impossibly large ({} dimensions)", p.name(), p.dims_size()));
    count *= d;
    shape.push_back(d);
  }
  return shape;
}

// How many elements the proto actually carries, in whichever field it uses;
// -1 for external data (checked against the file instead).
int64_t stored_element_count(const onnx::TensorProto& p, DataType dtype) {
  if (p.data_location() == onnx::TensorProto::EXTERNAL) return -1;
  if (p.has_raw_data()) return static_cast<int64_t>(p.raw_data().size() / std::max<size_t>(1, dtype_size(dtype)));
  switch (dtype) {
    case DataType::kFloat32: return p.float_data_size();
    case DataType::kFloat64: return p.double_data_size();
    case DataType::kInt64: return p.int64_data_size();
    case DataType::kUInt64: case DataType::kUInt32: return p.uint64_data_size();
    default: return p.int32_data_size();
  }
}

// Copies `count` elements from a repeated proto field into the tensor,
// converting each to T.
template <class T, class Field>
void copy_field(const Field& field, Tensor& t) {
  T* out = static_cast<T*>(t.raw_data());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

// float16/bfloat16/bool/int8/uint8/int16/uint16 live in int32_data.
template <class T>
void copy_int32_field_narrow(const onnx::TensorProto& p, Tensor& t) {
  T* out = static_cast<T*>(t.raw_data());
  for (int i = 0; i < p.int32_data_size(); ++i) {
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
      out[i] = T{static_cast<uint16_t>(p.int32_data(i))};
    } else {
      out[i] = static_cast<T>(p.int32_data(i));
    }
  }
}

Status fill_from_typed_fields(const onnx::TensorProto& p, Tensor& t) {
  const int64_t n = t.numel();
  auto check = [&](int64_t have) -> Status {
    if (have != n)
      return invalid_model(fmt::format("tensor '{}' has {} values for shape {} ({} expected)", p.name(), have,
                                       shape_to_string(t.shape()), n));
    return Status::ok();
  };
  switch (t.dtype()) {
    case DataType::kFloat32: ECOINFER_RETURN_IF_ERROR(check(p.float_data_size())); copy_field<float>(p.float_data(), t); break;
    case DataType::kFloat64: ECOINFER_RETURN_IF_ERROR(check(p.double_data_size())); copy_field<double>(p.double_data(), t); break;
    case DataType::kInt64: ECOINFER_RETURN_IF_ERROR(check(p.int64_data_size())); copy_field<int64_t>(p.int64_data(), t); break;
    case DataType::kUInt64: ECOINFER_RETURN_IF_ERROR(check(p.uint64_data_size())); copy_field<uint64_t>(p.uint64_data(), t); break;
    case DataType::kUInt32: ECOINFER_RETURN_IF_ERROR(check(p.uint64_data_size())); copy_field<uint32_t>(p.uint64_data(), t); break;
    case DataType::kInt32: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_field<int32_t>(p.int32_data(), t); break;
    case DataType::kInt16: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<int16_t>(p, t); break;
    case DataType::kUInt16: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<uint16_t>(p, t); break;
    case DataType::kInt8: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<int8_t>(p, t); break;
    case DataType::kUInt8: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<uint8_t>(p, t); break;
    case DataType::kBool: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<bool>(p, t); break;
    case DataType::kFloat16: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<Float16>(p, t); break;
    case DataType::kBFloat16: ECOINFER_RETURN_IF_ERROR(check(p.int32_data_size())); copy_int32_field_narrow<BFloat16>(p, t); break;
    default: return unimplemented(fmt::format("tensor '{}': element type {} is not supported", p.name(), dtype_name(t.dtype())));
  }
  return Status::ok();
}

// Resolves an external data location inside model_dir, refusing escapes
// through "..", absolute paths or symbolic links.
Expected<fs::path> resolve_external(const std::string& location, const fs::path& model_dir,
                                    const std::string& tensor_name) {
  if (model_dir.empty())
    return invalid_model(fmt::format("tensor '{}' uses external data, which needs the model's folder", tensor_name));
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::absolute(model_dir), ec);
  const fs::path target = fs::weakly_canonical(fs::absolute(model_dir / location), ec);
  if (fs::path(location).is_absolute() || ec) {
    return Status(StatusCode::kPermissionDenied,
                  fmt::format("tensor '{}': external data path '{}' is outside the model folder {}; "
                              "keep external data files next to the model",
                              tensor_name, location, base.string()));
  }
  auto [base_end, _] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  if (base_end != base.end()) {
    return Status(StatusCode::kPermissionDenied,
                  fmt::format("tensor '{}': external data path '{}' is outside the model folder {}; "
                              "keep external data files next to the model",
                              tensor_name, location, base.string()));
  }
  return target;
}

Status fill_from_external(const onnx::TensorProto& p, const fs::path& model_dir, Tensor& t) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (location.empty()) return invalid_model(fmt::format("tensor '{}': external data without a location", p.name()));
  ECOINFER_ASSIGN_OR_RETURN(fs::path file, resolve_external(location, model_dir, p.name()));
  const auto want = static_cast<int64_t>(t.nbytes());
  if (length >= 0 && length != want)
    return invalid_model(fmt::format("tensor '{}': external data length {} does not match its shape ({} bytes)",
                                     p.name(), length, want));
  std::ifstream in(file, std::ios::binary);
  if (!in) return io_error(fmt::format("tensor '{}': cannot open external data file {}", p.name(), file.string()));
  in.seekg(offset);
  in.read(static_cast<char*>(t.raw_data()), want);
  if (in.gcount() != want)
    return invalid_model(fmt::format("tensor '{}': external data file {} is too short ({} bytes at offset {} needed)",
                                     p.name(), file.string(), want, offset));
  return Status::ok();
}

}  // namespace

Expected<Tensor> tensor_from_proto(const onnx::TensorProto& p, const fs::path& model_dir) {
  const auto dtype = static_cast<DataType>(p.data_type());
  if (!dtype_is_supported(dtype)) {
    return unimplemented(fmt::format("tensor '{}': element type {} is not supported (supported: float, double, "
                                     "float16, bfloat16, integers, bool)",
                                     p.name(), p.data_type() == 8 ? "string" : std::to_string(p.data_type())));
  }
  ECOINFER_ASSIGN_OR_RETURN(Shape shape, shape_of(p));
  const int64_t stored = stored_element_count(p, dtype);
  if (stored >= 0 && stored != shape_numel(shape)) {
    return invalid_model(fmt::format("tensor '{}' has shape {} ({} elements) but carries {} elements of data",
                                     p.name(), shape_to_string(shape), shape_numel(shape), stored));
  }
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    ECOINFER_RETURN_IF_ERROR(fill_from_external(p, model_dir, t));
  } else if (p.has_raw_data()) {
    if (p.raw_data().size() != t.nbytes())
      return invalid_model(fmt::format("tensor '{}' has {} bytes of raw data; shape {} of {} needs {}", p.name(),
                                       p.raw_data().size(), shape_to_string(t.shape()), dtype_name(dtype), t.nbytes()));
    if (t.nbytes()) std::memcpy(t.raw_data(), p.raw_data().data(), t.nbytes());
  } else {
    ECOINFER_RETURN_IF_ERROR(fill_from_typed_fields(p, t));
  }
  return t;
}

Expected<Tensor> read_tensor_proto_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(fmt::format("cannot open {}", path.string()));
  onnx::TensorProto proto;
  if (!proto.ParseFromIstream(&in)) return invalid_argument(fmt::format("{} is not a TensorProto file", path.string()));
  return tensor_from_proto(proto, path.parent_path());
}

}  // namespace ecoinfer::onnx_import
