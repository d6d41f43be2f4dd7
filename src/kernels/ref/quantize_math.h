// Linear quantization arithmetic shared by the quantized kernels
// (QuantizeLinear, DequantizeLinear, QLinear*, the fused int8 ops) and by
// the quantization tool, so every place rounds and saturates the same way:
//
//   q = saturate(round_half_to_even(x / scale) + zero_point)
//   x = (q - zero_point) * scale
//
// x / scale (not x * (1 / scale)) is what ONNX's reference and ONNX Runtime
// compute; the reciprocal differs in the last bit for some scales and then
// flips a rounding tie.
//
//   ECOINFER_ASSIGN_OR_RETURN(QuantParams p, QuantParams::read(scale, zp, x.shape(), axis, "QuantizeLinear"));
//   for (int64_t o = 0; o < p.outer; ++o) for (int64_t c = 0; c < p.channels; ++c) ... p.scale(c), p.zero(c)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::kernels {

// Rounds half to even (the FPU's default mode) and clamps into Q's range.
template <class Q>
inline Q saturate_round(float v) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  const float r = std::nearbyint(v);
  if (!(r > lo)) return std::numeric_limits<Q>::min();  // also NaN: no undefined float->int cast
  if (r > hi) return std::numeric_limits<Q>::max();
  return static_cast<Q>(r);
}

template <class Q>
inline Q quantize_value(float x, float scale, int32_t zero_point) {
  return saturate_round<Q>(std::nearbyint(x / scale) + static_cast<float>(zero_point));
}

// A scale tensor and an optional zero-point tensor, per tensor (one element)
// or per axis (1-D, one element per slice of `axis`), with the shape of the
// tensor they apply to split around that axis as outer x channels x inner.
struct QuantParams {
  std::vector<float> scales;       // 1 or `channels`
  std::vector<int32_t> zeros;      // same length as scales
  DataType zero_type = DataType::kUndefined;  // kUndefined when no zero point was given
  int64_t outer = 1, channels = 1, inner = 1;

  float scale(int64_t c) const { return scales.size() == 1 ? scales[0] : scales[static_cast<size_t>(c)]; }
  int32_t zero(int64_t c) const { return zeros.size() == 1 ? zeros[0] : zeros[static_cast<size_t>(c)]; }

  // `who` names the node in errors. A one-element scale applies to the
  // whole tensor whatever `axis` says; a 1-D scale must match dim `axis`.
  static Expected<QuantParams> read(const Tensor* scale, const Tensor* zero_point, const Shape& shape, int64_t axis,
                                    const std::string& who);
};

inline Expected<QuantParams> QuantParams::read(const Tensor* scale, const Tensor* zero_point, const Shape& shape,
                                               int64_t axis, const std::string& who) {
  if (scale == nullptr) return invalid_argument(fmt::format("{}: the scale input is missing", who));
  if (scale->dtype() != DataType::kFloat32) {
    return unimplemented(fmt::format("{}: scale must be float32, got {}", who, dtype_name(scale->dtype())));
  }
  QuantParams p;
  const int64_t n = scale->numel();
  if (n != 1) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    if (axis < -rank || axis >= rank) {
      return invalid_argument(fmt::format("{}: axis {} is out of range for a rank-{} input", who, axis, rank));
    }
    if (axis < 0) axis += rank;
    if (scale->rank() != 1 || n != shape[static_cast<size_t>(axis)]) {
      return invalid_argument(fmt::format("{}: a per-axis scale must be 1-D with {} elements (dim {} of {}), got {}",
                                          who, shape[static_cast<size_t>(axis)], axis, shape_to_string(shape),
                                          shape_to_string(scale->shape())));
    }
    p.channels = n;
    for (int64_t i = 0; i < axis; ++i) p.outer *= shape[static_cast<size_t>(i)];
    for (int64_t i = axis + 1; i < rank; ++i) p.inner *= shape[static_cast<size_t>(i)];
  } else {
    p.inner = shape_numel(shape);
  }
  p.scales.assign(scale->data<float>(), scale->data<float>() + n);
  if (zero_point == nullptr) {
    p.zeros.assign(static_cast<size_t>(n), 0);
    return p;
  }
  if (zero_point->numel() != n) {
    return invalid_argument(fmt::format("{}: zero point has {} elements but scale has {}", who, zero_point->numel(), n));
  }
  p.zero_type = zero_point->dtype();
  switch (zero_point->dtype()) {
    case DataType::kUInt8: p.zeros.assign(zero_point->data<uint8_t>(), zero_point->data<uint8_t>() + n); break;
    case DataType::kInt8: p.zeros.assign(zero_point->data<int8_t>(), zero_point->data<int8_t>() + n); break;
    case DataType::kInt32: p.zeros.assign(zero_point->data<int32_t>(), zero_point->data<int32_t>() + n); break;
    default:
      return unimplemented(fmt::format("{}: zero point must be uint8, int8 or int32, got {}", who,
                                       dtype_name(zero_point->dtype())));
  }
  return p;
}

}  // namespace ecoinfer::kernels
