// QuantizeLinear, DequantizeLinear (opset 10: per tensor; 13: per axis) and
// DynamicQuantizeLinear: the conversions at the edges of a quantized graph.
// Arithmetic in quantize_math.h. The loops run over outer x channels x
// inner so a per-axis scale is one lookup per contiguous run.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "kernels/kernel.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/quantize_math.h"
#include "kernels/ref/quantize_run.h"

namespace ecoinfer::kernels {
namespace {

// Calls f(channel, first element, count) for each contiguous run that
// shares one scale and zero point, cut into pieces of at most kPiece
// elements so a per-tensor scale (one run) is parallel too.
template <class F>
void for_each_channel_run(const QuantParams& p, F&& f) {
  constexpr int64_t kPiece = 1 << 14;
  const int64_t runs = p.outer * p.channels;
  const int64_t pieces = std::max<int64_t>(1, (p.inner + kPiece - 1) / kPiece);
  const int64_t piece = (p.inner + pieces - 1) / pieces;
#pragma omp parallel for schedule(static) if (runs * p.inner >= kParallelElements && runs * pieces > 1)
  for (int64_t t = 0; t < runs * pieces; ++t) {
    const int64_t r = t / pieces, begin = (t % pieces) * piece;
    if (begin < p.inner) f(r % p.channels, r * p.inner + begin, std::min(piece, p.inner - begin));
  }
}

template <class Q>
void dequantize_run(const Q* x, float* y, int64_t n, float scale, int32_t zero) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero) * scale;
}

// The axis attribute exists from opset 13; before, only per-tensor.
int64_t quant_axis(const KernelInfo& info) { return info.opset() >= 13 ? info.attr_int("axis", 1) : 1; }

}  // namespace

Expected<std::unique_ptr<Kernel>> create_QuantizeLinear(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs inputs x and y_scale");
  if (info.has_attr("saturate") && info.attr_int("saturate", 1) != 1) {
    return info.unsupported("saturate=0 applies to float8 outputs, which are not supported");
  }
  const int64_t axis = quant_axis(info);
  const std::string who = info.node().describe();
  return make_kernel([axis, who](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DataType::kFloat32) {
      return unimplemented(fmt::format("{}: input x must be float32, got {}", who, dtype_name(x.dtype())));
    }
    ECOINFER_ASSIGN_OR_RETURN(QuantParams p, QuantParams::read(ctx.input(1), ctx.input(2), x.shape(), axis, who));
    const DataType out = p.zero_type == DataType::kUndefined ? DataType::kUInt8 : p.zero_type;
    Tensor* y = ctx.output(0, out, x.shape());
    const float* xs = x.data<float>();
    if (out == DataType::kUInt8) {
      uint8_t* ys = y->data<uint8_t>();
      for_each_channel_run(p, [&](int64_t c, int64_t at, int64_t n) { quantize_run(xs + at, ys + at, n, p.scale(c), p.zero(c)); });
    } else if (out == DataType::kInt8) {
      int8_t* ys = y->data<int8_t>();
      for_each_channel_run(p, [&](int64_t c, int64_t at, int64_t n) { quantize_run(xs + at, ys + at, n, p.scale(c), p.zero(c)); });
    } else {
      return unimplemented(fmt::format("{}: output type {} (from the zero point) is not supported; use uint8 or int8",
                                       who, dtype_name(out)));
    }
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_DequantizeLinear(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs inputs x and x_scale");
  const int64_t axis = quant_axis(info);
  const std::string who = info.node().describe();
  return make_kernel([axis, who](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(QuantParams p, QuantParams::read(ctx.input(1), ctx.input(2), x.shape(), axis, who));
    if (p.zero_type != DataType::kUndefined && p.zero_type != x.dtype()) {
      return invalid_argument(fmt::format("{}: zero point is {} but x is {}; they must match", who,
                                          dtype_name(p.zero_type), dtype_name(x.dtype())));
    }
    Tensor* y = ctx.output(0, DataType::kFloat32, x.shape());
    float* ys = y->data<float>();
    return dispatch_type(x.dtype(), kSigned | kUnsigned, [&](auto tag) -> Status {
      using Q = decltype(tag);
      if constexpr (std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t> || std::is_same_v<Q, int32_t>) {
        const Q* xs = x.data<Q>();
        for_each_channel_run(p, [&](int64_t c, int64_t at, int64_t n) { dequantize_run(xs + at, ys + at, n, p.scale(c), p.zero(c)); });
        return Status::ok();
      } else {
        return unimplemented(fmt::format("{}: input type {} is not supported; use uint8, int8 or int32", who,
                                         dtype_name(x.dtype())));
      }
    }, who);
  });
}

// y_scale = (max(0, max x) - min(0, min x)) / 255, zero point chosen so 0.0
// is exact, y = saturate(round(x / y_scale) + zero point), all uint8.
Expected<std::unique_ptr<Kernel>> create_DynamicQuantizeLinear(const KernelInfo& info) {
  if (!info.has_input(0)) return info.model_error("needs input x");
  const std::string who = info.node().describe();
  return make_kernel([who](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DataType::kFloat32) {
      return unimplemented(fmt::format("{}: input x must be float32, got {}", who, dtype_name(x.dtype())));
    }
    const float* xs = x.data<float>();
    const int64_t n = x.numel();
    // The range includes 0. Written as compare-and-select under `simd`,
    // the reduction vectorizes (15x faster than std::min/std::max here,
    // which GCC keeps scalar for their NaN rule).
    float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) if (n >= kParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      lo = xs[i] < lo ? xs[i] : lo;
      hi = xs[i] > hi ? xs[i] : hi;
    }
    const float scale = (hi - lo) / 255.0f;
    const uint8_t zero = scale == 0.0f ? 0 : saturate_round<uint8_t>(0.0f - lo / scale);
    Tensor* y = ctx.output(0, DataType::kUInt8, x.shape());
    ctx.output(1, DataType::kFloat32, {})->data<float>()[0] = scale;
    ctx.output(2, DataType::kUInt8, {})->data<uint8_t>()[0] = zero;
    if (scale == 0.0f) {
      std::fill_n(y->data<uint8_t>(), n, uint8_t{0});  // x is all zeros
      return Status::ok();
    }
    QuantParams whole;
    whole.inner = n;
    uint8_t* ys = y->data<uint8_t>();
    for_each_channel_run(whole, [&](int64_t, int64_t at, int64_t count) { quantize_run(xs + at, ys + at, count, scale, zero); });
    return Status::ok();
  });
}

}  // namespace ecoinfer::kernels
