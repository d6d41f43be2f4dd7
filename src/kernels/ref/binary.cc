// Element-wise binary and variadic ops with numpy broadcasting: arithmetic,
// comparisons, logic, Where, PRelu, and Sum/Mean/Min/Max.
//
// Each op is a function of two elements in their compute type (float for
// float16/bfloat16); broadcast_binary walks the merged broadcast plan
// (src/kernels/ref/broadcast.h) with one flat loop per contiguous run, a
// broadcast operand hoisted out of the loop so it vectorizes.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "kernels/kernel.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/channels_last.h"
#include "passes/post_ops.h"

namespace ecoinfer::kernels {
namespace {

constexpr unsigned kFloatLike = kFloats | kHalfs;
constexpr unsigned kNumeric = kAllNumeric | kHalfs;

// out[i] = f(a[i], b[i]) over the broadcast plan of (a, b); f works on the
// stored element types and returns the stored output type.
template <class A, class B, class O, class F>
void broadcast_binary(const BroadcastPlan& plan, const A* a, const B* b, O* out, const F& f) {
  const bool walk_a = plan.inner_stride(0) != 0, walk_b = plan.inner_stride(1) != 0;
  for_each_broadcast_run(plan, [&](int64_t o, const int64_t* in, int64_t n) {
    const A* pa = a + in[0];
    const B* pb = b + in[1];
    O* po = out + o;
    if (walk_a && walk_b) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (walk_a) {
      const B vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    } else {
      const A va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
    }
  });
}

// Wraps op(C, C) -> R (R = C for arithmetic, bool for comparisons) as a
// function of stored elements.
template <class T, class O, class Op>
auto on_stored(const Op& op) {
  return [op](T x, T y) { return store_element<O>(op(load_element(x), load_element(y))); };
}

// A kernel for a binary op on two inputs of the same type. kBoolOut: the
// output is bool (comparisons), else the input type.
template <unsigned kTypes, bool kBoolOut, class Op>
Expected<std::unique_ptr<Kernel>> binary_kernel(const KernelInfo& info, Op op) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs two inputs");
  return make_kernel([op](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const Tensor& b = *ctx.input(1);
    if (a.dtype() != b.dtype())
      return invalid_argument(fmt::format("inputs have different element types ({} and {})", dtype_name(a.dtype()),
                                          dtype_name(b.dtype())));
    ECOINFER_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes({&a.shape(), &b.shape()}));
    return dispatch_types<kTypes>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using O = std::conditional_t<kBoolOut, bool, T>;
      Tensor* y = ctx.output(0, kDataTypeOf<O>, shape);
      const BroadcastPlan plan(shape, {&a.shape(), &b.shape()});
      broadcast_binary(plan, a.data<T>(), b.data<T>(), y->data<O>(), on_stored<T, O>(op));
      return Status::ok();
    });
  });
}

// Sum/Mean/Min/Max: any number of inputs, folded pairwise into the output.
// `finish` (Mean's division) runs on the result in the compute type.
template <unsigned kTypes, class Op, class Finish>
Expected<std::unique_ptr<Kernel>> variadic_kernel(const KernelInfo& info, Op op, Finish finish) {
  if (info.input_count() < 1) return info.model_error("needs at least one input");
  for (size_t i = 0; i < info.input_count(); ++i)
    if (!info.has_input(i)) return info.model_error(fmt::format("input {} is missing", i));
  return make_kernel([op, finish](KernelContext& ctx) -> Status {
    const size_t n = ctx.input_count();
    const Tensor& first = *ctx.input(0);
    std::vector<const Shape*> shapes;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = *ctx.input(i);
      if (t.dtype() != first.dtype())
        return invalid_argument(fmt::format("input {} is {} but input 0 is {}", i, dtype_name(t.dtype()),
                                            dtype_name(first.dtype())));
      shapes.push_back(&t.shape());
    }
    ECOINFER_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(shapes));
    return dispatch_types<kTypes>(first.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Tensor* y = ctx.output(0, first.dtype(), shape);
      T* out = y->data<T>();
      const auto f = on_stored<T, T>(op);
      if (n == 1) {
        const BroadcastPlan plan(shape, {&first.shape(), &first.shape()});
        broadcast_binary(plan, first.data<T>(), first.data<T>(), out, [](T x, T) { return x; });
      } else {
        const BroadcastPlan plan(shape, {&first.shape(), &ctx.input(1)->shape()});
        broadcast_binary(plan, first.data<T>(), ctx.input(1)->data<T>(), out, f);
      }
      for (size_t i = 2; i < n; ++i) {  // out = op(out, input i), in place
        const BroadcastPlan plan(shape, {&shape, &ctx.input(i)->shape()});
        broadcast_binary(plan, static_cast<const T*>(out), ctx.input(i)->data<T>(), out, f);
      }
      if constexpr (!std::is_same_v<Finish, std::nullptr_t>) {
        const int64_t count = y->numel();
        const auto divisor = static_cast<ComputeType<T>>(n);
        for (int64_t i = 0; i < count; ++i) out[i] = store_element<T>(finish(load_element(out[i]), divisor));
      }
      return Status::ok();
    });
  });
}

// Min/Max that propagate NaN from either side, as numpy's minimum/maximum do.
template <class C> inline C min_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) return (a != a || a < b) ? a : b;
  else return a < b ? a : b;
}
template <class C> inline C max_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) return (a != a || a > b) ? a : b;
  else return a > b ? a : b;
}

// C-style truncating integer division that cannot trap: x/0 gives 0 and
// INT_MIN/-1 wraps, instead of SIGFPE on a model's data.
template <class C> inline C divide(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<C>) {
      if (b == -1) return static_cast<C>(static_cast<std::make_unsigned_t<C>>(0) - static_cast<std::make_unsigned_t<C>>(a));
    }
    return static_cast<C>(a / b);
  } else {
    return a / b;
  }
}

// Wrapping integer arithmetic (no signed overflow UB); floats as usual.
template <class C> inline C add_wrap(C a, C b) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>)
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) + static_cast<std::make_unsigned_t<C>>(b));
  else return static_cast<C>(a + b);
}
template <class C> inline C sub_wrap(C a, C b) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>)
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) - static_cast<std::make_unsigned_t<C>>(b));
  else return static_cast<C>(a - b);
}
template <class C> inline C mul_wrap(C a, C b) {
  if constexpr (std::is_integral_v<C>)  // through uint64: uint16*uint16 would overflow int
    return static_cast<C>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// ---- Pow ------------------------------------------------------------------

// Integer power by squaring, wrapping like repeated multiplication. Negative
// exponents truncate 1/b^n toward zero.
inline int64_t int_pow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    return 0;
  }
  uint64_t result = 1, b = static_cast<uint64_t>(base);
  for (; exp > 0; exp >>= 1) {
    if (exp & 1) result *= b;
    b *= b;
  }
  return static_cast<int64_t>(result);
}

inline int64_t double_to_int64(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? static_cast<int64_t>(v)
                                                                   : std::numeric_limits<int64_t>::min();
}

// Base element type T, exponent element type E (opset 12+ allows them to
// differ); the result has the base's type.
template <class T, class E>
Status pow_typed(const Tensor& x, const Tensor& e, const Shape& shape, Tensor* y) {
  using C = ComputeType<T>;
  using CE = ComputeType<E>;
  const BroadcastPlan plan(shape, {&x.shape(), &e.shape()});
  if constexpr (std::is_floating_point_v<C>) {
    if (e.numel() == 1 && x.numel() == y->numel()) {  // x^2, sqrt(x): the common constant exponents
      const auto ev = static_cast<double>(load_element(e.data<E>()[0]));
      const T* px = x.data<T>();
      T* py = y->data<T>();
      const int64_t n = x.numel();
      if (ev == 2.0) {
        for (int64_t i = 0; i < n; ++i) { const C v = load_element(px[i]); py[i] = store_element<T>(v * v); }
        return Status::ok();
      }
      if (ev == 0.5) {
        for (int64_t i = 0; i < n; ++i) py[i] = store_element<T>(std::sqrt(load_element(px[i])));
        return Status::ok();
      }
    }
    broadcast_binary(plan, x.data<T>(), e.data<E>(), y->data<T>(), [](T a, E b) {
      return store_element<T>(std::pow(load_element(a), static_cast<C>(load_element(b))));
    });
  } else if constexpr (std::is_integral_v<CE>) {
    broadcast_binary(plan, x.data<T>(), e.data<E>(), y->data<T>(), [](T a, E b) {
      return static_cast<T>(int_pow(static_cast<int64_t>(a), static_cast<int64_t>(b)));
    });
  } else {
    broadcast_binary(plan, x.data<T>(), e.data<E>(), y->data<T>(), [](T a, E b) {
      return static_cast<T>(double_to_int64(std::pow(static_cast<double>(a), static_cast<double>(load_element(b)))));
    });
  }
  return Status::ok();
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Add(const KernelInfo& info) {
  return binary_kernel<kNumeric, false>(info, [](auto a, auto b) { return add_wrap(a, b); });
}

Expected<std::unique_ptr<Kernel>> create_Sub(const KernelInfo& info) {
  return binary_kernel<kNumeric, false>(info, [](auto a, auto b) { return sub_wrap(a, b); });
}

Expected<std::unique_ptr<Kernel>> create_Mul(const KernelInfo& info) {
  // A squeeze-excitation gate on a channels-last feature map (channels_last_convs).
  if (!passes::channels_last_inputs(info.node()).empty()) return create_channels_last_channel_scale(info);
  return binary_kernel<kNumeric, false>(info, [](auto a, auto b) { return mul_wrap(a, b); });
}

Expected<std::unique_ptr<Kernel>> create_Div(const KernelInfo& info) {
  return binary_kernel<kNumeric, false>(info, [](auto a, auto b) { return divide(a, b); });
}

Expected<std::unique_ptr<Kernel>> create_Pow(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs two inputs");
  const bool mixed_types = info.opset() >= 12;
  return make_kernel([mixed_types](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor& e = *ctx.input(1);
    if (!mixed_types && x.dtype() != e.dtype())
      return invalid_argument(fmt::format("base is {} but exponent is {} (different types need opset 12)",
                                          dtype_name(x.dtype()), dtype_name(e.dtype())));
    ECOINFER_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes({&x.shape(), &e.shape()}));
    return dispatch_types<kNumeric>(x.dtype(), [&](auto base_tag) -> Status {
      using T = decltype(base_tag);
      Tensor* y = ctx.output(0, x.dtype(), shape);
      return dispatch_types<kNumeric>(e.dtype(), [&](auto exp_tag) -> Status {
        return pow_typed<T, decltype(exp_tag)>(x, e, shape, y);
      });
    });
  });
}

// PRelu: slope broadcasts to X (one direction only); the output is X's shape.
Expected<std::unique_ptr<Kernel>> create_PRelu(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs two inputs");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor& slope = *ctx.input(1);
    if (x.dtype() != slope.dtype())
      return invalid_argument(fmt::format("X is {} but slope is {}", dtype_name(x.dtype()), dtype_name(slope.dtype())));
    if (!broadcasts_to(slope.shape(), x.shape()))
      return invalid_argument(fmt::format("slope shape {} does not broadcast to X shape {}",
                                          shape_to_string(slope.shape()), shape_to_string(x.shape())));
    return dispatch_types<kFloatLike | kSigned>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Tensor* y = ctx.output(0, x.dtype(), x.shape());
      const BroadcastPlan plan(x.shape(), {&x.shape(), &slope.shape()});
      broadcast_binary(plan, x.data<T>(), slope.data<T>(), y->data<T>(), on_stored<T, T>([](auto v, auto s) {
        return v < decltype(v)(0) ? mul_wrap(v, s) : v;
      }));
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_Equal(const KernelInfo& info) {
  return binary_kernel<kNumeric | kBoolType, true>(info, [](auto a, auto b) { return a == b; });
}

Expected<std::unique_ptr<Kernel>> create_Less(const KernelInfo& info) {
  return binary_kernel<kNumeric, true>(info, [](auto a, auto b) { return a < b; });
}

Expected<std::unique_ptr<Kernel>> create_Greater(const KernelInfo& info) {
  return binary_kernel<kNumeric, true>(info, [](auto a, auto b) { return a > b; });
}

Expected<std::unique_ptr<Kernel>> create_LessOrEqual(const KernelInfo& info) {
  return binary_kernel<kNumeric, true>(info, [](auto a, auto b) { return a <= b; });
}

Expected<std::unique_ptr<Kernel>> create_GreaterOrEqual(const KernelInfo& info) {
  return binary_kernel<kNumeric, true>(info, [](auto a, auto b) { return a >= b; });
}

Expected<std::unique_ptr<Kernel>> create_And(const KernelInfo& info) {
  return binary_kernel<kBoolType, true>(info, [](bool a, bool b) { return a && b; });
}

Expected<std::unique_ptr<Kernel>> create_Or(const KernelInfo& info) {
  return binary_kernel<kBoolType, true>(info, [](bool a, bool b) { return a || b; });
}

Expected<std::unique_ptr<Kernel>> create_Xor(const KernelInfo& info) {
  return binary_kernel<kBoolType, true>(info, [](bool a, bool b) { return a != b; });
}

// Where(cond, X, Y): a byte-moving op, dispatched on the element size only.
Expected<std::unique_ptr<Kernel>> create_Where(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1) || !info.has_input(2)) return info.model_error("needs three inputs");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor& c = *ctx.input(0);
    const Tensor& x = *ctx.input(1);
    const Tensor& y = *ctx.input(2);
    if (c.dtype() != DataType::kBool)
      return invalid_argument(fmt::format("condition must be bool, got {}", dtype_name(c.dtype())));
    if (x.dtype() != y.dtype())
      return invalid_argument(fmt::format("X is {} but Y is {}", dtype_name(x.dtype()), dtype_name(y.dtype())));
    ECOINFER_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes({&c.shape(), &x.shape(), &y.shape()}));
    Tensor* out = ctx.output(0, x.dtype(), shape);
    const BroadcastPlan plan(shape, {&c.shape(), &x.shape(), &y.shape()});
    const bool* pc = c.data<bool>();
    return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
      using U = decltype(tag);
      const U* px = static_cast<const U*>(x.raw_data());
      const U* py = static_cast<const U*>(y.raw_data());
      U* po = static_cast<U*>(out->raw_data());
      const int64_t sc = plan.inner_stride(0), sx = plan.inner_stride(1), sy = plan.inner_stride(2);
      for_each_broadcast_run(plan, [&](int64_t o, const int64_t* in, int64_t n) {
        const bool* rc = pc + in[0];
        const U* rx = px + in[1];
        const U* ry = py + in[2];
        U* ro = po + o;
        if (sc && sx && sy) {
          for (int64_t i = 0; i < n; ++i) ro[i] = rc[i] ? rx[i] : ry[i];
        } else {
          for (int64_t i = 0; i < n; ++i) ro[i] = rc[i * sc] ? rx[i * sx] : ry[i * sy];
        }
      });
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_Min(const KernelInfo& info) {
  return variadic_kernel<kNumeric>(info, [](auto a, auto b) { return min_nan(a, b); }, nullptr);
}

Expected<std::unique_ptr<Kernel>> create_Max(const KernelInfo& info) {
  return variadic_kernel<kNumeric>(info, [](auto a, auto b) { return max_nan(a, b); }, nullptr);
}

Expected<std::unique_ptr<Kernel>> create_Sum(const KernelInfo& info) {
  return variadic_kernel<kNumeric>(info, [](auto a, auto b) { return add_wrap(a, b); }, nullptr);
}

Expected<std::unique_ptr<Kernel>> create_Mean(const KernelInfo& info) {
  return variadic_kernel<kFloatLike>(info, [](auto a, auto b) { return a + b; },
                                     [](auto sum, auto count) { return sum / count; });
}

}  // namespace ecoinfer::kernels
