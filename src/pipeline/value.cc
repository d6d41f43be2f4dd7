#include "pipeline/value.h"

#include <cstring>

#include <xxhash.h>

namespace ecoinfer::pipeline {
namespace {

template <class T>
void put(std::string& out, T x) {
  out.append(reinterpret_cast<const char*>(&x), sizeof(x));
}

void put_tensor(std::string& out, const Tensor& t) {
  put<int32_t>(out, static_cast<int32_t>(t.dtype()));
  put<uint32_t>(out, static_cast<uint32_t>(t.rank()));
  for (int64_t d : t.shape()) put<int64_t>(out, d);
  if (t.nbytes()) out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
}

void put_text(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

// Reads from a byte string, failing (not crashing) on truncated input.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  template <class T>
  bool get(T& x) {
    if (rest_.size() < sizeof(T)) return false;
    std::memcpy(&x, rest_.data(), sizeof(T));
    rest_.remove_prefix(sizeof(T));
    return true;
  }
  bool take(size_t n, std::string_view& out) {
    if (rest_.size() < n) return false;
    out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

const Status kTruncated = invalid_argument("stage cache entry is truncated or corrupt (delete the cache folder)");

Expected<Tensor> get_tensor(Reader& r) {
  int32_t dtype = 0;
  uint32_t rank = 0;
  if (!r.get(dtype) || !r.get(rank) || rank > 16) return kTruncated;
  Shape shape(rank);
  for (auto& d : shape)
    if (!r.get(d) || d < 0) return kTruncated;
  const auto type = static_cast<DataType>(dtype);
  if (!dtype_is_supported(type)) return kTruncated;
  std::string_view data;
  if (!r.take(static_cast<size_t>(shape_numel(shape)) * dtype_size(type), data)) return kTruncated;
  Tensor t = Tensor::zeros(type, shape);
  if (!data.empty()) std::memcpy(t.raw_data(), data.data(), data.size());
  return t;
}

Expected<std::string> get_text(Reader& r) {
  uint64_t n = 0;
  std::string_view s;
  if (!r.get(n) || !r.take(n, s)) return kTruncated;
  return std::string(s);
}

void put_value(std::string& out, const Value& v) {
  put<uint8_t>(out, static_cast<uint8_t>(value_type(v)));
  switch (value_type(v)) {
    case ValueType::kTensor: put_tensor(out, std::get<Tensor>(v)); break;
    case ValueType::kTensorList: {
      const auto& list = std::get<TensorList>(v);
      put<uint64_t>(out, list.size());
      for (const Tensor& t : list) put_tensor(out, t);
      break;
    }
    case ValueType::kText: put_text(out, std::get<std::string>(v)); break;
  }
}

Expected<Value> get_value(Reader& r) {
  uint8_t kind = 0;
  if (!r.get(kind)) return kTruncated;
  switch (static_cast<ValueType>(kind)) {
    case ValueType::kTensor: {
      ECOINFER_ASSIGN_OR_RETURN(Tensor t, get_tensor(r));
      return Value(std::move(t));
    }
    case ValueType::kTensorList: {
      uint64_t n = 0;
      if (!r.get(n) || n > (1u << 24)) return kTruncated;
      TensorList list;
      for (uint64_t i = 0; i < n; ++i) {
        ECOINFER_ASSIGN_OR_RETURN(Tensor t, get_tensor(r));
        list.push_back(std::move(t));
      }
      return Value(std::move(list));
    }
    case ValueType::kText: {
      ECOINFER_ASSIGN_OR_RETURN(std::string s, get_text(r));
      return Value(std::move(s));
    }
  }
  return kTruncated;
}

}  // namespace

ValueType value_type(const Value& v) { return static_cast<ValueType>(v.index()); }

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kTensor: return "tensor";
    case ValueType::kTensorList: return "tensor list";
    case ValueType::kText: return "text";
  }
  return "?";
}

size_t payload_bytes(const Value& v) {
  switch (value_type(v)) {
    case ValueType::kTensor: return std::get<Tensor>(v).nbytes();
    case ValueType::kTensorList: {
      size_t n = 0;
      for (const Tensor& t : std::get<TensorList>(v)) n += t.nbytes();
      return n;
    }
    case ValueType::kText: return std::get<std::string>(v).size();
  }
  return 0;
}

std::string serialize(const Value& v) {
  std::string out;
  put_value(out, v);
  return out;
}

Expected<Value> deserialize(std::string_view bytes) {
  Reader r(bytes);
  ECOINFER_ASSIGN_OR_RETURN(Value v, get_value(r));
  if (!r.done()) return kTruncated;
  return v;
}

std::string serialize_values(const Values& values) {
  std::string out;
  put<uint64_t>(out, values.size());
  for (const auto& [name, v] : values) {
    put_text(out, name);
    put_value(out, v);
  }
  return out;
}

Expected<Values> deserialize_values(std::string_view bytes) {
  Reader r(bytes);
  uint64_t n = 0;
  if (!r.get(n) || n > 4096) return kTruncated;
  Values values;
  for (uint64_t i = 0; i < n; ++i) {
    ECOINFER_ASSIGN_OR_RETURN(std::string name, get_text(r));
    ECOINFER_ASSIGN_OR_RETURN(Value v, get_value(r));
    values.emplace(std::move(name), std::move(v));
  }
  if (!r.done()) return kTruncated;
  return values;
}

std::string hash_hex(uint64_t h) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[i] = kDigits[h & 15];
  return s;
}

std::string value_hash(const Value& v) {
  const std::string bytes = serialize(v);
  return hash_hex(XXH3_64bits(bytes.data(), bytes.size()));
}

}  // namespace ecoinfer::pipeline
