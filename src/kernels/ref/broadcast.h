// NumPy multidirectional broadcasting for element-wise kernels.
//
// Two steps: compute the output shape of the inputs, then build a
// BroadcastPlan that merges adjacent dimensions with the same broadcast
// pattern, so that most real cases (same shapes, a scalar operand, a bias
// row, a per-channel [C,1,1] operand) become one or two flat loops.
//
//   ECOINFER_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes({&a.shape(), &b.shape()}));
//   BroadcastPlan plan(out_shape, {&a.shape(), &b.shape()});
//   for_each_broadcast_run(plan, [&](int64_t out, const int64_t* in, int64_t n) {
//     // input k starts at in[k] and advances by plan.inner_stride(k) (0 or 1)
//     // per element; output elements out .. out+n-1 are contiguous.
//   });
//
// Also here: ComputeType/load_element/store_element (float16 and bfloat16
// computed in float) and dispatch_types<kTypes> for element-wise kernels.
//
// The callback runs on OpenMP threads when the output is large, each run
// writing a disjoint range of the output: it must not share mutable state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "common/half.h"
#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"
#include "kernels/dispatch.h"

namespace ecoinfer::kernels {

// The broadcast output shape of `shapes` (numpy rules: right-aligned, each
// dimension equal or 1; a 0 dimension broadcasts against 1). The error
// names every shape involved.
Expected<Shape> broadcast_shapes(std::span<const Shape* const> shapes);
inline Expected<Shape> broadcast_shapes(std::initializer_list<const Shape*> shapes) {
  return broadcast_shapes(std::span<const Shape* const>(shapes.begin(), shapes.size()));
}

// True when `from` broadcasts to exactly `to` (unidirectional, as PRelu and
// Expand need).
bool broadcasts_to(const Shape& from, const Shape& to);

// The most inputs one plan iterates together (for_each_broadcast_run keeps
// their offsets on the stack); variadic ops fold their inputs two at a time.
inline constexpr size_t kMaxBroadcastInputs = 8;

// How each input maps onto the output, with merged dimensions. Each input's
// shape must broadcast to `out_shape` (checked by broadcast_shapes first);
// at most kMaxBroadcastInputs inputs.
class BroadcastPlan {
 public:
  BroadcastPlan(const Shape& out_shape, std::span<const Shape* const> inputs);
  BroadcastPlan(const Shape& out_shape, std::initializer_list<const Shape*> inputs)
      : BroadcastPlan(out_shape, std::span<const Shape* const>(inputs.begin(), inputs.size())) {}

  size_t input_count() const { return input_count_; }
  int64_t numel() const { return numel_; }
  // Length of the innermost merged dimension (contiguous in the output).
  int64_t inner() const { return dims_.back(); }
  // Number of innermost rows (product of the other merged dimensions).
  int64_t rows() const { return numel_ == 0 ? 0 : numel_ / inner(); }
  // 1 when input k advances along the innermost dimension, 0 when it repeats.
  int64_t inner_stride(size_t k) const { return strides_[k].back(); }
  // True when every input is the same shape as the output (one flat loop).
  bool all_same() const;
  // Element offset of input k at the start of innermost row `row`.
  int64_t row_offset(size_t k, int64_t row) const;

 private:
  size_t input_count_ = 0;
  int64_t numel_ = 0;
  std::vector<int64_t> dims_;                  // merged output dims, never empty
  std::vector<std::vector<int64_t>> strides_;  // per input, per merged dim (0 = broadcast)
};

// Outputs at least this large are split across OpenMP threads.
inline constexpr int64_t kParallelElements = 1 << 15;

// Calls run(out_offset, in_offsets, count) for contiguous runs of the output
// covering it exactly once; in_offsets has plan.input_count() entries. Long
// rows are cut into chunks so that even a single flat loop is parallel.
template <class Run>
void for_each_broadcast_run(const BroadcastPlan& plan, Run&& run) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t numel = plan.numel();
  if (numel == 0) return;
  const int64_t inner = plan.inner();
  const int64_t chunks_per_row = (inner + kChunk - 1) / kChunk;
  const int64_t tasks = plan.rows() * chunks_per_row;
  const size_t k_count = plan.input_count();
#pragma omp parallel for schedule(static) if (numel >= kParallelElements && tasks > 1)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t row = t / chunks_per_row;
    const int64_t begin = (t % chunks_per_row) * kChunk;
    const int64_t count = std::min(kChunk, inner - begin);
    int64_t offsets[kMaxBroadcastInputs];
    for (size_t k = 0; k < k_count; ++k)
      offsets[k] = plan.row_offset(k, row) + begin * plan.inner_stride(k);
    run(row * inner + begin, static_cast<const int64_t*>(offsets), count);
  }
}

// ---- Element types for element-wise kernels ------------------------------
// float16 and bfloat16 are storage types: kernels load them as float,
// compute, and store back. ComputeType<T> is what a kernel computes in.
template <class T> struct ComputeTypeOf { using type = T; };
template <> struct ComputeTypeOf<Float16> { using type = float; };
template <> struct ComputeTypeOf<BFloat16> { using type = float; };
template <class T> using ComputeType = typename ComputeTypeOf<T>::type;

template <class T>
inline ComputeType<T> load_element(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return v;
}

template <class T, class C>
inline T store_element(C v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Like dispatch_type, but the type set is a compile-time constant, so `f`
// is only instantiated for the types it accepts (std::exp need not compile
// for bool).
template <unsigned kTypes, class F>
Status dispatch_types(DataType t, F&& f, const std::string& who = "") {
  switch (t) {
    case DataType::kFloat32: if constexpr ((kTypes & kFloats) != 0) return f(float{}); break;
    case DataType::kFloat64: if constexpr ((kTypes & kFloats) != 0) return f(double{}); break;
    case DataType::kInt8: if constexpr ((kTypes & kSigned) != 0) return f(int8_t{}); break;
    case DataType::kInt16: if constexpr ((kTypes & kSigned) != 0) return f(int16_t{}); break;
    case DataType::kInt32: if constexpr ((kTypes & kSigned) != 0) return f(int32_t{}); break;
    case DataType::kInt64: if constexpr ((kTypes & kSigned) != 0) return f(int64_t{}); break;
    case DataType::kUInt8: if constexpr ((kTypes & kUnsigned) != 0) return f(uint8_t{}); break;
    case DataType::kUInt16: if constexpr ((kTypes & kUnsigned) != 0) return f(uint16_t{}); break;
    case DataType::kUInt32: if constexpr ((kTypes & kUnsigned) != 0) return f(uint32_t{}); break;
    case DataType::kUInt64: if constexpr ((kTypes & kUnsigned) != 0) return f(uint64_t{}); break;
    case DataType::kBool: if constexpr ((kTypes & kBoolType) != 0) return f(bool{}); break;
    case DataType::kFloat16: if constexpr ((kTypes & kHalfs) != 0) return f(Float16{}); break;
    case DataType::kBFloat16: if constexpr ((kTypes & kHalfs) != 0) return f(BFloat16{}); break;
    default: break;
  }
  return unimplemented(fmt::format("{}{}element type {} is not supported here", who, who.empty() ? "" : ": ",
                                   dtype_name(t)));
}

}  // namespace ecoinfer::kernels
