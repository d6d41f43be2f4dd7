#include "serve/cache/tensor_codec.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace ecoinfer::serve {
namespace {

constexpr char kMagic[4] = {'E', 'I', 'T', '1'};
constexpr uint32_t kMaxRank = 64;

template <class T>
void append(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads fixed-size fields and byte runs from the front, refusing to go past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  template <class T>
  bool read(T& v) {
    if (rest_.size() < sizeof v) return false;
    std::memcpy(&v, rest_.data(), sizeof v);
    rest_.remove_prefix(sizeof v);
    return true;
  }
  bool take(uint64_t size, std::string_view& out) {
    if (rest_.size() < size) return false;
    out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }
  size_t left() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

Status corrupt(size_t index, std::string_view what) {
  return invalid_argument(fmt::format("cached tensors: tensor {}: {} (the cache entry is truncated or corrupt; "
                                      "it is ignored and the model runs instead)", index, what));
}

// "u32 length, bytes" per element, exactly `count` of them, filling `data`.
Expected<std::vector<std::string>> split_bytes_elements(std::string_view data, uint64_t count, size_t index) {
  Reader r(data);
  std::vector<std::string> out;
  if (count > data.size() / sizeof(uint32_t)) return corrupt(index, "more BYTES elements than its data can hold");
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t size = 0;
    std::string_view element;
    if (!r.read(size) || !r.take(size, element)) return corrupt(index, "a BYTES element runs past its data");
    out.emplace_back(element);
  }
  if (r.left() != 0) return corrupt(index, "bytes left over after the last BYTES element");
  return out;
}

Status read_tensor(Reader& r, size_t index, ModelValues& values) {
  uint32_t name_size = 0, rank = 0;
  int32_t dtype_code = 0;
  std::string_view name;
  if (!r.read(name_size) || !r.take(name_size, name)) return corrupt(index, "name runs past the end");
  if (!r.read(dtype_code) || !r.read(rank)) return corrupt(index, "header runs past the end");
  const auto dtype = static_cast<DataType>(dtype_code);
  const bool is_bytes = dtype == DataType::kString;
  if (!is_bytes && dtype_size(dtype) == 0) return corrupt(index, fmt::format("unknown data type code {}", dtype_code));
  if (rank > kMaxRank) return corrupt(index, fmt::format("rank {} is over {}", rank, kMaxRank));
  Shape shape(rank);
  uint64_t numel = 1;
  for (int64_t& d : shape) {
    if (!r.read(d)) return corrupt(index, "dimensions run past the end");
    if (d < 0) return corrupt(index, fmt::format("negative dimension {}", d));
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      return corrupt(index, "element count overflows");
    }
    numel *= static_cast<uint64_t>(d);
  }
  uint64_t data_size = 0;
  std::string_view data;
  if (!r.read(data_size)) return corrupt(index, "data size runs past the end");
  if (!is_bytes && (numel > data_size || data_size != numel * dtype_size(dtype))) {
    return corrupt(index, fmt::format("{} data bytes for shape {} of {}", data_size, shape_to_string(shape),
                                      dtype_name(dtype)));
  }
  if (!r.take(data_size, data)) return corrupt(index, "data runs past the end");
  if (is_bytes) {
    ECOINFER_ASSIGN_OR_RETURN(auto elements, split_bytes_elements(data, numel, index));
    values.bytes.push_back({std::string(name), std::move(shape), std::move(elements)});
    return Status::ok();
  }
  NamedTensor out{std::string(name), Tensor::zeros(dtype, std::move(shape))};
  if (!data.empty()) std::memcpy(out.tensor.raw_data(), data.data(), data.size());
  values.tensors.push_back(std::move(out));
  return Status::ok();
}

void append_header(std::string& out, const std::string& name, DataType dtype, const Shape& shape, uint64_t size) {
  append(out, static_cast<uint32_t>(name.size()));
  out.append(name);
  append(out, static_cast<int32_t>(dtype));
  append(out, static_cast<uint32_t>(shape.size()));
  for (int64_t d : shape) append(out, d);
  append(out, size);
}

}  // namespace

std::string encode_values(const ModelValues& values) {
  size_t total = sizeof kMagic + sizeof(uint32_t);
  for (const auto& t : values.tensors) total += t.name.size() + t.tensor.rank() * 8 + t.tensor.nbytes() + 20;
  for (const auto& b : values.bytes) {
    total += b.name.size() + b.shape.size() * 8 + 20;
    for (const std::string& e : b.elements) total += sizeof(uint32_t) + e.size();
  }
  std::string out;
  out.reserve(total);
  out.append(kMagic, sizeof kMagic);
  append(out, static_cast<uint32_t>(values.tensors.size() + values.bytes.size()));
  for (const auto& [name, tensor] : values.tensors) {
    const uint64_t size = tensor.defined() ? tensor.nbytes() : 0;
    append_header(out, name, tensor.dtype(), tensor.shape(), size);
    if (size > 0) out.append(static_cast<const char*>(tensor.raw_data()), size);
  }
  for (const BytesTensor& b : values.bytes) {
    uint64_t size = 0;
    for (const std::string& e : b.elements) size += sizeof(uint32_t) + e.size();
    append_header(out, b.name, DataType::kString, b.shape, size);
    for (const std::string& e : b.elements) {
      append(out, static_cast<uint32_t>(e.size()));
      out.append(e);
    }
  }
  return out;
}

Expected<ModelValues> decode_values(std::string_view bytes) {
  Reader r(bytes);
  char magic[sizeof kMagic];
  uint32_t count = 0;
  if (!r.read(magic) || std::memcmp(magic, kMagic, sizeof kMagic) != 0 || !r.read(count)) {
    return invalid_argument("cached tensors: not an ecoinfer tensor encoding (no 'EIT1' header); "
                            "the entry is ignored and the model runs instead");
  }
  // Each tensor takes at least 24 bytes, so a corrupt count cannot make us reserve gigabytes.
  if (count > r.left() / 24 + 1) return corrupt(0, fmt::format("count {} is more than the bytes can hold", count));
  ModelValues out;
  out.tensors.reserve(count);
  for (uint32_t i = 0; i < count; ++i) ECOINFER_RETURN_IF_ERROR(read_tensor(r, i, out));
  if (r.left() != 0) return corrupt(count, fmt::format("{} bytes left over after the last tensor", r.left()));
  return out;
}

std::string encode_tensors(const std::vector<NamedTensor>& tensors) { return encode_values({tensors, {}}); }

Expected<std::vector<NamedTensor>> decode_tensors(std::string_view bytes) {
  ECOINFER_ASSIGN_OR_RETURN(ModelValues values, decode_values(bytes));
  if (!values.bytes.empty())
    return invalid_argument("cached tensors: the entry holds BYTES tensors; read it with decode_values");
  return std::move(values.tensors);
}

}  // namespace ecoinfer::serve
