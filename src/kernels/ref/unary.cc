// Element-wise unary ops: activations, math functions, Clip and Cast.
//
// Each op is a small function of one element in its compute type (float for
// float16/bfloat16). The loops are plain and contiguous so the compiler
// vectorizes them; exp/tanh/erf on float use branch-free approximations
// (Cephes/Eigen style, a few ulp) because libm calls do not vectorize.
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "kernels/kernel.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/fast_math.h"

namespace ecoinfer::kernels {
namespace {

constexpr unsigned kFloatLike = kFloats | kHalfs;

// Vectorizable float math: fast_exp, fast_tanh, fast_erf (fast_math.h).

template <class C> inline C vexp(C x) { if constexpr (std::is_same_v<C, float>) return fast_exp(x); else return std::exp(x); }
template <class C> inline C vtanh(C x) { if constexpr (std::is_same_v<C, float>) return fast_tanh(x); else return std::tanh(x); }
template <class C> inline C verf(C x) {
  if constexpr (std::is_same_v<C, float>) return fast_erf(x);
  else if constexpr (std::is_floating_point_v<C>) return std::erf(x);
  else return static_cast<C>(std::erf(static_cast<double>(x)));  // integer Erf: -1, 0 or 1
}

// Two's complement negation without signed overflow (Neg/Abs of INT_MIN).
template <class C> inline C negate(C v) {
  if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<std::make_unsigned_t<C>>(0) - static_cast<std::make_unsigned_t<C>>(v));
  else return -v;
}

// ---- The element-wise driver ------------------------------------------------

template <class T, class F>
void map_elements(const T* x, T* y, int64_t n, const F& f) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelElements && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) y[i] = store_element<T>(f(load_element(x[i])));
  }
}

// A kernel applying `f` (a generic lambda of the compute type) to every
// element of input 0, for the element types in kTypes.
template <unsigned kTypes, class F>
Expected<std::unique_ptr<Kernel>> unary_kernel(const KernelInfo& info, F f) {
  if (info.input_count() < 1 || !info.has_input(0)) return info.model_error("needs one input");
  return make_kernel([f](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    return dispatch_types<kTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Tensor* y = ctx.output(0, x.dtype(), x.shape());
      map_elements(x.data<T>(), y->data<T>(), x.numel(), f);
      return Status::ok();
    });
  });
}

// ---- Cast ----------------------------------------------------------------

// Float to integer without undefined behaviour: in-range values truncate
// toward zero, others (NaN, out of int64 range) become INT64_MIN; the int64
// then wraps to the target width as numpy's x86 casts do.
template <class D>
inline D float_to_integer(double v) {
  if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return static_cast<uint64_t>(v);
  }
  const int64_t i = v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? static_cast<int64_t>(v)
                                                                            : std::numeric_limits<int64_t>::min();
  return static_cast<D>(i);
}

template <class D, class S>
inline D convert_element(S s) {
  const auto v = load_element(s);  // float16/bfloat16 -> float
  using V = decltype(v);
  if constexpr (std::is_same_v<D, bool>) return v != V(0);
  else if constexpr (std::is_same_v<D, Float16> || std::is_same_v<D, BFloat16>) return store_element<D>(static_cast<float>(v));
  else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<V>) return float_to_integer<D>(static_cast<double>(v));
  else return static_cast<D>(v);
}

template <class S, class D>
void convert_elements(const S* x, D* y, int64_t n) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelElements && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) y[i] = convert_element<D>(x[i]);
  }
}

// Clip's bound from an optional scalar input (opset 11+).
template <class T>
Status read_bound(const Tensor* t, const char* which, ComputeType<T>& bound) {
  if (t == nullptr) return Status::ok();
  if (t->dtype() != kDataTypeOf<T>)
    return invalid_argument(fmt::format("'{}' is {} but the input is {}", which, dtype_name(t->dtype()), dtype_name(kDataTypeOf<T>)));
  if (t->numel() != 1)
    return invalid_argument(fmt::format("'{}' must be a scalar, got shape {}", which, shape_to_string(t->shape())));
  bound = load_element(t->data<T>()[0]);
  return Status::ok();
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Relu(const KernelInfo& info) {
  return unary_kernel<kFloatLike | kSigned>(info, [](auto v) { return v < decltype(v)(0) ? decltype(v)(0) : v; });
}

Expected<std::unique_ptr<Kernel>> create_LeakyRelu(const KernelInfo& info) {
  const float alpha = info.attr_float("alpha", 0.01f);
  return unary_kernel<kFloatLike>(info, [alpha](auto v) { return v < 0 ? v * static_cast<decltype(v)>(alpha) : v; });
}

Expected<std::unique_ptr<Kernel>> create_Sigmoid(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) {
    using C = decltype(v);
    return C(1) / (C(1) + vexp(-v));
  });
}

Expected<std::unique_ptr<Kernel>> create_HardSigmoid(const KernelInfo& info) {
  const float alpha = info.attr_float("alpha", 0.2f), beta = info.attr_float("beta", 0.5f);
  return unary_kernel<kFloatLike>(info, [alpha, beta](auto v) {
    using C = decltype(v);
    return std::min(std::max(C(alpha) * v + C(beta), C(0)), C(1));
  });
}

Expected<std::unique_ptr<Kernel>> create_HardSwish(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) {
    using C = decltype(v);
    return v * std::min(std::max(v * C(1.0 / 6.0) + C(0.5), C(0)), C(1));
  });
}

Expected<std::unique_ptr<Kernel>> create_Tanh(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return vtanh(v); });
}

Expected<std::unique_ptr<Kernel>> create_Erf(const KernelInfo& info) {
  return unary_kernel<kAllNumeric | kHalfs>(info, [](auto v) { return verf(v); });
}

// Gelu (opset 20, accepted here in the default domain as exporters emit it):
// exact x/2 (1 + erf(x/sqrt 2)), or approximate="tanh".
Expected<std::unique_ptr<Kernel>> create_Gelu(const KernelInfo& info) {
  const std::string approximate = info.attr_string("approximate", "none");
  if (approximate == "tanh") {
    return unary_kernel<kFloatLike>(info, [](auto v) {
      using C = decltype(v);
      const C inner = C(0.7978845608028654) * (v + C(0.044715) * v * v * v);
      return C(0.5) * v * (C(1) + vtanh(inner));
    });
  }
  if (approximate != "none") return info.model_error("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
  return unary_kernel<kFloatLike>(info, [](auto v) {
    using C = decltype(v);
    return C(0.5) * v * (C(1) + verf(v * C(0.7071067811865476)));
  });
}

Expected<std::unique_ptr<Kernel>> create_Exp(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return vexp(v); });
}

Expected<std::unique_ptr<Kernel>> create_Log(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return std::log(v); });
}

Expected<std::unique_ptr<Kernel>> create_Sqrt(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return std::sqrt(v); });
}

Expected<std::unique_ptr<Kernel>> create_Neg(const KernelInfo& info) {
  return unary_kernel<kFloatLike | kSigned>(info, [](auto v) { return negate(v); });
}

Expected<std::unique_ptr<Kernel>> create_Reciprocal(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return decltype(v)(1) / v; });
}

Expected<std::unique_ptr<Kernel>> create_Abs(const KernelInfo& info) {
  return unary_kernel<kAllNumeric | kHalfs>(info, [](auto v) {
    using C = decltype(v);
    if constexpr (std::is_unsigned_v<C>) return v;
    else if constexpr (std::is_integral_v<C>) return v < 0 ? negate(v) : v;
    else return std::fabs(v);
  });
}

Expected<std::unique_ptr<Kernel>> create_Not(const KernelInfo& info) {
  return unary_kernel<kBoolType>(info, [](bool v) { return !v; });
}

Expected<std::unique_ptr<Kernel>> create_Floor(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return std::floor(v); });
}

Expected<std::unique_ptr<Kernel>> create_Ceil(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) { return std::ceil(v); });
}

// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
Expected<std::unique_ptr<Kernel>> create_Softplus(const KernelInfo& info) {
  return unary_kernel<kFloatLike>(info, [](auto v) {
    using C = decltype(v);
    return std::max(v, C(0)) + std::log1p(vexp(-std::fabs(v)));
  });
}

Expected<std::unique_ptr<Kernel>> create_Elu(const KernelInfo& info) {
  const float alpha = info.attr_float("alpha", 1.0f);
  return unary_kernel<kFloatLike>(info, [alpha](auto v) {
    using C = decltype(v);
    return v < C(0) ? C(alpha) * (vexp(v) - C(1)) : v;
  });
}

// Clip: bounds are attributes before opset 11, optional scalar inputs from
// 11 on. min > max gives max everywhere, as the spec says.
Expected<std::unique_ptr<Kernel>> create_Clip(const KernelInfo& info) {
  if (info.opset() < 11) {
    const float lo = info.attr_float("min", -std::numeric_limits<float>::infinity());
    const float hi = info.attr_float("max", std::numeric_limits<float>::infinity());
    return unary_kernel<kFloatLike>(info, [lo, hi](auto v) {
      using C = decltype(v);
      return std::min(std::max(v, C(lo)), C(hi));
    });
  }
  if (!info.has_input(0)) return info.model_error("needs an input");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    return dispatch_types<kAllNumeric | kHalfs>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = ComputeType<T>;
      using Limits = std::numeric_limits<C>;
      C lo = Limits::has_infinity ? -Limits::infinity() : Limits::lowest();
      C hi = Limits::has_infinity ? Limits::infinity() : Limits::max();
      ECOINFER_RETURN_IF_ERROR(read_bound<T>(ctx.input(1), "min", lo));
      ECOINFER_RETURN_IF_ERROR(read_bound<T>(ctx.input(2), "max", hi));
      Tensor* y = ctx.output(0, x.dtype(), x.shape());
      map_elements(x.data<T>(), y->data<T>(), x.numel(), [lo, hi](C v) { return std::min(std::max(v, lo), hi); });
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_Cast(const KernelInfo& info) {
  if (!info.has_attr("to")) return info.model_error("needs the attribute 'to'");
  if (!info.has_input(0)) return info.model_error("needs an input");
  const int64_t to_code = info.attr_int("to", 0);
  const auto to = static_cast<DataType>(to_code);
  if (to == DataType::kString) return info.unsupported("casting to string is not supported");
  if (to_code <= 0 || to_code > 16 || !dtype_is_supported(to))
    return info.unsupported(fmt::format("casting to element type {} (TensorProto code) is not supported", to_code));
  return make_kernel([to](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() == to) {
      ctx.alias_output(0, x);  // a no-op cast shares the buffer
      return Status::ok();
    }
    return dispatch_types<kAllTypes>(x.dtype(), [&](auto src_tag) -> Status {
      using S = decltype(src_tag);
      return dispatch_types<kAllTypes>(to, [&](auto dst_tag) -> Status {
        using D = decltype(dst_tag);
        Tensor* y = ctx.output(0, to, x.shape());
        convert_elements(x.data<S>(), y->data<D>(), x.numel());
        return Status::ok();
      });
    });
  });
}

}  // namespace ecoinfer::kernels
