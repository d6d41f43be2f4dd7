// Tensor: a typed, shaped, 64-byte aligned block of memory on the CPU.
//
// A Tensor is a handle: copying it shares the buffer (like a shared_ptr);
// clone() makes a deep copy. Elements are dense, row-major (C order).
//
//   ecoinfer::Tensor x = ecoinfer::Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
//   float* p = x.data<float>();   // checks the element type
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecoinfer {

// Values match onnx::TensorProto::DataType, so conversion is a cast.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // not supported by the engine; listed so errors can name it
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Storage types for the 16-bit floats; arithmetic converts through float
// (see src/common/half.h).
struct Float16 { uint16_t bits; };
struct BFloat16 { uint16_t bits; };

// Size of one element in bytes; 0 for kUndefined and kString.
size_t dtype_size(DataType t);
// ONNX spelling: "float32" -> "float", as ONNX's docs and errors use it.
std::string_view dtype_name(DataType t);
// True for the types the engine stores and computes on.
bool dtype_is_supported(DataType t);

template <class T> struct DataTypeOf;
template <> struct DataTypeOf<float> { static constexpr DataType value = DataType::kFloat32; };
template <> struct DataTypeOf<double> { static constexpr DataType value = DataType::kFloat64; };
template <> struct DataTypeOf<Float16> { static constexpr DataType value = DataType::kFloat16; };
template <> struct DataTypeOf<BFloat16> { static constexpr DataType value = DataType::kBFloat16; };
template <> struct DataTypeOf<int8_t> { static constexpr DataType value = DataType::kInt8; };
template <> struct DataTypeOf<uint8_t> { static constexpr DataType value = DataType::kUInt8; };
template <> struct DataTypeOf<int16_t> { static constexpr DataType value = DataType::kInt16; };
template <> struct DataTypeOf<uint16_t> { static constexpr DataType value = DataType::kUInt16; };
template <> struct DataTypeOf<int32_t> { static constexpr DataType value = DataType::kInt32; };
template <> struct DataTypeOf<uint32_t> { static constexpr DataType value = DataType::kUInt32; };
template <> struct DataTypeOf<int64_t> { static constexpr DataType value = DataType::kInt64; };
template <> struct DataTypeOf<uint64_t> { static constexpr DataType value = DataType::kUInt64; };
template <> struct DataTypeOf<bool> { static constexpr DataType value = DataType::kBool; };
template <class T> inline constexpr DataType kDataTypeOf = DataTypeOf<T>::value;

using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar, rank 0).
int64_t shape_numel(std::span<const int64_t> shape);
// "1x3x48x320"; "scalar" for rank 0.
std::string shape_to_string(std::span<const int64_t> shape);

class Tensor {
 public:
  Tensor() = default;
  // Allocates numel * dtype_size bytes, zero-filled.
  static Tensor zeros(DataType dtype, Shape shape);
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <class T>
  static Tensor scalar(T value) { return from_vector<T>({}, std::vector<T>{value}); }

  bool defined() const { return dtype_ != DataType::kUndefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw_data() { return buffer_.get(); }
  const void* raw_data() const { return buffer_.get(); }
  template <class T> T* data() { check_type(kDataTypeOf<T>); return static_cast<T*>(raw_data()); }
  template <class T> const T* data() const { check_type(kDataTypeOf<T>); return static_cast<const T*>(raw_data()); }
  template <class T> std::span<T> span() { return {data<T>(), static_cast<size_t>(numel())}; }
  template <class T> std::span<const T> span() const { return {data<T>(), static_cast<size_t>(numel())}; }

  // Sets type and shape, keeping the buffer when it is large enough and not
  // shared with another Tensor. Contents are unspecified afterwards. This is
  // how the executor reuses memory between runs of the same shape.
  void resize(DataType dtype, Shape shape);
  // Same buffer, new shape with the same element count (Reshape, Squeeze...).
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  size_t capacity_bytes() const { return capacity_; }

  // A region of `capacity` bytes at `offset` inside `arena`'s buffer, with no
  // type or shape yet. resize() keeps such a region whenever it is large
  // enough, even though the arena is shared: the memory planner guarantees
  // no two live values overlap. Used by the runtime's memory plan.
  static Tensor arena_region(const Tensor& arena, size_t offset, size_t capacity);
  // The same over `capacity` bytes of memory the caller owns and keeps alive
  // while the Tensor is used (an output buffer in shared memory): nothing is
  // freed. Used by Session::run_into.
  static Tensor external_region(void* data, size_t capacity);

 private:
  void check_type(DataType requested) const;

  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  std::shared_ptr<std::byte[]> buffer_;
  size_t capacity_ = 0;
  bool arena_region_ = false;
};

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t = zeros(kDataTypeOf<T>, std::move(shape));
  if (static_cast<size_t>(t.numel()) != values.size()) return Tensor();
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  } else if (!values.empty()) {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return t;
}

}  // namespace ecoinfer
