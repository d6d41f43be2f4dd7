// Normalizations: Softmax, LogSoftmax, LayerNormalization,
// BatchNormalization, InstanceNormalization.
//
// Each works on rows of a [outer, R, inner] view. float16/bfloat16 compute in
// float, double in double. Softmax subtracts the row maximum before exp so
// large inputs do not overflow; float exp uses a polynomial the compiler
// vectorizes (libm's expf does not vectorize without -ffast-math); a float
// row of 16 or more runs in AVX-512 where the CPU has it.
//
// Also the fused forms the transformer passes make (passes/pass.h):
// LayerNormalization with a residual input (fuse_skip_layernorm), Softmax
// with an additive mask input and/or a quantized output
// (fuse_attention_softmax).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/fast_math.h"
#include "kernels/ref/quantize_run.h"
#include "kernels/kernel.h"
#include "passes/pass.h"

namespace ecoinfer::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

template <class T> struct ComputeOf { using type = float; };
template <> struct ComputeOf<double> { using type = double; };

template <class C, class T>
inline C load(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return static_cast<C>(v);
}

template <class T, class C>
inline T store(C v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Softmax's float exp is the vectorizable one the elementwise kernels use.
inline float exp_of(float x) { return fast_exp(x); }
inline double exp_of(double x) { return std::exp(x); }

// `omp simd reduction` lets GCC vectorize these floating-point reductions
// without -ffast-math (it may reorder the operations).
template <class C>
C row_sum(const C* x, int64_t n) {
  C s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <class C>
C row_max(const C* x, int64_t n) {
  C m = -std::numeric_limits<C>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// Sum of squared deviations from `mean`.
template <class C>
C row_sq_dev(const C* x, int64_t n, C mean) {
  C s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return s;
}

// A row of `n` elements as C: the row itself when T is C, else converted into
// a per-thread scratch buffer.
template <class C, class T>
const C* row_as(const T* x, int64_t n, std::vector<C>& scratch) {
  if constexpr (std::is_same_v<C, T>) {
    return x;
  } else {
    scratch.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) scratch[i] = load<C>(x[i]);
    return scratch.data();
  }
}

Expected<size_t> normalize_axis(int64_t axis, size_t rank) {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    return invalid_argument(fmt::format("axis {} is out of range for an input of rank {}", axis, rank));
  return static_cast<size_t>(axis < 0 ? axis + r : axis);
}

// ---- Softmax / LogSoftmax -------------------------------------------------

// One contiguous row from x into y (x == y allowed).
template <class C>
void softmax_row(const C* x, C* y, int64_t n, bool log) {
  const C m = row_max(x, n);
  if (log) {
    C s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += exp_of(x[i] - m);
    const C shift = m + std::log(s);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - shift;
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = exp_of(x[i] - m);
  const C inv = C(1) / row_sum(y, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

#if defined(__AVX512F__)
// Below this, exp(x - m) is flushed to 0 (its true value is under 1.8e-35,
// far below any tolerance). Without the flush the results, and the products
// by 1/sum, are subnormal, which costs a microcode assist per element: with
// an attention mask's -10000 bias (every padded position) the row took 10x
// longer.
constexpr float kSoftmaxFlushBelow = -80.0f;

// exp(x - m) for a whole vector, x - m <= 0: fast_exp's range reduction and
// polynomial without the checks for the positive range (never reached
// here), 2^n applied by vscalefps. About half fast_exp's instructions;
// softmax is the largest glue op of the transformers' attention.
inline __m512 exp_shifted(__m512 x, __m512 m) {
  const __m512 t = _mm512_sub_ps(x, m);
  // NaN compares false, so it is kept (and propagates) like a normal value.
  const __mmask16 flushed = _mm512_cmp_ps_mask(t, _mm512_set1_ps(kSoftmaxFlushBelow), _CMP_LT_OQ);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(static_cast<__mmask16>(~flushed), y, n);
}

// The float row as above in three passes over the row (max; exp and sum;
// scale), 16 lanes at a time, the tail under a mask. (A non-template
// overload: calls with float pick it; softmax_row<float> is the plain one.)
inline void softmax_row(const float* x, float* y, int64_t n, bool log) {
  if (log || n < 16) return softmax_row<float>(x, y, n, log);
  const __m512 m = _mm512_set1_ps(row_max(x, n));
  const int64_t full = n & ~int64_t{15};
  const __mmask16 tail = static_cast<__mmask16>((1u << (n - full)) - 1);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < full; i += 16) {
    const __m512 e = exp_shifted(_mm512_loadu_ps(x + i), m);
    _mm512_storeu_ps(y + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (tail != 0) {
    const __m512 e = exp_shifted(_mm512_maskz_loadu_ps(tail, x + full), m);
    _mm512_mask_storeu_ps(y + full, tail, e);
    sum = _mm512_mask_add_ps(sum, tail, sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t i = 0; i < full; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), inv));
  if (tail != 0) _mm512_mask_storeu_ps(y + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + full), inv));
}
#endif

// In place on a [r_len, inner] block, normalizing each column; the inner
// loops run along the contiguous columns.
template <class C>
void softmax_columns(C* y, int64_t r_len, int64_t inner, bool log, std::vector<C>& m, std::vector<C>& s) {
  m.assign(static_cast<size_t>(inner), -std::numeric_limits<C>::infinity());
  s.assign(static_cast<size_t>(inner), C(0));
  for (int64_t r = 0; r < r_len; ++r)
    for (int64_t i = 0; i < inner; ++i) m[i] = std::max(m[i], y[r * inner + i]);
  if (log) {
    for (int64_t r = 0; r < r_len; ++r)
      for (int64_t i = 0; i < inner; ++i) s[i] += exp_of(y[r * inner + i] - m[i]);
    for (int64_t i = 0; i < inner; ++i) m[i] += std::log(s[i]);
    for (int64_t r = 0; r < r_len; ++r)
      for (int64_t i = 0; i < inner; ++i) y[r * inner + i] -= m[i];
    return;
  }
  for (int64_t r = 0; r < r_len; ++r)
    for (int64_t i = 0; i < inner; ++i) {
      y[r * inner + i] = exp_of(y[r * inner + i] - m[i]);
      s[i] += y[r * inner + i];
    }
  for (int64_t i = 0; i < inner; ++i) s[i] = C(1) / s[i];
  for (int64_t r = 0; r < r_len; ++r)
    for (int64_t i = 0; i < inner; ++i) y[r * inner + i] *= s[i];
}

template <class T>
void softmax(const T* x, T* y, int64_t outer, int64_t r_len, int64_t inner, bool log) {
  using C = typename ComputeOf<T>::type;
  const int64_t block = r_len * inner;
  // Buffers per thread for the whole loop, not thread_local: declaring one
  // in the loop body costs a __tls_get_addr call per row in this shared
  // library (a third of a 128-wide row's time).
#pragma omp parallel if (outer > 1 && outer * block > kParallelMin)
  {
    std::vector<C> buf, m, s;
#pragma omp for
    for (int64_t o = 0; o < outer; ++o) {
      C* work;
      if constexpr (std::is_same_v<C, T>) {
        if (inner == 1) {  // straight from x: no copy pass
          softmax_row(x + o * block, y + o * block, r_len, log);
          continue;
        }
        std::copy(x + o * block, x + (o + 1) * block, y + o * block);
        work = y + o * block;
      } else {
        buf.resize(static_cast<size_t>(block));
        for (int64_t i = 0; i < block; ++i) buf[i] = load<C>(x[o * block + i]);
        work = buf.data();
      }
      if (inner == 1) softmax_row(work, work, r_len, log);
      else softmax_columns(work, r_len, inner, log, m, s);
      if constexpr (!std::is_same_v<C, T>)
        for (int64_t i = 0; i < block; ++i) y[o * block + i] = store<T>(work[i]);
    }
  }
}

// X + residual with numpy broadcasting, for a skip LayerNorm or a biased
// softmax whose operands the fused loops cannot read as they are.
template <class T>
Expected<Tensor> broadcast_sum(const Tensor& x, const Tensor& residual) {
  const Shape* shapes[] = {&x.shape(), &residual.shape()};
  ECOINFER_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes(shapes));
  Tensor sum = Tensor::zeros(x.dtype(), out_shape);
  BroadcastPlan plan(out_shape, {&x.shape(), &residual.shape()});
  const T* a = x.data<T>();
  const T* b = residual.data<T>();
  T* s = sum.data<T>();
  const int64_t sa = plan.inner_stride(0), sb = plan.inner_stride(1);
  for_each_broadcast_run(plan, [&](int64_t out, const int64_t* in, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      using C = typename ComputeOf<T>::type;
      s[out + i] = store<T>(load<C>(a[in[0] + i * sa]) + load<C>(b[in[1] + i * sb]));
    }
  });
  return sum;
}

// ---- Attention softmax: Softmax(x + bias) [-> QuantizeLinear] ------------

// Where each row of x ([..., n]) finds its bias row, when the bias has n
// values per row and broadcasts into x's leading dims without enlarging
// them (an attention mask [batch, 1, 1, n] over scores [batch, heads, m,
// n]); nullopt otherwise.
std::optional<std::vector<int64_t>> bias_row_strides(const Shape& bias, const Shape& x) {
  if (bias.empty() || x.empty() || bias.size() > x.size() || bias.back() != x.back()) return std::nullopt;
  const size_t lead = x.size() - 1, offset = x.size() - bias.size();
  std::vector<int64_t> strides(lead, 0);
  int64_t stride = bias.back();
  for (size_t d = lead; d-- > 0;) {
    if (d < offset) continue;
    const int64_t b = bias[d - offset];
    if (b != 1 && b != x[d]) return std::nullopt;
    strides[d] = b == 1 ? 0 : stride;
    stride *= b;
  }
  return strides;
}

int64_t bias_row_offset(int64_t row, const Shape& x, const std::vector<int64_t>& strides) {
  int64_t offset = 0;
  for (size_t d = strides.size(); d-- > 0;) {
    offset += (row % x[d]) * strides[d];
    row /= x[d];
  }
  return offset;
}

struct SoftmaxQuant {
  float scale = 1;
  int32_t zero = 0;
  DataType type = DataType::kUndefined;  // kUndefined: float output
};

// Softmax over the last axis of float32 x, plus `bias` rows, written as
// float32 or quantized.
template <class Q>
void attention_softmax_rows(const Tensor& x, const float* bias, const std::vector<int64_t>& bias_strides, Q* qout,
                            float* fout, const SoftmaxQuant& q) {
  const int64_t n = x.shape().back(), rows = x.numel() / n;
  const float* xs = x.data<float>();
  // One row buffer per thread for the whole loop: a thread_local looked up
  // per row costs a __tls_get_addr call in this shared library, which at
  // 1536 rows of 128 was a third of the kernel's time.
#pragma omp parallel if (rows > 1 && x.numel() > kParallelMin)
  {
    std::vector<float> buf(static_cast<size_t>(2 * n));
#pragma omp for
    for (int64_t r = 0; r < rows; ++r) {
      const float* in = xs + r * n;
      if (bias != nullptr) {
        const float* b = bias + bias_row_offset(r, x.shape(), bias_strides);
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) buf[j] = in[j] + b[j];
        in = buf.data();
      }
      if (qout == nullptr) {
        softmax_row(in, fout + r * n, n, false);
      } else {
        softmax_row(in, buf.data() + n, n, false);
        quantize_run(buf.data() + n, qout + r * n, n, q.scale, q.zero);
      }
    }
  }
}

Status attention_softmax(KernelContext& ctx, bool biased, const SoftmaxQuant& q) {
  const Tensor* x = ctx.input(0);
  const Tensor* bias = biased ? ctx.input(1) : nullptr;
  if (x == nullptr || (biased && bias == nullptr)) return invalid_argument("the input or the fused bias is missing");
  if (bias != nullptr && bias->dtype() != x->dtype()) {
    return invalid_argument(fmt::format("the fused bias is {} but the input is {}", dtype_name(bias->dtype()),
                                        dtype_name(x->dtype())));
  }
  if (x->dtype() != DataType::kFloat32 && q.type != DataType::kUndefined) {
    return unimplemented(fmt::format("a quantized softmax reads float32, got {}", dtype_name(x->dtype())));
  }
  std::optional<std::vector<int64_t>> strides;
  if (bias != nullptr) strides = bias_row_strides(bias->shape(), x->shape());
  Tensor summed;  // x + bias, when the rows cannot read the bias as it is
  if (bias != nullptr && (!strides || x->dtype() != DataType::kFloat32)) {
    ECOINFER_RETURN_IF_ERROR(dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      ECOINFER_ASSIGN_OR_RETURN(summed, broadcast_sum<decltype(tag)>(*x, *bias));
      return Status::ok();
    }));
    x = &summed;
    bias = nullptr;
  }
  if (x->rank() == 0) return invalid_argument("softmax over the last axis needs an input of rank 1 or more");
  if (x->dtype() != DataType::kFloat32) {  // the plain kernel, after the bias
    Tensor* y = ctx.output(0, x->dtype(), x->shape());
    const int64_t n = x->shape().back();
    if (x->numel() == 0) return Status::ok();
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      using T = decltype(tag);
      softmax(x->data<T>(), y->data<T>(), x->numel() / n, n, 1, false);
      return Status::ok();
    });
  }
  const float* bias_data = bias != nullptr ? bias->data<float>() : nullptr;
  const std::vector<int64_t> no_strides;
  const std::vector<int64_t>& bs = strides ? *strides : no_strides;
  if (q.type == DataType::kUndefined) {
    Tensor* y = ctx.output(0, DataType::kFloat32, x->shape());
    if (x->numel() > 0) attention_softmax_rows<uint8_t>(*x, bias_data, bs, nullptr, y->data<float>(), q);
  } else if (q.type == DataType::kUInt8) {
    Tensor* y = ctx.output(0, DataType::kUInt8, x->shape());
    if (x->numel() > 0) attention_softmax_rows(*x, bias_data, bs, y->data<uint8_t>(), nullptr, q);
  } else if (q.type == DataType::kInt8) {
    Tensor* y = ctx.output(0, DataType::kInt8, x->shape());
    if (x->numel() > 0) attention_softmax_rows(*x, bias_data, bs, y->data<int8_t>(), nullptr, q);
  } else {
    return unimplemented(fmt::format("a quantized softmax writes uint8 or int8, not {}", dtype_name(q.type)));
  }
  return Status::ok();
}

Expected<std::unique_ptr<Kernel>> create_softmax(const KernelInfo& info, bool log) {
  // Before opset 13 the input is coerced to 2-D at `axis` and the softmax
  // runs over all trailing dims; from 13 it runs over the single axis.
  const bool coerce_2d = info.opset() < 13;
  const int64_t axis = info.attr_int("axis", coerce_2d ? 1 : -1);
  const bool biased = info.attr_int(passes::kSoftmaxBiasAttribute, 0) != 0;
  const std::vector<float> quant = info.attr_floats(passes::kQuantOutputAttribute);
  if (biased || !quant.empty()) {
    // fuse_attention_softmax's node: opset 13+, over the last axis.
    if (log || coerce_2d || axis != -1) return info.model_error("a fused softmax must be opset 13+ over axis -1");
    if (!quant.empty() && quant.size() != 3) return info.model_error("a quantized softmax needs {scale, zero, type}");
    SoftmaxQuant q;
    if (!quant.empty()) {
      q.scale = quant[0];
      q.zero = static_cast<int32_t>(quant[1]);
      q.type = static_cast<DataType>(static_cast<int32_t>(quant[2]));
    }
    return std::unique_ptr<Kernel>(
        make_kernel([=](KernelContext& ctx) -> Status { return attention_softmax(ctx, biased, q); }));
  }
  return std::unique_ptr<Kernel>(make_kernel([=](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument("the input is missing");
    ECOINFER_ASSIGN_OR_RETURN(size_t a, normalize_axis(axis, x->rank()));
    int64_t outer = 1, r_len = 1, inner = 1;
    for (size_t d = 0; d < x->rank(); ++d) {
      if (d < a) outer *= x->dim(d);
      else if (d == a || coerce_2d) r_len *= x->dim(d);
      else inner *= x->dim(d);
    }
    Tensor* y = ctx.output(0, x->dtype(), x->shape());
    if (x->numel() == 0) return Status::ok();
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      using T = decltype(tag);
      softmax(x->data<T>(), y->data<T>(), outer, r_len, inner, log);
      return Status::ok();
    });
  }));
}

// ---- Parameters -------------------------------------------------------------

// A parameter tensor as `n` values of C, broadcast (unidirectionally, from the
// right) to `target` when its shape is smaller.
template <class C>
Status param_to(const Tensor& p, const Shape& target, std::vector<C>& out,
                const char* name) {
  Shape ps = p.shape();
  while (ps.size() > target.size() && ps.front() == 1) ps.erase(ps.begin());
  const int64_t n = shape_numel(target);
  bool ok = ps.size() <= target.size();
  for (size_t d = 0; ok && d < ps.size(); ++d) {
    const int64_t t = target[target.size() - ps.size() + d];
    ok = ps[d] == t || ps[d] == 1;
  }
  if (!ok)
    return invalid_argument(fmt::format("{} of shape {} does not broadcast to {}", name,
                                        shape_to_string(p.shape()), shape_to_string(target)));
  std::vector<C> flat(static_cast<size_t>(p.numel()));
  ECOINFER_RETURN_IF_ERROR(dispatch_type(p.dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
    using P = decltype(tag);
    const P* pd = p.data<P>();
    for (size_t i = 0; i < flat.size(); ++i) flat[i] = load<C>(pd[i]);
    return Status::ok();
  }));
  out.resize(static_cast<size_t>(n));
  if (p.numel() == n) {
    std::copy(flat.begin(), flat.end(), out.begin());
    return Status::ok();
  }
  // Source strides in target coordinates (0 where the parameter broadcasts).
  std::vector<int64_t> stride(target.size(), 0);
  int64_t s = 1;
  for (size_t d = ps.size(); d-- > 0;) {
    const size_t td = target.size() - ps.size() + d;
    stride[td] = ps[d] == 1 ? 0 : s;
    s *= ps[d];
  }
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, src = 0;
    for (size_t d = target.size(); d-- > 0;) {
      src += (rem % target[d]) * stride[d];
      rem /= target[d];
    }
    out[static_cast<size_t>(i)] = flat[static_cast<size_t>(src)];
  }
  return Status::ok();
}


// A parameter that must hold exactly `n` values (per channel), as C.
template <class C>
Status load_flat(const Tensor* p, int64_t n, std::vector<C>& out, const char* name) {
  if (p == nullptr) return invalid_argument(fmt::format("input {} is missing", name));
  if (p->numel() != n)
    return invalid_argument(fmt::format("{} has {} values, expected {} (one per channel)", name,
                                        p->numel(), n));
  // Per-channel parameters may carry the shape C x D1 x ... (spatial=0).
  return param_to(p->reshaped({n}), Shape{n}, out, name);
}

// ---- LayerNormalization -----------------------------------------------------

// `residual`, when given, has x's shape and is added to x first (the
// skip connection fuse_skip_layernorm folds in): one pass over memory less.
template <class T, class C>
void layer_norm(const T* x, const T* residual, T* y, float* mean_out, float* inv_out, int64_t outer, int64_t n,
                const C* scale, const C* bias, C eps) {
  // One scratch row per thread for the whole loop (see attention_softmax_rows
  // on thread_local in this shared library).
#pragma omp parallel if (outer > 1 && outer * n > kParallelMin)
  {
    std::vector<C> scratch;
#pragma omp for
    for (int64_t o = 0; o < outer; ++o) {
      const C* row;
      if (residual != nullptr) {
        scratch.resize(static_cast<size_t>(n));
        const T* xo = x + o * n;
        const T* ro = residual + o * n;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) scratch[j] = load<C>(xo[j]) + load<C>(ro[j]);
        row = scratch.data();
      } else {
        row = row_as<C>(x + o * n, n, scratch);
      }
      const C mean = row_sum(row, n) / static_cast<C>(n);
      const C inv = C(1) / std::sqrt(row_sq_dev(row, n, mean) / static_cast<C>(n) + eps);
      T* yo = y + o * n;
      for (int64_t j = 0; j < n; ++j) yo[j] = store<T>((row[j] - mean) * inv * scale[j] + bias[j]);
      if (mean_out != nullptr) {
        mean_out[o] = static_cast<float>(mean);
        inv_out[o] = static_cast<float>(inv);
      }
    }
  }
}

Expected<std::unique_ptr<Kernel>> create_layer_norm(const KernelInfo& info) {
  const int64_t axis = info.attr_int("axis", -1);
  const float epsilon = info.attr_float("epsilon", 1e-5f);
  const bool skip = info.attr_int(passes::kSkipInputAttribute, 0) != 0;
  if (info.attr_int("stash_type", 1) != 1)
    return info.unsupported("only stash_type 1 (float statistics) is supported");
  if (skip && !info.has_input(3)) return info.model_error("a skip LayerNormalization needs its residual (input 3)");
  return std::unique_ptr<Kernel>(make_kernel([=](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* bias = ctx.input(2);
    const Tensor* residual = skip ? ctx.input(3) : nullptr;
    if (x == nullptr || scale == nullptr) return invalid_argument("X and Scale are required");
    if (residual != nullptr && residual->dtype() != x->dtype()) {
      return invalid_argument(fmt::format("the residual is {} but X is {}", dtype_name(residual->dtype()),
                                          dtype_name(x->dtype())));
    }
    Tensor summed;  // X + residual, when their shapes differ
    if (residual != nullptr && residual->shape() != x->shape()) {
      ECOINFER_RETURN_IF_ERROR(dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
        ECOINFER_ASSIGN_OR_RETURN(summed, broadcast_sum<decltype(tag)>(*x, *residual));
        return Status::ok();
      }));
      x = &summed;
      residual = nullptr;
    }
    ECOINFER_ASSIGN_OR_RETURN(size_t a, normalize_axis(axis, x->rank()));
    const Shape norm_shape(x->shape().begin() + static_cast<std::ptrdiff_t>(a), x->shape().end());
    const int64_t n = shape_numel(norm_shape);
    const int64_t outer = n == 0 ? 0 : x->numel() / n;
    Shape stat_shape = x->shape();
    for (size_t d = a; d < stat_shape.size(); ++d) stat_shape[d] = 1;
    Tensor* y = ctx.output(0, x->dtype(), x->shape());
    float* mean_out = nullptr;
    float* inv_out = nullptr;
    if (ctx.output_count() > 1) mean_out = ctx.output(1, DataType::kFloat32, stat_shape)->data<float>();
    if (ctx.output_count() > 2) inv_out = ctx.output(2, DataType::kFloat32, stat_shape)->data<float>();
    if (mean_out == nullptr || inv_out == nullptr) mean_out = inv_out = nullptr;
    if (x->numel() == 0) return Status::ok();
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = typename ComputeOf<T>::type;
      std::vector<C> s, b;
      ECOINFER_RETURN_IF_ERROR(param_to(*scale, norm_shape, s, "Scale"));
      if (bias != nullptr) ECOINFER_RETURN_IF_ERROR(param_to(*bias, norm_shape, b, "B"));
      else b.assign(static_cast<size_t>(n), C(0));
      layer_norm(x->data<T>(), residual != nullptr ? residual->data<T>() : nullptr, y->data<T>(), mean_out, inv_out,
                 outer, n, s.data(), b.data(), static_cast<C>(epsilon));
      return Status::ok();
    });
  }));
}

// ---- BatchNormalization -----------------------------------------------------

// Per-channel statistics of x viewed as [batch, channels, inner] (training).
template <class T, class C>
void channel_stats(const T* x, int64_t batch, int64_t channels, int64_t inner, C* mean, C* var) {
  const auto count = static_cast<C>(batch * inner);
#pragma omp parallel for if (channels > 1 && batch * channels * inner > kParallelMin)
  for (int64_t c = 0; c < channels; ++c) {
    thread_local std::vector<C> scratch;
    C sum = 0;
    for (int64_t b = 0; b < batch; ++b) sum += row_sum(row_as<C>(x + (b * channels + c) * inner, inner, scratch), inner);
    const C m = count > 0 ? sum / count : C(0);
    C sq = 0;
    for (int64_t b = 0; b < batch; ++b)
      sq += row_sq_dev(row_as<C>(x + (b * channels + c) * inner, inner, scratch), inner, m);
    mean[c] = m;
    var[c] = count > 0 ? sq / count : C(0);
  }
}

// y = x * a[c] + b[c] over [batch, channels, inner].
template <class T, class C>
void scale_shift(const T* x, T* y, int64_t batch, int64_t channels, int64_t inner, const C* a, const C* b) {
#pragma omp parallel for if (batch * channels > 1 && batch * channels * inner > kParallelMin)
  for (int64_t bc = 0; bc < batch * channels; ++bc) {
    const int64_t c = bc % channels;
    const T* xr = x + bc * inner;
    T* yr = y + bc * inner;
    for (int64_t i = 0; i < inner; ++i) yr[i] = store<T>(load<C>(xr[i]) * a[c] + b[c]);
  }
}

struct BatchNormAttrs {
  float epsilon;
  float momentum;
  bool training;
  bool spatial;
};

template <class T>
Status batch_norm(KernelContext& ctx, const BatchNormAttrs& at) {
  using C = typename ComputeOf<T>::type;
  const Tensor* x = ctx.input(0);
  if (x->rank() < 2) return invalid_argument("X must have rank 2 or more (N x C x ...)");
  const int64_t batch = x->dim(0);
  int64_t inner = 1;
  for (size_t d = 2; d < x->rank(); ++d) inner *= x->dim(d);
  // spatial=0 (opsets 7-8): one set of parameters per element of C x D1 x ...
  const int64_t channels = at.spatial ? x->dim(1) : x->dim(1) * inner;
  if (!at.spatial) inner = 1;
  std::vector<C> scale, bias, mean, var;
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(1), channels, scale, "scale"));
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(2), channels, bias, "B"));
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(3), channels, mean, "input_mean"));
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(4), channels, var, "input_var"));
  std::vector<C> use_mean = mean, use_var = var;
  if (at.training) channel_stats(x->data<T>(), batch, channels, inner, use_mean.data(), use_var.data());
  std::vector<C> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
  for (size_t c = 0; c < a.size(); ++c) {
    a[c] = scale[c] / std::sqrt(use_var[c] + static_cast<C>(at.epsilon));
    b[c] = bias[c] - use_mean[c] * a[c];
  }
  Tensor* y = ctx.output(0, x->dtype(), x->shape());
  scale_shift(x->data<T>(), y->data<T>(), batch, channels, inner, a.data(), b.data());
  if (!at.training) return Status::ok();
  // running = input * momentum + current * (1 - momentum), in the type of
  // the input statistics.
  const auto mom = static_cast<C>(at.momentum);
  for (size_t k = 1; k < 3 && k < ctx.output_count(); ++k) {
    const Tensor* src = ctx.input(2 + k);
    const std::vector<C>& old = k == 1 ? mean : var;
    const std::vector<C>& cur = k == 1 ? use_mean : use_var;
    Tensor* out = ctx.output(k, src->dtype(), src->shape());
    ECOINFER_RETURN_IF_ERROR(dispatch_type(src->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      using P = decltype(tag);
      P* o = out->data<P>();
      for (size_t c = 0; c < old.size(); ++c) o[c] = store<P>(old[c] * mom + cur[c] * (C(1) - mom));
      return Status::ok();
    }));
  }
  return Status::ok();
}

Expected<std::unique_ptr<Kernel>> create_batch_norm(const KernelInfo& info) {
  BatchNormAttrs at;
  at.epsilon = info.attr_float("epsilon", 1e-5f);
  at.momentum = info.attr_float("momentum", 0.9f);
  at.training = info.opset() >= 14 && info.attr_int("training_mode", 0) != 0;
  at.spatial = info.opset() >= 9 || info.attr_int("spatial", 1) != 0;
  if (!at.training) {
    // Before opset 14 the extra outputs exist only in training; inference
    // leaves them unset, so a model that reads them wants training.
    for (size_t i = 1; i < info.output_count(); ++i)
      if (info.node().outputs[i] != ir::kNoValue)
        return info.unsupported("training outputs (mean, var, saved_mean, saved_var) are not supported");
  }
  if (info.input_count() < 5) return info.model_error("expects 5 inputs: X, scale, B, input_mean, input_var");
  return std::unique_ptr<Kernel>(make_kernel([at](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument("the input X is missing");
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      return batch_norm<decltype(tag)>(ctx, at);
    });
  }));
}

// ---- InstanceNormalization --------------------------------------------------

template <class T>
Status instance_norm(KernelContext& ctx, float epsilon) {
  using C = typename ComputeOf<T>::type;
  const Tensor* x = ctx.input(0);
  if (x->rank() < 2) return invalid_argument("input must have rank 2 or more (N x C x ...)");
  const int64_t batch = x->dim(0);
  const int64_t channels = x->dim(1);
  int64_t inner = 1;
  for (size_t d = 2; d < x->rank(); ++d) inner *= x->dim(d);
  std::vector<C> scale, bias;
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(1), channels, scale, "scale"));
  ECOINFER_RETURN_IF_ERROR(load_flat(ctx.input(2), channels, bias, "B"));
  Tensor* y = ctx.output(0, x->dtype(), x->shape());
  if (inner == 0) return Status::ok();
  const T* xd = x->data<T>();
  T* yd = y->data<T>();
  const auto eps = static_cast<C>(epsilon);
#pragma omp parallel for if (batch * channels > 1 && x->numel() > kParallelMin)
  for (int64_t bc = 0; bc < batch * channels; ++bc) {
    thread_local std::vector<C> scratch;
    const int64_t c = bc % channels;
    const C* row = row_as<C>(xd + bc * inner, inner, scratch);
    const C mean = row_sum(row, inner) / static_cast<C>(inner);
    const C inv = C(1) / std::sqrt(row_sq_dev(row, inner, mean) / static_cast<C>(inner) + eps);
    const C a = scale[c] * inv;
    const C b = bias[c] - mean * a;
    T* yr = yd + bc * inner;
    for (int64_t i = 0; i < inner; ++i) yr[i] = store<T>(row[i] * a + b);
  }
  return Status::ok();
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Softmax(const KernelInfo& info) { return create_softmax(info, false); }
Expected<std::unique_ptr<Kernel>> create_LogSoftmax(const KernelInfo& info) { return create_softmax(info, true); }
Expected<std::unique_ptr<Kernel>> create_LayerNormalization(const KernelInfo& info) { return create_layer_norm(info); }
Expected<std::unique_ptr<Kernel>> create_BatchNormalization(const KernelInfo& info) { return create_batch_norm(info); }

Expected<std::unique_ptr<Kernel>> create_InstanceNormalization(const KernelInfo& info) {
  const float epsilon = info.attr_float("epsilon", 1e-5f);
  return std::unique_ptr<Kernel>(make_kernel([=](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument("the input is missing");
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      return instance_norm<decltype(tag)>(ctx, epsilon);
    });
  }));
}

}  // namespace ecoinfer::kernels
