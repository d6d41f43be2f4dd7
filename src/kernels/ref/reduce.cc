// Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ArgMax, ArgMin.
//
// Every reduction is brought to the view [outer, R, inner]: dims of size 1
// are dropped and neighbouring dims that are both reduced (or both kept) are
// merged, so LayerNorm-style ReduceMean over the last axis and NCHW spatial
// reductions over {2, 3} both become one contiguous row reduction per
// output element (inner == 1), the fast case. Axes sets that leave several
// reduced blocks apart (axes {0, 2} of a 3-D tensor) are reduced one block at
// a time; sum, max, min and prod are associative, so the result is the same.
//
// float16/bfloat16 accumulate in float; other types accumulate in their own
// type, as ONNX Runtime does (integer sums wrap like the type they are in).
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/kernel.h"

namespace ecoinfer::kernels {
namespace {

// Below this many input elements a reduction runs on the calling thread:
// forking the OpenMP team costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
// Columns reduced together in the strided case: the accumulators stay in L1.
constexpr int64_t kColumnBlock = 512;

template <class T> struct AccOf { using type = T; };
template <> struct AccOf<Float16> { using type = float; };
template <> struct AccOf<BFloat16> { using type = float; };

template <class A, class T>
inline A load(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return static_cast<A>(v);
}

template <class T, class A>
inline T store(A v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

template <class T> using NotBool = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd };

struct SumOp {
  template <class A> static A init() { return A(0); }
  template <class A> static A apply(A a, A b) { return a + b; }
};
struct ProdOp {
  template <class A> static A init() { return A(1); }
  template <class A> static A apply(A a, A b) { return a * b; }
};
struct MaxOp {
  // -inf for floats, the lowest value for integers (ONNX: max of nothing).
  template <class A> static A init() {
    if constexpr (std::numeric_limits<A>::has_infinity) return -std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::lowest();
  }
  template <class A> static A apply(A a, A b) { return b > a ? b : a; }
};
struct MinOp {
  template <class A> static A init() {
    if constexpr (std::numeric_limits<A>::has_infinity) return std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::max();
  }
  template <class A> static A apply(A a, A b) { return b < a ? b : a; }
};

// `omp simd reduction` lets GCC vectorize the floating-point sum, product,
// max and min without -ffast-math (it may reorder the operations).
template <class Op, class A, class In>
A reduce_row(const In* x, int64_t n) {
  A r = Op::template init<A>();
  if constexpr (std::is_same_v<Op, SumOp>) {
#pragma omp simd reduction(+ : r)
    for (int64_t i = 0; i < n; ++i) r += load<A>(x[i]);
  } else if constexpr (std::is_same_v<Op, ProdOp>) {
#pragma omp simd reduction(* : r)
    for (int64_t i = 0; i < n; ++i) r *= load<A>(x[i]);
  } else if constexpr (std::is_same_v<Op, MaxOp>) {
#pragma omp simd reduction(max : r)
    for (int64_t i = 0; i < n; ++i) r = load<A>(x[i]) > r ? load<A>(x[i]) : r;
  } else {
#pragma omp simd reduction(min : r)
    for (int64_t i = 0; i < n; ++i) r = load<A>(x[i]) < r ? load<A>(x[i]) : r;
  }
  return r;
}

// y[o, i] = reduce over r of x[o, r, i].
template <class Op, class A, class In>
void reduce_block(const In* x, A* y, int64_t outer, int64_t r_len, int64_t inner) {
  const bool parallel = outer * r_len * inner > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for if (parallel && outer > 1)
    for (int64_t o = 0; o < outer; ++o) y[o] = reduce_row<Op, A>(x + o * r_len, r_len);
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (parallel && outer * blocks > 1)
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks;
    const int64_t i0 = (t % blocks) * kColumnBlock;
    const int64_t i1 = std::min(inner, i0 + kColumnBlock);
    A* yo = y + o * inner;
    for (int64_t i = i0; i < i1; ++i) yo[i] = Op::template init<A>();
    for (int64_t r = 0; r < r_len; ++r) {
      const In* xr = x + (o * r_len + r) * inner;
      for (int64_t i = i0; i < i1; ++i) yo[i] = Op::apply(yo[i], load<A>(xr[i]));
    }
  }
}

// The input shape with size-1 dims dropped and same-kind neighbours merged.
struct MergedDims {
  std::vector<int64_t> dims;
  std::vector<bool> reduced;

  void push(int64_t d, bool r) {
    if (d == 1) return;
    if (!dims.empty() && reduced.back() == r) {
      dims.back() *= d;
    } else {
      dims.push_back(d);
      reduced.push_back(r);
    }
  }
};

// Reduces `x` over the dims flagged in `reduce_dim` into `out` (already
// shaped by the caller).
template <class Op, class T>
void run_reduction(const T* x, const Shape& shape, const std::vector<bool>& reduce_dim, bool mean, T* out) {
  using A = typename AccOf<T>::type;
  MergedDims m;
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    m.push(shape[d], reduce_dim[d]);
    if (reduce_dim[d]) count *= shape[d];
  }
  int64_t out_numel = 1;
  for (size_t d = 0; d < m.dims.size(); ++d)
    if (!m.reduced[d]) out_numel *= m.dims[d];

  // The final step writes straight into the output when no conversion is
  // needed; intermediate steps use scratch buffers.
  std::vector<A> buf_a, buf_b;
  const A* src_acc = nullptr;  // the data after the first step
  bool first = true;
  while (true) {
    // Reduce the largest block first: it shrinks the data the most.
    size_t pick = m.dims.size();
    for (size_t d = 0; d < m.dims.size(); ++d)
      if (m.reduced[d] && (pick == m.dims.size() || m.dims[d] > m.dims[pick])) pick = d;
    if (pick == m.dims.size()) break;
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < pick; ++d) outer *= m.dims[d];
    for (size_t d = pick + 1; d < m.dims.size(); ++d) inner *= m.dims[d];
    const bool last = std::count(m.reduced.begin(), m.reduced.end(), true) == 1;
    A* dst;
    if (last && std::is_same_v<A, T>) {
      dst = reinterpret_cast<A*>(out);
    } else {
      std::vector<A>& b = (src_acc == buf_a.data() && !buf_a.empty()) ? buf_b : buf_a;
      b.resize(static_cast<size_t>(outer * inner));
      dst = b.data();
    }
    if (first) reduce_block<Op, A>(x, dst, outer, m.dims[pick], inner);
    else reduce_block<Op, A>(src_acc, dst, outer, m.dims[pick], inner);
    first = false;
    src_acc = dst;
    MergedDims next;
    for (size_t d = 0; d < m.dims.size(); ++d)
      if (d != pick) next.push(m.dims[d], m.reduced[d]);
    m = std::move(next);
  }

  A scale = A(1);
  if (mean) {
    if constexpr (std::is_floating_point_v<A>) scale = count == 0 ? std::numeric_limits<A>::quiet_NaN() : A(1) / A(count);
  }
  if (first) {  // nothing to reduce (only size-1 axes): a copy, maybe scaled
    for (int64_t i = 0; i < out_numel; ++i) out[i] = store<T>(load<A>(x[i]) * scale);
    return;
  }
  if constexpr (std::is_floating_point_v<A>) {
    if (src_acc == reinterpret_cast<const A*>(out) && !mean) return;
    for (int64_t i = 0; i < out_numel; ++i) out[i] = store<T>(src_acc[i] * scale);
  } else {
    for (int64_t i = 0; i < out_numel; ++i) {
      A v = src_acc[i];
      if (mean) v = count == 0 ? A(0) : static_cast<A>(v / static_cast<A>(count));
      out[i] = store<T>(v);
    }
  }
}

// Normalizes `axes` against `rank`: a flag per dim, or an error for an axis
// out of range.
Expected<std::vector<bool>> axes_to_flags(const std::vector<int64_t>& axes, size_t rank) {
  std::vector<bool> flags(rank, axes.empty());
  const auto r = static_cast<int64_t>(rank);
  for (int64_t a : axes) {
    if (a < -r || a >= r)
      return invalid_argument(fmt::format("axis {} is out of range for an input of rank {}", a, rank));
    flags[static_cast<size_t>(a < 0 ? a + r : a)] = true;
  }
  return flags;
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(ReduceKind kind, std::vector<int64_t> axes, bool axes_from_input, bool keepdims, bool noop_empty)
      : kind_(kind), axes_(std::move(axes)), axes_from_input_(axes_from_input), keepdims_(keepdims),
        noop_empty_(noop_empty) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument("the data input is missing");
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_) {
      if (const Tensor* a = ctx.input(1); a != nullptr) {
        if (a->dtype() != DataType::kInt64 || a->rank() > 1)
          return invalid_argument("the axes input must be a 1-D int64 tensor");
        axes.assign(a->data<int64_t>(), a->data<int64_t>() + a->numel());
      }
    }
    if (axes.empty() && noop_empty_) {
      ctx.alias_output(0, *x);
      return Status::ok();
    }
    ECOINFER_ASSIGN_OR_RETURN(std::vector<bool> flags, axes_to_flags(axes, x->rank()));
    Shape out_shape;
    for (size_t d = 0; d < x->rank(); ++d) {
      if (!flags[d]) out_shape.push_back(x->dim(d));
      else if (keepdims_) out_shape.push_back(1);
    }
    Tensor* y = ctx.output(0, x->dtype(), out_shape);
    return dispatch_type(x->dtype(), kAllNumeric | kHalfs, [&](auto tag) -> Status {
      // dispatch_type instantiates every type but refuses bool at run time;
      // mapping it away keeps vector<bool> out of the instantiation.
      using T = NotBool<decltype(tag)>;
      const T* xd = x->data<T>();
      T* yd = y->data<T>();
      switch (kind_) {
        case ReduceKind::kSum: run_reduction<SumOp>(xd, x->shape(), flags, false, yd); break;
        case ReduceKind::kMean: run_reduction<SumOp>(xd, x->shape(), flags, true, yd); break;
        case ReduceKind::kMax: run_reduction<MaxOp>(xd, x->shape(), flags, false, yd); break;
        case ReduceKind::kMin: run_reduction<MinOp>(xd, x->shape(), flags, false, yd); break;
        case ReduceKind::kProd: run_reduction<ProdOp>(xd, x->shape(), flags, false, yd); break;
      }
      return Status::ok();
    });
  }

 private:
  ReduceKind kind_;
  std::vector<int64_t> axes_;
  bool axes_from_input_;
  bool keepdims_;
  bool noop_empty_;
};

Expected<std::unique_ptr<Kernel>> create_reduce(const KernelInfo& info, ReduceKind kind) {
  // ReduceSum moved axes to an input at opset 13; the others do so at 18,
  // past the range this engine loads.
  const bool axes_from_input = kind == ReduceKind::kSum && info.opset() >= 13;
  if (axes_from_input && info.has_attr("axes"))
    return info.model_error("from opset 13 the axes are an input, not an attribute");
  std::vector<int64_t> axes = info.attr_ints("axes");
  const int64_t keepdims = info.attr_int("keepdims", 1);
  const int64_t noop = info.attr_int("noop_with_empty_axes", 0);
  if ((keepdims != 0 && keepdims != 1) || (noop != 0 && noop != 1))
    return info.model_error("keepdims and noop_with_empty_axes must be 0 or 1");
  std::unique_ptr<Kernel> k = std::make_unique<ReduceKernel>(kind, std::move(axes), axes_from_input, keepdims == 1,
                                                             noop == 1);
  return k;
}

// ---- ArgMax / ArgMin ------------------------------------------------------

template <bool kMax, bool kLast>
inline bool better(auto v, auto best) {
  if constexpr (kMax) return kLast ? v >= best : v > best;
  else return kLast ? v <= best : v < best;
}

template <bool kMax, bool kLast, class T>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t r_len, int64_t inner) {
  using A = typename AccOf<T>::type;
  const bool parallel = outer * r_len * inner > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for if (parallel && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * r_len;
      A best = load<A>(row[0]);
      int64_t idx = 0;
      for (int64_t r = 1; r < r_len; ++r) {
        const A v = load<A>(row[r]);
        if (better<kMax, kLast>(v, best)) { best = v; idx = r; }
      }
      y[o] = idx;
    }
    return;
  }
#pragma omp parallel for if (parallel && outer > 1)
  for (int64_t o = 0; o < outer; ++o) {
    std::vector<A> best(static_cast<size_t>(inner));
    int64_t* yo = y + o * inner;
    const T* xo = x + o * r_len * inner;
    for (int64_t i = 0; i < inner; ++i) { best[i] = load<A>(xo[i]); yo[i] = 0; }
    for (int64_t r = 1; r < r_len; ++r) {
      const T* xr = xo + r * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const A v = load<A>(xr[i]);
        const bool take = better<kMax, kLast>(v, best[i]);
        best[i] = take ? v : best[i];
        yo[i] = take ? r : yo[i];
      }
    }
  }
}

Expected<std::unique_ptr<Kernel>> create_arg(const KernelInfo& info, bool is_max) {
  const int64_t axis = info.attr_int("axis", 0);
  const bool keepdims = info.attr_int("keepdims", 1) != 0;
  const bool last = info.attr_int("select_last_index", 0) != 0;
  return std::unique_ptr<Kernel>(make_kernel([=](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument("the data input is missing");
    const auto rank = static_cast<int64_t>(x->rank());
    if (axis < -rank || axis >= rank || rank == 0)
      return invalid_argument(fmt::format("axis {} is out of range for an input of rank {}", axis, rank));
    const auto a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
    const int64_t r_len = x->dim(a);
    if (r_len == 0) return invalid_argument("cannot take the index of an extreme over an empty axis");
    int64_t outer = 1, inner = 1;
    Shape out_shape;
    for (size_t d = 0; d < x->rank(); ++d) {
      if (d < a) outer *= x->dim(d);
      if (d > a) inner *= x->dim(d);
      if (d != a) out_shape.push_back(x->dim(d));
      else if (keepdims) out_shape.push_back(1);
    }
    int64_t* y = ctx.output(0, DataType::kInt64, out_shape)->data<int64_t>();
    if (outer * inner == 0) return Status::ok();
    return dispatch_type(x->dtype(), kAllNumeric | kHalfs, [&](auto tag) -> Status {
      using T = NotBool<decltype(tag)>;
      const T* xd = x->data<T>();
      if (is_max) {
        if (last) arg_reduce<true, true>(xd, y, outer, r_len, inner);
        else arg_reduce<true, false>(xd, y, outer, r_len, inner);
      } else {
        if (last) arg_reduce<false, true>(xd, y, outer, r_len, inner);
        else arg_reduce<false, false>(xd, y, outer, r_len, inner);
      }
      return Status::ok();
    });
  }));
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_ReduceMean(const KernelInfo& info) { return create_reduce(info, ReduceKind::kMean); }
Expected<std::unique_ptr<Kernel>> create_ReduceSum(const KernelInfo& info) { return create_reduce(info, ReduceKind::kSum); }
Expected<std::unique_ptr<Kernel>> create_ReduceMax(const KernelInfo& info) { return create_reduce(info, ReduceKind::kMax); }
Expected<std::unique_ptr<Kernel>> create_ReduceMin(const KernelInfo& info) { return create_reduce(info, ReduceKind::kMin); }
Expected<std::unique_ptr<Kernel>> create_ReduceProd(const KernelInfo& info) { return create_reduce(info, ReduceKind::kProd); }
Expected<std::unique_ptr<Kernel>> create_ArgMax(const KernelInfo& info) { return create_arg(info, true); }
Expected<std::unique_ptr<Kernel>> create_ArgMin(const KernelInfo& info) { return create_arg(info, false); }

}  // namespace ecoinfer::kernels
