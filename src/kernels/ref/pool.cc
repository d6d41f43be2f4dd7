// Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool on NC...
// layouts with 1 to 3 spatial dimensions.
//
// Windows are resolved once per input shape into per-axis tap ranges, so the
// inner loops carry no bounds checks. Pads, auto_pad, dilations, ceil_mode
// and count_include_pad follow the ONNX spec; ceil_mode drops a last window
// that would start inside the end padding, as ONNX Runtime and PyTorch do.
// Float16 and bfloat16 are computed through float.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/kernel.h"
#include "kernels/ref/channels_last.h"
#include "passes/post_ops.h"

namespace ecoinfer::kernels {
namespace {

constexpr size_t kMaxSpatial = 3;
constexpr int64_t kParallelMin = 1 << 14;  // elements; below this threads cost more than they save
constexpr int64_t kMaxAttr = int64_t{1} << 31;
constexpr int64_t kMaxOutputElements = int64_t{1} << 32;
constexpr int64_t kMaxAxisLength = int64_t{1} << 24;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct PoolAttrs {
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> pads;  // begin values then end values, as ONNX lists them
  std::vector<int64_t> dilations;
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t storage_order = 0;
};

// One spatial axis of a pooling, resolved for a concrete input length.
// For output position o the window taps are input positions
// start[o] + k * dilation for k in [k_begin[o], k_end[o]) (all in range).
struct AxisPlan {
  int64_t in = 1;
  int64_t out = 1;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t pad_begin = 0;
  int64_t dilation = 1;
  std::vector<int64_t> start, k_begin, k_end;
  std::vector<int64_t> padded_count;  // window length counting pads (count_include_pad)
};

template <class T>
float to_float(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return static_cast<float>(v);
}

template <class T>
T from_float(float v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(v);
  else return static_cast<T>(v);
}

template <class T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// The type values are compared and summed in: float for the 16-bit floats.
template <class T>
using ValueOf = std::conditional_t<kIsHalf<T>, float, T>;
template <class T>
ValueOf<T> load(T v) {
  if constexpr (kIsHalf<T>) return to_float(v);
  else return v;
}
template <class T>
T store(ValueOf<T> v) {
  if constexpr (kIsHalf<T>) return from_float<T>(v);
  else return v;
}
// Sums in double for double, float otherwise.
template <class T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;

Expected<PoolAttrs> read_pool_attrs(const KernelInfo& info, bool is_max) {
  PoolAttrs a;
  a.kernel = info.attr_ints("kernel_shape");
  if (a.kernel.empty()) return info.model_error("kernel_shape attribute is required");
  const size_t n = a.kernel.size();
  if (n > kMaxSpatial) return info.unsupported(fmt::format("{} spatial dimensions (at most 3 supported)", n));
  a.strides = info.attr_ints("strides", std::vector<int64_t>(n, 1));
  a.pads = info.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  a.dilations = info.attr_ints("dilations", std::vector<int64_t>(n, 1));
  if (a.strides.size() != n || a.pads.size() != 2 * n || a.dilations.size() != n)
    return info.model_error("strides, pads and dilations must match kernel_shape's length");
  for (size_t i = 0; i < n; ++i) {
    if (a.kernel[i] < 1 || a.strides[i] < 1 || a.dilations[i] < 1)
      return info.model_error("kernel_shape, strides and dilations must be positive");
    if (a.pads[i] < 0 || a.pads[i + n] < 0) return info.model_error("pads must not be negative");
    // Bounded so the window arithmetic cannot overflow.
    if (std::max({a.kernel[i], a.strides[i], a.dilations[i], a.pads[i], a.pads[i + n]}) > kMaxAttr)
      return info.model_error("kernel_shape, strides, dilations and pads must be below 2^31");
  }
  const std::string auto_pad = info.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") a.auto_pad = AutoPad::kNotSet;
  else if (auto_pad == "SAME_UPPER") a.auto_pad = AutoPad::kSameUpper;
  else if (auto_pad == "SAME_LOWER") a.auto_pad = AutoPad::kSameLower;
  else if (auto_pad == "VALID") a.auto_pad = AutoPad::kValid;
  else return info.model_error(fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad));
  a.ceil_mode = info.attr_int("ceil_mode", 0) != 0;
  a.count_include_pad = !is_max && info.attr_int("count_include_pad", 0) != 0;
  a.storage_order = info.attr_int("storage_order", 0);
  if (a.storage_order != 0 && a.storage_order != 1) return info.model_error("storage_order must be 0 or 1");
  return a;
}

// Output length and the begin/end pads actually used on one axis.
Status resolve_axis(const PoolAttrs& a, size_t i, int64_t in, AxisPlan& plan) {
  const size_t n = a.kernel.size();
  const int64_t k = a.kernel[i], s = a.strides[i], d = a.dilations[i];
  const int64_t span = (k - 1) * d + 1;
  int64_t pb = a.pads[i], pe = a.pads[i + n], out = 0;
  switch (a.auto_pad) {
    case AutoPad::kNotSet: {
      const int64_t room = in + pb + pe - span;
      if (room < 0) return invalid_argument(fmt::format("pooling window {} is larger than padded input {}", span, in + pb + pe));
      out = (a.ceil_mode ? (room + s - 1) / s : room / s) + 1;
      if (a.ceil_mode && (out - 1) * s >= in + pb) --out;  // last window would start in the end padding
      break;
    }
    case AutoPad::kValid:
      pb = pe = 0;
      if (in < span) return invalid_argument(fmt::format("pooling window {} is larger than input {}", span, in));
      out = (in - span) / s + 1;
      break;
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - in);
      pb = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      pe = total - pb;
      break;
    }
  }
  // Padding can make an axis far longer than the input: refuse before
  // sizing the per-position tables.
  if (out > kMaxAxisLength) return invalid_argument(fmt::format("pooled axis length {} is too large", out));
  plan.in = in;
  plan.out = out;
  plan.kernel = k;
  plan.stride = s;
  plan.pad_begin = pb;
  plan.dilation = d;
  plan.start.resize(out);
  plan.k_begin.resize(out);
  plan.k_end.resize(out);
  plan.padded_count.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - pb;
    // First tap at or after 0, one past the last tap before `in`.
    const int64_t kb = start < 0 ? std::min(k, (-start + d - 1) / d) : 0;
    const int64_t ke = std::clamp<int64_t>((in - start + d - 1) / d, kb, k);
    plan.start[o] = start;
    plan.k_begin[o] = kb;
    plan.k_end[o] = ke;
    plan.padded_count[o] = std::min(start + span, in + pe) - start;
    if (d > 1) plan.padded_count[o] = (plan.padded_count[o] + d - 1) / d;
  }
  return Status::ok();
}

// Resolves all spatial axes for an input shape; unused leading axes are
// length-1 identities so every rank runs the same 3-D loop.
Status plan_pool(const PoolAttrs& a, const Shape& x_shape, const std::string& who, AxisPlan (&axes)[kMaxSpatial],
                 Shape& y_shape) {
  const size_t n = a.kernel.size();
  if (x_shape.size() != n + 2)
    return invalid_argument(fmt::format("{}: input has shape {} but kernel_shape has {} dimensions", who,
                                        shape_to_string(x_shape), n));
  y_shape = {x_shape[0], x_shape[1]};
  PoolAttrs one = {.kernel = {1}, .strides = {1}, .pads = {0, 0}, .dilations = {1}};
  for (size_t j = 0; j < kMaxSpatial - n; ++j) ECOINFER_RETURN_IF_ERROR(resolve_axis(one, 0, 1, axes[j]));
  int64_t total = std::max<int64_t>(1, x_shape[0] * x_shape[1]);
  for (size_t i = 0; i < n; ++i) {
    Status st = resolve_axis(a, i, x_shape[i + 2], axes[kMaxSpatial - n + i]);
    if (!st) return st.with_context(who);
    const int64_t out = axes[kMaxSpatial - n + i].out;
    if (out > kMaxOutputElements / total) return invalid_argument(who + ": output is too large");
    total *= std::max<int64_t>(1, out);
    y_shape.push_back(out);
  }
  return Status::ok();
}

// Index of input position (d, h, w) inside one channel, in the requested
// storage order (1: column major, the first spatial axis varies fastest).
inline int64_t storage_index(const AxisPlan (&ax)[kMaxSpatial], int64_t d, int64_t h, int64_t w, int64_t order) {
  if (order == 0) return (d * ax[1].in + h) * ax[2].in + w;
  return d + ax[0].in * (h + ax[1].in * w);
}

template <class T>
void max_pool(const T* x, T* y, int64_t* indices, int64_t planes, const AxisPlan (&ax)[kMaxSpatial],
              int64_t storage_order) {
  using V = ValueOf<T>;
  const int64_t in_plane = ax[0].in * ax[1].in * ax[2].in;
  const int64_t out_plane = ax[0].out * ax[1].out * ax[2].out;
  const int64_t dd = ax[0].dilation, dh = ax[1].dilation, dw = ax[2].dilation;
#pragma omp parallel for if (planes * out_plane > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * in_plane;
    T* yp = y + p * out_plane;
    int64_t oi = 0;
    for (int64_t od = 0; od < ax[0].out; ++od) {
      for (int64_t oh = 0; oh < ax[1].out; ++oh) {
        for (int64_t ow = 0; ow < ax[2].out; ++ow, ++oi) {
          V best = std::numeric_limits<V>::lowest();
          if constexpr (std::is_floating_point_v<V>) best = -std::numeric_limits<V>::infinity();
          int64_t arg = -1;
          for (int64_t kd = ax[0].k_begin[od]; kd < ax[0].k_end[od]; ++kd) {
            const int64_t id = ax[0].start[od] + kd * dd;
            for (int64_t kh = ax[1].k_begin[oh]; kh < ax[1].k_end[oh]; ++kh) {
              const int64_t ih = ax[1].start[oh] + kh * dh;
              const T* row = xp + (id * ax[1].in + ih) * ax[2].in;
              for (int64_t kw = ax[2].k_begin[ow]; kw < ax[2].k_end[ow]; ++kw) {
                const int64_t iw = ax[2].start[ow] + kw * dw;
                const V v = load(row[iw]);
                if (v > best || arg < 0) {
                  best = v;
                  if (indices) arg = storage_index(ax, id, ih, iw, storage_order);
                  else arg = 0;
                }
              }
            }
          }
          yp[oi] = store<T>(best);
          if (indices) indices[p * out_plane + oi] = p * in_plane + std::max<int64_t>(arg, 0);
        }
      }
    }
  }
}

// Output positions [lo, hi) of the last axis whose tap kw is inside the input.
inline void tap_range(const AxisPlan& a, int64_t kw, int64_t& lo, int64_t& hi) {
  auto first_at_or_after = [&](int64_t bound) {  // smallest o with o*s - pb + kw*d >= bound
    const int64_t num = bound + a.pad_begin - kw * a.dilation;
    return std::clamp<int64_t>(num <= 0 ? 0 : (num + a.stride - 1) / a.stride, 0, a.out);
  };
  lo = first_at_or_after(0);
  hi = std::max(lo, first_at_or_after(a.in));
}

// Max pooling of integers (a quantized model's uint8/int8 MaxPool) in two
// stages per output row: the max over the window's rows, contiguous and
// vectorized, then the strided max across one row. Strided byte loads do
// not vectorize well: pool_rows ran a quantized ResNet's stem pool
// (64 x 112 x 112, 3x3 stride 2) 2-3x slower in uint8 than in float.
// kStride: the last axis's stride when known at compile time, else 0.
template <class T, int64_t kStride = 0>
void max_pool_integer_rows(const T* x, T* y, int64_t planes, const AxisPlan (&ax)[kMaxSpatial]) {
  const AxisPlan& aw = ax[2];
  const int64_t in_plane = ax[0].in * ax[1].in * aw.in;
  const int64_t out_plane = ax[0].out * ax[1].out * aw.out;
  const int64_t s = kStride > 0 ? kStride : aw.stride, dd = ax[0].dilation, dh = ax[1].dilation;
  std::vector<int64_t> lo(aw.kernel), hi(aw.kernel);
  for (int64_t kw = 0; kw < aw.kernel; ++kw) tap_range(aw, kw, lo[kw], hi[kw]);
#pragma omp parallel if (planes * out_plane > kParallelMin)
  {
    std::vector<T> window_max(aw.in), acc(aw.out);
#pragma omp for
    for (int64_t p = 0; p < planes; ++p) {
      const T* xp = x + p * in_plane;
      T* yr = y + p * out_plane;
      for (int64_t od = 0; od < ax[0].out; ++od) {
        for (int64_t oh = 0; oh < ax[1].out; ++oh, yr += aw.out) {
          std::fill(window_max.begin(), window_max.end(), std::numeric_limits<T>::lowest());
          T* m = window_max.data();
          for (int64_t kd = ax[0].k_begin[od]; kd < ax[0].k_end[od]; ++kd) {
            const int64_t id = ax[0].start[od] + kd * dd;
            for (int64_t kh = ax[1].k_begin[oh]; kh < ax[1].k_end[oh]; ++kh) {
              const T* row = xp + (id * ax[1].in + ax[1].start[oh] + kh * dh) * aw.in;
              for (int64_t i = 0; i < aw.in; ++i) m[i] = m[i] > row[i] ? m[i] : row[i];
            }
          }
          std::fill(acc.begin(), acc.end(), std::numeric_limits<T>::lowest());
          T* a = acc.data();
          for (int64_t kw = 0; kw < aw.kernel; ++kw) {
            const int64_t offset = kw * aw.dilation - aw.pad_begin;
            for (int64_t o = lo[kw]; o < hi[kw]; ++o) a[o] = a[o] > m[o * s + offset] ? a[o] : m[o * s + offset];
          }
          std::copy(acc.begin(), acc.end(), yr);
        }
      }
    }
  }
}

// Max or average pooling without indices, one output row at a time: for
// each tap the whole row is updated, so the inner loop is a strided
// vectorizable max/add with no bounds checks.
template <class T, bool kMax>
void pool_rows(const T* x, T* y, int64_t planes, const AxisPlan (&ax)[kMaxSpatial], bool count_include_pad) {
  using A = std::conditional_t<kMax, ValueOf<T>, AccOf<T>>;
  const AxisPlan& aw = ax[2];
  const int64_t in_plane = ax[0].in * ax[1].in * aw.in;
  const int64_t out_plane = ax[0].out * ax[1].out * aw.out;
  const int64_t s = aw.stride, dd = ax[0].dilation, dh = ax[1].dilation;
  std::vector<int64_t> lo(aw.kernel), hi(aw.kernel), width_count(aw.out);
  for (int64_t kw = 0; kw < aw.kernel; ++kw) tap_range(aw, kw, lo[kw], hi[kw]);
  for (int64_t o = 0; o < aw.out; ++o)
    width_count[o] = count_include_pad ? aw.padded_count[o] : aw.k_end[o] - aw.k_begin[o];
  A init = 0;
  if constexpr (kMax) {
    init = std::numeric_limits<A>::lowest();
    if constexpr (std::is_floating_point_v<A>) init = -std::numeric_limits<A>::infinity();
  }
#pragma omp parallel if (planes * out_plane > kParallelMin)
  {
    std::vector<A> acc(aw.out);
#pragma omp for
    for (int64_t p = 0; p < planes; ++p) {
      const T* xp = x + p * in_plane;
      T* yr = y + p * out_plane;
      for (int64_t od = 0; od < ax[0].out; ++od) {
        for (int64_t oh = 0; oh < ax[1].out; ++oh, yr += aw.out) {
          std::fill(acc.begin(), acc.end(), init);
          for (int64_t kd = ax[0].k_begin[od]; kd < ax[0].k_end[od]; ++kd) {
            const int64_t id = ax[0].start[od] + kd * dd;
            for (int64_t kh = ax[1].k_begin[oh]; kh < ax[1].k_end[oh]; ++kh) {
              const T* row = xp + (id * ax[1].in + ax[1].start[oh] + kh * dh) * aw.in;
              for (int64_t kw = 0; kw < aw.kernel; ++kw) {
                const int64_t offset = kw * aw.dilation - aw.pad_begin;  // tap kw of output o: row[o * s + offset]
                A* a = acc.data();
                for (int64_t o = lo[kw]; o < hi[kw]; ++o) {
                  const A v = static_cast<A>(load(row[o * s + offset]));
                  if constexpr (kMax) a[o] = a[o] > v ? a[o] : v;
                  else a[o] += v;
                }
              }
            }
          }
          if constexpr (kMax) {
            for (int64_t o = 0; o < aw.out; ++o) yr[o] = store<T>(acc[o]);
          } else {
            const int64_t outer = count_include_pad
                                      ? ax[0].padded_count[od] * ax[1].padded_count[oh]
                                      : (ax[0].k_end[od] - ax[0].k_begin[od]) * (ax[1].k_end[oh] - ax[1].k_begin[oh]);
            for (int64_t o = 0; o < aw.out; ++o) {
              const int64_t count = outer * width_count[o];
              // A window entirely in the padding has no elements: 0, not 0/0.
              yr[o] = store<T>(static_cast<ValueOf<T>>(count > 0 ? acc[o] / static_cast<A>(count) : A(0)));
            }
          }
        }
      }
    }
  }
}

// Max pooling of a channels-last 4-D tensor (N, H, W, C in memory; the
// logical shape stays N, C, H, W), marked by passes/channels_last_convs.cc
// between convolutions (a ResNet's stem, float or int8): each output pixel
// is the max of its window's channel vectors, contiguous loads with no
// strided access.
template <class T>
void max_pool_channels_last(const T* __restrict x, T* __restrict y, int64_t batch, int64_t channels, const AxisPlan (&ax)[kMaxSpatial]) {
  const T init = std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  const AxisPlan& ah = ax[1];
  const AxisPlan& aw = ax[2];
#pragma omp parallel for if (batch * ah.out * aw.out * channels > kParallelMin)
  for (int64_t row = 0; row < batch * ah.out; ++row) {
    const int64_t n = row / ah.out, oh = row % ah.out;
    for (int64_t ow = 0; ow < aw.out; ++ow) {
      T* out = y + (row * aw.out + ow) * channels;
      std::fill(out, out + channels, init);
      for (int64_t kh = ah.k_begin[oh]; kh < ah.k_end[oh]; ++kh) {
        const int64_t ih = ah.start[oh] + kh * ah.dilation;
        for (int64_t kw = aw.k_begin[ow]; kw < aw.k_end[ow]; ++kw) {
          const int64_t iw = aw.start[ow] + kw * aw.dilation;
          const T* in = x + ((n * ah.in + ih) * aw.in + iw) * channels;
          for (int64_t c = 0; c < channels; ++c) out[c] = out[c] > in[c] ? out[c] : in[c];
        }
      }
    }
  }
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(PoolAttrs attrs, bool is_max, bool want_indices, bool channels_last, bool blocked16, std::string who)
      : attrs_(std::move(attrs)), is_max_(is_max), want_indices_(want_indices), channels_last_(channels_last),
        blocked16_(blocked16), who_(std::move(who)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument(who_ + ": input X is missing");
    AxisPlan axes[kMaxSpatial];
    Shape y_shape;
    ECOINFER_RETURN_IF_ERROR(plan_pool(attrs_, x->shape(), who_, axes, y_shape));
    const int64_t planes = x->dim(0) * x->dim(1);
    Tensor* y = ctx.output(0, x->dtype(), y_shape);
    if (channels_last_) {
      if (x->rank() != 4) return unimplemented(who_ + ": a channels-last MaxPool must be 2-D");
      if (blocked16_ && x->dim(1) % 16 != 0) return unimplemented(who_ + ": a blocked MaxPool needs 16k channels");
      // 16-channel blocks (N, C/16, H, W, 16) are N*C/16 channels-last images of 16 channels.
      const int64_t images = blocked16_ ? x->dim(0) * (x->dim(1) / 16) : x->dim(0);
      const int64_t channels = blocked16_ ? 16 : x->dim(1);
      return dispatch_type(x->dtype(), kFloats | kSigned | kUnsigned, [&](auto tag) -> Status {
        using T = decltype(tag);
        if constexpr (!std::is_arithmetic_v<T> || std::is_same_v<T, bool>) {
          return unimplemented(who_ + ": a channels-last MaxPool takes floats or integers");
        } else {
          max_pool_channels_last(x->data<T>(), y->data<T>(), images, channels, axes);
          return Status::ok();
        }
      }, who_);
    }
    if (is_max_) {
      int64_t* indices = want_indices_ ? ctx.output(1, DataType::kInt64, y_shape)->data<int64_t>() : nullptr;
      return dispatch_type(x->dtype(), kFloats | kSigned | kUnsigned | kHalfs, [&](auto tag) -> Status {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) return unimplemented(who_ + ": bool input");  // never dispatched
        else {
        if (indices != nullptr) max_pool(x->data<T>(), y->data<T>(), indices, planes, axes, attrs_.storage_order);
        else if constexpr (std::is_integral_v<T>) {
          if (axes[2].stride == 2) max_pool_integer_rows<T, 2>(x->data<T>(), y->data<T>(), planes, axes);
          else max_pool_integer_rows<T>(x->data<T>(), y->data<T>(), planes, axes);
        } else {
          pool_rows<T, true>(x->data<T>(), y->data<T>(), planes, axes, false);
        }
        return Status::ok();
        }
      }, who_);
    }
    return dispatch_type(x->dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (!(std::is_floating_point_v<T> || kIsHalf<T>)) return unimplemented(who_ + ": integer input");
      else {
      pool_rows<T, false>(x->data<T>(), y->data<T>(), planes, axes, attrs_.count_include_pad);
      return Status::ok();
      }
    }, who_);
  }

 private:
  PoolAttrs attrs_;
  bool is_max_;
  bool want_indices_;
  bool channels_last_;  // input and output channels-last (MaxPool only)
  bool blocked16_;      // ... in 16-channel blocks instead (passes::kBlocked16Layout)
  std::string who_;
};

// Global pooling: one contiguous reduction per (n, c) plane, planes in
// parallel. This is PaddleOCR's squeeze-excitation hot spot.
template <class T, bool kMax>
void global_pool(const T* x, T* y, int64_t planes, int64_t size) {
  using A = std::conditional_t<kMax, ValueOf<T>, AccOf<T>>;
#pragma omp parallel for if (planes * size > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * size;
    if constexpr (kMax) {
      A best = load(xp[0]);
      if constexpr (kIsHalf<T>) {
        for (int64_t i = 1; i < size; ++i) best = std::max(best, load(xp[i]));
      } else {
#pragma omp simd reduction(max : best)
        for (int64_t i = 1; i < size; ++i) best = best > xp[i] ? best : xp[i];
      }
      y[p] = store<T>(best);
    } else {
      A sum = 0;
      if constexpr (kIsHalf<T>) {
        for (int64_t i = 0; i < size; ++i) sum += load(xp[i]);
      } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t i = 0; i < size; ++i) sum += static_cast<A>(xp[i]);
      }
      y[p] = store<T>(static_cast<ValueOf<T>>(sum / static_cast<A>(size)));
    }
  }
}

template <bool kMax>
Expected<std::unique_ptr<Kernel>> make_global_pool(const KernelInfo& info) {
  const std::string who = info.node().describe();
  const unsigned types = kMax ? (kFloats | kSigned | kUnsigned | kHalfs) : (kFloats | kHalfs);
  return make_kernel([who, types](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument(who + ": input X is missing");
    if (x->rank() < 3)
      return invalid_argument(fmt::format("{}: input has shape {}, expected N x C x spatial...", who,
                                          shape_to_string(x->shape())));
    Shape y_shape(x->rank(), 1);
    y_shape[0] = x->dim(0);
    y_shape[1] = x->dim(1);
    const int64_t planes = x->dim(0) * x->dim(1);
    const int64_t size = planes == 0 ? 0 : x->numel() / planes;
    if (size == 0 && planes > 0) return invalid_argument(who + ": spatial dimensions are empty");
    Tensor* y = ctx.output(0, x->dtype(), y_shape);
    return dispatch_type(x->dtype(), types, [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (!kMax && !(std::is_floating_point_v<T> || kIsHalf<T>)) {
        return unimplemented(who + ": integer input");
      } else {
        global_pool<T, kMax>(x->data<T>(), y->data<T>(), planes, size);
        return Status::ok();
      }
    }, who);
  });
}

Expected<std::unique_ptr<Kernel>> make_pool(const KernelInfo& info, bool is_max) {
  auto attrs = read_pool_attrs(info, is_max);
  if (!attrs) return attrs.status();
  if (!is_max && info.has_attr("dilations") && info.opset() < 19)
    return info.model_error("AveragePool has no dilations attribute before opset 19");
  const bool want_indices = is_max && info.output_count() > 1 && info.node().outputs[1] != ir::kNoValue;
  const auto inputs = passes::channels_last_inputs(info.node());
  const bool channels_last = passes::channels_last_output(info.node());
  if (channels_last != (inputs.size() == 1 && inputs[0] == 0) || (channels_last && (!is_max || want_indices))) {
    return info.model_error("channels-last pooling needs a MaxPool with its input and output both channels-last");
  }
  return std::unique_ptr<Kernel>(std::make_unique<PoolKernel>(std::move(*attrs), is_max, want_indices, channels_last,
                                                              passes::blocked16_layout(info.node()),
                                                              info.node().describe()));
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_MaxPool(const KernelInfo& info) { return make_pool(info, true); }
Expected<std::unique_ptr<Kernel>> create_AveragePool(const KernelInfo& info) { return make_pool(info, false); }
Expected<std::unique_ptr<Kernel>> create_GlobalAveragePool(const KernelInfo& info) {
  if (!passes::channels_last_inputs(info.node()).empty()) return create_channels_last_global_average_pool(info);
  return make_global_pool<false>(info);
}
Expected<std::unique_ptr<Kernel>> create_GlobalMaxPool(const KernelInfo& info) { return make_global_pool<true>(info); }

}  // namespace ecoinfer::kernels
