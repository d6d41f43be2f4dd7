#include "ecoinfer/tensor.h"

#include <cstdlib>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace ecoinfer {

size_t dtype_size(DataType t) {
  switch (t) {
    case DataType::kFloat32: case DataType::kInt32: case DataType::kUInt32: return 4;
    case DataType::kFloat64: case DataType::kInt64: case DataType::kUInt64: return 8;
    case DataType::kFloat16: case DataType::kBFloat16: case DataType::kInt16: case DataType::kUInt16: return 2;
    case DataType::kInt8: case DataType::kUInt8: case DataType::kBool: return 1;
    case DataType::kString: case DataType::kUndefined: return 0;
  }
  return 0;
}

std::string_view dtype_name(DataType t) {
  switch (t) {
    case DataType::kFloat32: return "float";
    case DataType::kFloat64: return "double";
    case DataType::kFloat16: return "float16";
    case DataType::kBFloat16: return "bfloat16";
    case DataType::kInt8: return "int8";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt16: return "int16";
    case DataType::kUInt16: return "uint16";
    case DataType::kInt32: return "int32";
    case DataType::kUInt32: return "uint32";
    case DataType::kInt64: return "int64";
    case DataType::kUInt64: return "uint64";
    case DataType::kBool: return "bool";
    case DataType::kString: return "string";
    case DataType::kUndefined: return "undefined";
  }
  return "unknown";
}

bool dtype_is_supported(DataType t) { return dtype_size(t) != 0; }

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(std::span<const int64_t> shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {
constexpr size_t kAlignment = 64;  // a cache line; what AVX-512 loads like

std::shared_ptr<std::byte[]> allocate(size_t bytes) {
  // Round up so aligned_alloc's size rule holds; never ask for 0 bytes.
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}
}  // namespace

Tensor Tensor::zeros(DataType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.capacity_ = t.nbytes();
  t.buffer_ = allocate(t.capacity_);
  std::memset(t.buffer_.get(), 0, t.capacity_);
  return t;
}

void Tensor::resize(DataType dtype, Shape shape) {
  dtype_ = dtype;
  shape_ = std::move(shape);
  const size_t need = nbytes();
  if (buffer_ && capacity_ >= need && (arena_region_ || buffer_.use_count() == 1)) return;
  capacity_ = need;
  buffer_ = allocate(need);
  arena_region_ = false;
}

Tensor Tensor::arena_region(const Tensor& arena, size_t offset, size_t capacity) {
  Tensor t;
  t.buffer_ = std::shared_ptr<std::byte[]>(arena.buffer_, arena.buffer_.get() + offset);
  t.capacity_ = capacity;
  t.arena_region_ = true;
  return t;
}

Tensor Tensor::external_region(void* data, size_t capacity) {
  Tensor t;
  // The aliasing constructor with no owner: a pointer that frees nothing.
  t.buffer_ = std::shared_ptr<std::byte[]>(std::shared_ptr<std::byte[]>(), static_cast<std::byte*>(data));
  t.capacity_ = capacity;
  t.arena_region_ = true;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.arena_region_ = false;  // a view for reading; never resized in place
  return t;
}

Tensor Tensor::clone() const {
  Tensor t;
  if (!defined()) return t;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.capacity_ = nbytes();
  t.buffer_ = allocate(t.capacity_);
  if (t.capacity_) std::memcpy(t.buffer_.get(), buffer_.get(), t.capacity_);
  return t;
}

void Tensor::check_type(DataType requested) const {
  if (requested != dtype_) {
    // A programming error inside ecoinfer, never a user error: kernels check
    // types before asking for typed pointers.
    throw std::logic_error(fmt::format("Tensor::data<{}>() on a {} tensor", dtype_name(requested),
                                       dtype_name(dtype_)));
  }
}

}  // namespace ecoinfer
