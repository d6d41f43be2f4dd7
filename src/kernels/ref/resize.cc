// Resize (opsets 10 to 17): nearest, linear and cubic interpolation over any
// axes, with every coordinate_transformation_mode and nearest_mode.
//
// Inputs: opset 10 (X, scales); opset 11+ (X, roi, scales, sizes), where an
// empty scales tensor means sizes decides the output shape.
//
// Each axis is resolved once per shape into taps (input index, weight) per
// output index, so the loops only gather and blend. Nearest gathers whole
// rows and copies repeated rows (2x upsampling does half the work); 2-D
// linear on NCHW float blends two rows directly; everything else runs as
// separable 1-D passes in float (double for double), which equals the
// spec's N-D interpolation because the weights of each axis sum to one.
// Coordinates are computed in double, as the ONNX reference does.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/kernel.h"

namespace ecoinfer::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 14;       // output elements; below this one thread is faster
constexpr int64_t kMaxOutputElements = int64_t{1} << 32;
constexpr int64_t kMaxAxisLength = int64_t{1} << 24;

enum class Mode { kNearest, kLinear, kCubic };
enum class CoordMode { kHalfPixel, kAsymmetric, kPytorchHalfPixel, kAlignCorners, kTfHalfPixelForNn, kTfCropAndResize };
// kSimple is opset 10's rule (from Upsample): floor when enlarging an axis,
// ceil when shrinking it.
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizeAttrs {
  Mode mode = Mode::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0.0;
  int opset = 11;
};

// One axis resolved for a concrete shape: `taps` (input index, weight) pairs
// per output index; outside[o] marks tf_crop_and_resize extrapolation.
struct AxisTaps {
  int64_t in = 1;
  int64_t out = 1;
  int taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> outside;
  bool identity = false;  // output o reads exactly input o
};

template <class T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <class T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class T>
AccOf<T> to_acc(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return static_cast<AccOf<T>>(v);
}

// Integers round to nearest and saturate: a blend can overshoot (cubic).
template <class T, class A>
T from_acc(A v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(static_cast<float>(v));
  else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(v);
  else if constexpr (std::is_same_v<T, bool>) return v != A(0);
  else {
    const double r = std::nearbyint(static_cast<double>(v));
    if (!(r > static_cast<double>(std::numeric_limits<T>::lowest()))) return std::numeric_limits<T>::lowest();
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  }
}

Expected<ResizeAttrs> read_resize_attrs(const KernelInfo& info) {
  ResizeAttrs a;
  a.opset = info.opset();
  const std::string mode = info.attr_string("mode", "nearest");
  if (mode == "nearest") a.mode = Mode::kNearest;
  else if (mode == "linear") a.mode = Mode::kLinear;
  else if (mode == "cubic" && a.opset >= 11) a.mode = Mode::kCubic;
  else return info.model_error(fmt::format("mode '{}' is not supported at this opset", mode));
  if (a.opset < 11) {  // opset 10 has no other attributes: Upsample's asymmetric mapping
    a.coord = CoordMode::kAsymmetric;
    a.nearest = NearestMode::kSimple;
    return a;
  }
  const std::string coord = info.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") a.coord = CoordMode::kHalfPixel;
  else if (coord == "asymmetric") a.coord = CoordMode::kAsymmetric;
  else if (coord == "pytorch_half_pixel") a.coord = CoordMode::kPytorchHalfPixel;
  else if (coord == "align_corners") a.coord = CoordMode::kAlignCorners;
  else if (coord == "tf_half_pixel_for_nn") a.coord = CoordMode::kTfHalfPixelForNn;
  else if (coord == "tf_crop_and_resize") a.coord = CoordMode::kTfCropAndResize;
  else return info.model_error(fmt::format("coordinate_transformation_mode '{}' is not known", coord));
  const std::string nearest = info.attr_string("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") a.nearest = NearestMode::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil") a.nearest = NearestMode::kRoundPreferCeil;
  else if (nearest == "floor") a.nearest = NearestMode::kFloor;
  else if (nearest == "ceil") a.nearest = NearestMode::kCeil;
  else return info.model_error(fmt::format("nearest_mode '{}' is not known", nearest));
  a.cubic_a = info.attr_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = info.attr_int("exclude_outside", 0) != 0;
  a.extrapolation_value = info.attr_float("extrapolation_value", 0.0f);
  return a;
}

// The input coordinate that output coordinate x maps to. `out` is the
// resized length in the ONNX reference's sense: in * scale, unfloored, when
// scales are given (align_corners differs from using the output length).
double original_coordinate(const ResizeAttrs& a, double x, double scale, int64_t in, double out, double roi_start,
                           double roi_end) {
  switch (a.coord) {
    case CoordMode::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case CoordMode::kAsymmetric: return x / scale;
    case CoordMode::kPytorchHalfPixel: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::kAlignCorners: return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out - 1);
    case CoordMode::kTfHalfPixelForNn: return (x + 0.5) / scale;
    case CoordMode::kTfCropAndResize:
      if (out > 1)
        return roi_start * static_cast<double>(in - 1) +
               x * (roi_end - roi_start) * static_cast<double>(in - 1) / (out - 1);
      return 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
  }
  return x;
}

int64_t nearest_index(NearestMode m, double x, double scale) {
  switch (m) {
    case NearestMode::kRoundPreferFloor: return static_cast<int64_t>(x == std::floor(x) + 0.5 ? std::floor(x) : std::round(x));
    case NearestMode::kRoundPreferCeil: return static_cast<int64_t>(std::floor(x + 0.5));
    case NearestMode::kFloor: return static_cast<int64_t>(std::floor(x));
    case NearestMode::kCeil: return static_cast<int64_t>(std::ceil(x));
    case NearestMode::kSimple: return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : std::floor(x));
  }
  return 0;
}

// Keys' cubic convolution weights for taps at floor(x)-1 .. floor(x)+2.
void cubic_weights(double t, double A, double w[4]) {
  const double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  w[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  w[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

void fill_taps(const ResizeAttrs& a, double x, double scale, AxisTaps& ax, int64_t o) {
  const int n = ax.taps;
  int64_t* idx = &ax.index[o * n];
  double* w = &ax.weight[o * n];
  const int64_t last = ax.in - 1;
  if (a.mode == Mode::kNearest) {
    idx[0] = std::clamp<int64_t>(nearest_index(a.nearest, x, scale), 0, last);
    w[0] = 1.0;
    return;
  }
  // NaN or huge coordinates (extreme scales) must not reach the integer cast.
  x = std::isfinite(x) ? std::clamp(x, -2.0, static_cast<double>(ax.in) + 2.0) : 0.0;
  const double base = std::floor(x);
  const double t = x - base;
  const int64_t i0 = static_cast<int64_t>(base);
  if (a.mode == Mode::kLinear) {
    idx[0] = std::clamp<int64_t>(i0, 0, last);
    idx[1] = std::clamp<int64_t>(i0 + 1, 0, last);
    w[0] = 1.0 - t;
    w[1] = t;
    return;
  }
  cubic_weights(t, a.cubic_a, w);
  double sum = 0;
  for (int k = 0; k < 4; ++k) {
    const int64_t i = i0 - 1 + k;
    if (a.exclude_outside && (i < 0 || i > last)) w[k] = 0;
    sum += w[k];
    idx[k] = std::clamp<int64_t>(i, 0, last);
  }
  if (a.exclude_outside && sum != 0)
    for (int k = 0; k < 4; ++k) w[k] /= sum;
}

AxisTaps make_axis(const ResizeAttrs& a, int64_t in, int64_t out, double resized_length, double scale,
                   double roi_start, double roi_end) {
  AxisTaps ax;
  ax.in = in;
  ax.out = out;
  ax.taps = a.mode == Mode::kNearest ? 1 : a.mode == Mode::kLinear ? 2 : 4;
  ax.index.assign(out * ax.taps, 0);
  ax.weight.assign(out * ax.taps, 0.0);
  ax.outside.assign(out, 0);
  ax.identity = in == out;
  for (int64_t o = 0; o < out; ++o) {
    const double x = original_coordinate(a, static_cast<double>(o), scale, in, resized_length, roi_start, roi_end);
    if (a.coord == CoordMode::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
      ax.outside[o] = 1;
      ax.identity = false;
      continue;
    }
    fill_taps(a, x, scale, ax, o);
    // Taps may repeat an index at the edges: compare the summed weights.
    double own = 0, other = 0;
    for (int k = 0; k < ax.taps; ++k) {
      const double w = ax.weight[o * ax.taps + k];
      (ax.index[o * ax.taps + k] == o ? own : other) += w;
    }
    if (own != 1.0 || other != 0.0) ax.identity = false;
  }
  return ax;
}

// Reads a float tensor of any float type as doubles.
Expected<std::vector<double>> read_doubles(const Tensor& t, const char* what) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  Status st = dispatch_type(t.dtype(), kFloats | kHalfs, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(to_acc(p[i]));
    return Status::ok();
  }, what);
  if (!st) return st;
  return v;
}

// Output shape, per-axis scale and roi from the inputs (opset layout aware).
Status resolve_shape(const ResizeAttrs& a, const KernelContext& ctx, const Shape& in, Shape& out,
                     std::vector<double>& scales, std::vector<double>& roi, bool& from_sizes) {
  const size_t rank = in.size();
  const Tensor* scales_t = ctx.input(a.opset < 11 ? 1 : 2);
  const Tensor* sizes_t = a.opset < 11 ? nullptr : ctx.input(3);
  const Tensor* roi_t = a.opset < 11 ? nullptr : ctx.input(1);
  out.assign(rank, 0);
  scales.assign(rank, 1.0);
  from_sizes = sizes_t != nullptr && sizes_t->numel() > 0;
  if (from_sizes) {
    if (scales_t != nullptr && scales_t->numel() > 0) return invalid_argument("give scales or sizes, not both");
    if (sizes_t->dtype() != DataType::kInt64) return invalid_argument("sizes must be int64");
    if (static_cast<size_t>(sizes_t->numel()) != rank)
      return invalid_argument(fmt::format("sizes has {} values for an input of rank {}", sizes_t->numel(), rank));
    for (size_t i = 0; i < rank; ++i) {
      out[i] = sizes_t->data<int64_t>()[i];
      if (out[i] < 0) return invalid_argument("sizes must not be negative");
      scales[i] = in[i] > 0 ? static_cast<double>(out[i]) / static_cast<double>(in[i]) : 1.0;
    }
  } else if (scales_t != nullptr && scales_t->numel() > 0) {
    auto values = read_doubles(*scales_t, "scales");
    if (!values) return values.status();
    if (values->size() != rank)
      return invalid_argument(fmt::format("scales has {} values for an input of rank {}", values->size(), rank));
    for (size_t i = 0; i < rank; ++i) {
      const double s = (*values)[i];
      if (!(s > 0) || !std::isfinite(s)) return invalid_argument(fmt::format("scale {} is not positive", s));
      const double o = std::floor(s * static_cast<double>(in[i]));
      if (o > static_cast<double>(kMaxOutputElements)) return invalid_argument("output is too large");
      out[i] = static_cast<int64_t>(o);
      scales[i] = s;
    }
  } else {
    return invalid_argument("neither scales nor sizes is given");
  }
  int64_t total = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (in[i] == 0 && out[i] > 0) return invalid_argument("cannot resize an empty axis to a non-empty one");
    // Each axis gets a tap table per output position: bound it before building it.
    if (out[i] > kMaxAxisLength) return invalid_argument(fmt::format("output axis length {} is too large", out[i]));
    if (out[i] > 0 && total > kMaxOutputElements / out[i]) return invalid_argument("output is too large");
    total *= out[i];
  }
  roi.clear();
  if (a.coord == CoordMode::kTfCropAndResize) {
    if (roi_t == nullptr || roi_t->numel() == 0) return invalid_argument("tf_crop_and_resize needs roi");
    auto values = read_doubles(*roi_t, "roi");
    if (!values) return values.status();
    if (values->size() != 2 * rank)
      return invalid_argument(fmt::format("roi has {} values, expected {}", values->size(), 2 * rank));
    roi = std::move(*values);
  }
  return Status::ok();
}

// Nearest: gathers rows of the last axis; a row whose source equals the
// previous row's is copied from the output instead.
template <class T>
void resize_nearest(const T* x, T* y, const Shape& in, const std::vector<AxisTaps>& axes, T fill) {
  const size_t rank = in.size();
  const AxisTaps& aw = axes[rank - 1];
  static const AxisTaps kUnit = [] { AxisTaps u; u.index = {0}; u.weight = {1}; u.outside = {0}; return u; }();
  const AxisTaps& ah = rank >= 2 ? axes[rank - 2] : kUnit;
  const int64_t in_w = aw.in, in_h = ah.in, out_w = aw.out, out_h = ah.out;
  int64_t planes = 1;
  for (size_t i = 0; i + 2 < rank; ++i) planes *= axes[i].out;
#pragma omp parallel for if (planes * out_h * out_w > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    // Source plane offset from the plane's output coordinates, outermost last.
    int64_t src = 0, stride = in_h * in_w, rem = p;
    bool outside = false;
    for (size_t i = rank >= 2 ? rank - 2 : 0; i-- > 0;) {
      const int64_t c = rem % axes[i].out;
      rem /= axes[i].out;
      outside |= axes[i].outside[c] != 0;
      src += axes[i].index[c] * stride;
      stride *= axes[i].in;
    }
    T* yp = y + p * out_h * out_w;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      T* row = yp + oh * out_w;
      if (outside || ah.outside[oh]) {
        std::fill(row, row + out_w, fill);
      } else if (oh > 0 && !ah.outside[oh - 1] && ah.index[oh] == ah.index[oh - 1]) {
        std::memcpy(row, row - out_w, sizeof(T) * out_w);
      } else {
        const T* xr = x + src + ah.index[oh] * in_w;
        for (int64_t ow = 0; ow < out_w; ++ow) row[ow] = aw.outside[ow] ? fill : xr[aw.index[ow]];
      }
    }
  }
}

// Bilinear over the last two axes of a float NC..HW tensor whose other
// axes are unchanged: two input rows blended per output row.
template <class T>
void resize_bilinear_2d(const T* x, T* y, int64_t planes, const AxisTaps& ah, const AxisTaps& aw) {
  const int64_t in_w = aw.in, in_h = ah.in, out_w = aw.out, out_h = ah.out;
  std::vector<int64_t> x0(out_w), x1(out_w);
  std::vector<T> wx(out_w);
  for (int64_t o = 0; o < out_w; ++o) {
    x0[o] = aw.index[2 * o];
    x1[o] = aw.index[2 * o + 1];
    wx[o] = static_cast<T>(aw.weight[2 * o + 1]);
  }
#pragma omp parallel for collapse(2) if (planes * out_h * out_w > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const T* r0 = x + (p * in_h + ah.index[2 * oh]) * in_w;
      const T* r1 = x + (p * in_h + ah.index[2 * oh + 1]) * in_w;
      const T wy = static_cast<T>(ah.weight[2 * oh + 1]);
      T* row = y + (p * out_h + oh) * out_w;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const T top = r0[x0[ow]] + (r0[x1[ow]] - r0[x0[ow]]) * wx[ow];
        const T bottom = r1[x0[ow]] + (r1[x1[ow]] - r1[x0[ow]]) * wx[ow];
        row[ow] = top + (bottom - top) * wy;
      }
    }
  }
}

// One separable pass: interpolates axis `axis` of `src` (shape `shape`),
// writing `dst`; shape[axis] becomes the axis' output length.
template <class A>
void resize_axis(const std::vector<A>& src, std::vector<A>& dst, Shape& shape, size_t axis, const AxisTaps& ax,
                 A fill) {
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < axis; ++i) outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t in_len = ax.in, out_len = ax.out, n = ax.taps;
  dst.assign(static_cast<size_t>(outer * out_len * inner), A(0));
#pragma omp parallel for collapse(2) if (outer * out_len * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < out_len; ++j) {
      A* d = dst.data() + (o * out_len + j) * inner;
      if (ax.outside[j]) {
        std::fill(d, d + inner, fill);
        continue;
      }
      for (int64_t k = 0; k < n; ++k) {
        const A w = static_cast<A>(ax.weight[j * n + k]);
        if (w == A(0)) continue;
        const A* s = src.data() + (o * in_len + ax.index[j * n + k]) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += w * s[i];
      }
    }
  }
  shape[axis] = out_len;
}

template <class T>
void resize_separable(const T* x, T* y, const Shape& in, const std::vector<AxisTaps>& axes, double fill) {
  using A = AccOf<T>;
  const int64_t n_in = shape_numel(in);
  std::vector<A> cur(static_cast<size_t>(n_in)), next;
  for (int64_t i = 0; i < n_in; ++i) cur[i] = to_acc(x[i]);
  // Shrinking axes first keeps the intermediate tensors small.
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t l, size_t r) {
    return static_cast<double>(axes[l].out) * static_cast<double>(axes[r].in) <
           static_cast<double>(axes[r].out) * static_cast<double>(axes[l].in);
  });
  Shape shape = in;
  for (size_t axis : order) {
    if (axes[axis].identity) continue;
    resize_axis<A>(cur, next, shape, axis, axes[axis], static_cast<A>(fill));
    cur.swap(next);
  }
  for (size_t i = 0; i < cur.size(); ++i) y[i] = from_acc<T>(cur[i]);
}

class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(ResizeAttrs attrs, std::string who) : attrs_(attrs), who_(std::move(who)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (x == nullptr) return invalid_argument(who_ + ": input X is missing");
    if (x->rank() == 0) return invalid_argument(who_ + ": cannot resize a scalar");
    Shape out;
    std::vector<double> scales, roi;
    bool from_sizes = false;
    Status st = resolve_shape(attrs_, ctx, x->shape(), out, scales, roi, from_sizes);
    if (!st) return st.with_context(who_);
    const size_t rank = x->rank();
    std::vector<AxisTaps> axes;
    axes.reserve(rank);
    for (size_t i = 0; i < rank; ++i) {
      const double r0 = roi.empty() ? 0.0 : roi[i], r1 = roi.empty() ? 1.0 : roi[rank + i];
      const double resized = from_sizes ? static_cast<double>(out[i]) : static_cast<double>(x->dim(i)) * scales[i];
      axes.push_back(make_axis(attrs_, x->dim(i), out[i], resized, scales[i], r0, r1));
    }
    Tensor* y = ctx.output(0, x->dtype(), out);
    if (y->numel() == 0) return Status::ok();
    return dispatch_type(x->dtype(), kAllTypes, [&](auto tag) -> Status {
      using T = decltype(tag);
      run<T>(*x, *y, axes);
      return Status::ok();
    }, who_);
  }

 private:
  template <class T>
  void run(const Tensor& x, Tensor& y, const std::vector<AxisTaps>& axes) const {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const size_t rank = x.rank();
    const bool all_identity = std::all_of(axes.begin(), axes.end(), [](const AxisTaps& a) { return a.identity; });
    if (all_identity) {
      std::memcpy(static_cast<void*>(yp), xp, x.nbytes());
      return;
    }
    const double fill = attrs_.extrapolation_value;
    if (attrs_.mode == Mode::kNearest) {
      resize_nearest<T>(xp, yp, x.shape(), axes, from_acc<T>(static_cast<AccOf<T>>(fill)));
      return;
    }
    if constexpr (std::is_floating_point_v<T>) {
      bool planar = attrs_.mode == Mode::kLinear && attrs_.coord != CoordMode::kTfCropAndResize && rank >= 2;
      int64_t planes = 1;
      for (size_t i = 0; planar && i + 2 < rank; ++i) {
        planar = axes[i].identity;
        planes *= axes[i].out;
      }
      if (planar) {
        resize_bilinear_2d<T>(xp, yp, planes, axes[rank - 2], axes[rank - 1]);
        return;
      }
    }
    resize_separable<T>(xp, yp, x.shape(), axes, fill);
  }

  ResizeAttrs attrs_;
  std::string who_;
};

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Resize(const KernelInfo& info) {
  auto attrs = read_resize_attrs(info);
  if (!attrs) return attrs.status();
  if (info.opset() < 10) return info.unsupported("Resize before opset 10 does not exist");
  return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(*attrs, info.node().describe()));
}

}  // namespace ecoinfer::kernels
