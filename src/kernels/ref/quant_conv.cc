// ConvInteger and QLinearConv: reference integer convolutions (1-D to 3-D,
// groups, dilations, pads, auto_pad) as im2col + an int32 product per image
// and group. Padding holds the input's zero point, so it adds nothing once
// the zero point is subtracted (what ONNX Runtime does).
//
// QLinearConv requantizes each int32 sum (plus the int32 bias) with
// x_scale * w_scale[m] / y_scale. The fused oneDNN int8 path for QDQ
// models is passes/fuse_qdq + kernels/cpu; this is the plain reference.
#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

#include "kernels/kernel.h"
#include "kernels/ref/quantize_math.h"

namespace ecoinfer::kernels {
namespace {

constexpr size_t kMaxSpatial = 3;

struct ConvAttrs {
  std::string auto_pad = "NOTSET";
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
};

// Geometry padded to 3 spatial dims (unused ones are size 1).
struct Geometry {
  int64_t n = 0, c = 0, m = 0, group = 1;
  std::array<int64_t, kMaxSpatial> in{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1}, pad{0, 0, 0},
      out{1, 1, 1};
  Shape out_shape;
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

Expected<Geometry> geometry(const ConvAttrs& a, const Shape& x, const Shape& w, const std::string& who) {
  const size_t spatial = x.size() - 2;
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return invalid_argument(fmt::format("{}: X ({}) and W ({}) must both be 3-D to 5-D", who, shape_to_string(x),
                                        shape_to_string(w)));
  }
  Geometry g;
  g.n = x[0];
  g.c = x[1];
  g.m = w[0];
  g.group = a.group;
  if (g.group <= 0 || g.c % g.group != 0 || g.m % g.group != 0 || w[1] * g.group != g.c) {
    return invalid_argument(fmt::format("{}: channels do not match: X is {}, W is {}, group {}", who,
                                        shape_to_string(x), shape_to_string(w), g.group));
  }
  g.out_shape = {g.n, g.m};
  const size_t off = kMaxSpatial - spatial;  // right-align: 1-D uses the last slot
  for (size_t i = 0; i < spatial; ++i) {
    const size_t s = off + i;
    g.in[s] = x[2 + i];
    g.kernel[s] = w[2 + i];
    if (i < a.kernel_shape.size() && a.kernel_shape[i] != w[2 + i]) {
      return invalid_argument(fmt::format("{}: kernel_shape disagrees with W {}", who, shape_to_string(w)));
    }
    g.stride[s] = i < a.strides.size() ? a.strides[i] : 1;
    g.dilation[s] = i < a.dilations.size() ? a.dilations[i] : 1;
    const int64_t extent = (g.kernel[s] - 1) * g.dilation[s] + 1;
    int64_t begin = i < a.pads.size() ? a.pads[i] : 0, end = i + spatial < a.pads.size() ? a.pads[i + spatial] : 0;
    if (a.auto_pad == "VALID") {
      begin = end = 0;
    } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      const int64_t out = (g.in[s] + g.stride[s] - 1) / g.stride[s];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g.stride[s] + extent - g.in[s]);
      begin = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    }
    g.pad[s] = begin;
    g.out[s] = (g.in[s] + begin + end - extent) / g.stride[s] + 1;
    if (g.out[s] <= 0) return invalid_argument(fmt::format("{}: the kernel is larger than the padded input {}", who, shape_to_string(x)));
    g.out_shape.push_back(g.out[s]);
  }
  return g;
}

template <class T>
void widen_input(const T* x, int32_t zero, int64_t count, int32_t* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<int32_t>(x[i]) - zero;
}

// im2col of one image's group: rows (channel, kernel offset), columns output
// positions; padding is 0 (the zero point, already subtracted).
void im2col(const int32_t* x, const Geometry& g, int64_t channels, std::vector<int32_t>& col) {
  const int64_t outs = g.out_size(), ks = g.kernel_size();
  col.assign(static_cast<size_t>(channels * ks * outs), 0);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          int32_t* row = col.data() + ((c * g.kernel[0] + kd) * g.kernel[1] * g.kernel[2] + kh * g.kernel[2] + kw) * outs;
          for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                row[(od * g.out[1] + oh) * g.out[2] + ow] = x[(c * g.in[0] + id) * g.in[1] * g.in[2] + ih * g.in[2] + iw];
              }
            }
          }
        }
  }
}

// The int32 convolution of (x - x_zero) with (w - w_zero[m]): [N, M, out...].
Expected<std::vector<int32_t>> int_conv(const Geometry& g, const Tensor& x, int32_t x_zero, const Tensor& w,
                                        const std::vector<int32_t>& w_zero) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group, ks = g.kernel_size(), outs = g.out_size();
  const int64_t rows = cg * ks;
  std::vector<int32_t> xw(static_cast<size_t>(x.numel())), ww(static_cast<size_t>(w.numel()));
  if (x.dtype() == DataType::kUInt8) widen_input(x.data<uint8_t>(), x_zero, x.numel(), xw.data());
  else widen_input(x.data<int8_t>(), x_zero, x.numel(), xw.data());
  for (int64_t m = 0; m < g.m; ++m) {
    const int32_t z = w_zero.size() == 1 ? w_zero[0] : w_zero[static_cast<size_t>(m)];
    if (w.dtype() == DataType::kUInt8) widen_input(w.data<uint8_t>() + m * rows, z, rows, ww.data() + m * rows);
    else widen_input(w.data<int8_t>() + m * rows, z, rows, ww.data() + m * rows);
  }
  std::vector<int32_t> y(static_cast<size_t>(g.n * g.m * outs), 0);
  std::vector<int32_t> col;
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t grp = 0; grp < g.group; ++grp) {
      im2col(xw.data() + (n * g.c + grp * cg) * g.in_size(), g, cg, col);
#pragma omp parallel for schedule(static) if (mg * rows * outs >= (1 << 20))
      for (int64_t mm = 0; mm < mg; ++mm) {
        const int64_t m = grp * mg + mm;
        int32_t* out = y.data() + (n * g.m + m) * outs;
        const int32_t* wrow = ww.data() + m * rows;
        for (int64_t r = 0; r < rows; ++r) {
          const int32_t wv = wrow[r];
          const int32_t* crow = col.data() + r * outs;
          for (int64_t p = 0; p < outs; ++p) out[p] += wv * crow[p];
        }
      }
    }
  }
  return y;
}

ConvAttrs read_attrs(const KernelInfo& info) {
  ConvAttrs a;
  a.auto_pad = info.attr_string("auto_pad", "NOTSET");
  a.group = info.attr_int("group", 1);
  a.kernel_shape = info.attr_ints("kernel_shape");
  a.strides = info.attr_ints("strides");
  a.dilations = info.attr_ints("dilations");
  a.pads = info.attr_ints("pads");
  return a;
}

bool is_int8(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

Expected<int32_t> one_zero(const Tensor* t, DataType operand, const char* which, const std::string& who) {
  if (t == nullptr) return 0;
  if (t->dtype() != operand || t->numel() != 1) {
    return invalid_argument(fmt::format("{}: {} must be one {} value, got {} of shape {}", who, which,
                                        dtype_name(operand), dtype_name(t->dtype()), shape_to_string(t->shape())));
  }
  return operand == DataType::kUInt8 ? int32_t{t->data<uint8_t>()[0]} : int32_t{t->data<int8_t>()[0]};
}

Expected<std::vector<int32_t>> channel_zeros(const Tensor* t, DataType operand, int64_t m, const std::string& who) {
  if (t == nullptr) return std::vector<int32_t>{0};
  if (t->dtype() != operand || (t->numel() != 1 && t->numel() != m)) {
    return invalid_argument(fmt::format("{}: w zero point must be {} with 1 or {} values, got {} of shape {}", who,
                                        dtype_name(operand), m, dtype_name(t->dtype()), shape_to_string(t->shape())));
  }
  std::vector<int32_t> z(static_cast<size_t>(t->numel()));
  for (size_t i = 0; i < z.size(); ++i) z[i] = operand == DataType::kUInt8 ? t->data<uint8_t>()[i] : t->data<int8_t>()[i];
  return z;
}

Status check_operands(const Tensor& x, const Tensor& w, const std::string& who) {
  if (!is_int8(x.dtype()) || !is_int8(w.dtype())) {
    return unimplemented(fmt::format("{}: X and W must be uint8 or int8 (X is {}, W is {})", who,
                                     dtype_name(x.dtype()), dtype_name(w.dtype())));
  }
  return Status::ok();
}

}  // namespace

// Inputs: x, w, x_zero_point, w_zero_point.
Expected<std::unique_ptr<Kernel>> create_ConvInteger(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs inputs x and w");
  const ConvAttrs attrs = read_attrs(info);
  const std::string who = info.node().describe();
  return make_kernel([attrs, who](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor& w = *ctx.input(1);
    ECOINFER_RETURN_IF_ERROR(check_operands(x, w, who));
    ECOINFER_ASSIGN_OR_RETURN(Geometry g, geometry(attrs, x.shape(), w.shape(), who));
    ECOINFER_ASSIGN_OR_RETURN(int32_t xz, one_zero(ctx.input(2), x.dtype(), "x_zero_point", who));
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> wz, channel_zeros(ctx.input(3), w.dtype(), g.m, who));
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> acc, int_conv(g, x, xz, w, wz));
    Tensor* y = ctx.output(0, DataType::kInt32, g.out_shape);
    std::copy(acc.begin(), acc.end(), y->data<int32_t>());
    return Status::ok();
  });
}

// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B (optional int32 bias).
Expected<std::unique_ptr<Kernel>> create_QLinearConv(const KernelInfo& info) {
  if (info.input_count() < 8) return info.model_error("needs at least 8 inputs (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp)");
  const ConvAttrs attrs = read_attrs(info);
  const std::string who = info.node().describe();
  return make_kernel([attrs, who](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor& w = *ctx.input(3);
    ECOINFER_RETURN_IF_ERROR(check_operands(x, w, who));
    ECOINFER_ASSIGN_OR_RETURN(Geometry g, geometry(attrs, x.shape(), w.shape(), who));
    ECOINFER_ASSIGN_OR_RETURN(int32_t xz, one_zero(ctx.input(2), x.dtype(), "x_zero_point", who));
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> wz, channel_zeros(ctx.input(5), w.dtype(), g.m, who));
    const Tensor* yz = ctx.input(7);
    if (yz == nullptr || !is_int8(yz->dtype())) return invalid_argument(who + ": y_zero_point must be uint8 or int8");
    ECOINFER_ASSIGN_OR_RETURN(int32_t y_zero, one_zero(yz, yz->dtype(), "y_zero_point", who));
    const Tensor* xs = ctx.input(1);
    const Tensor* ws = ctx.input(4);
    const Tensor* ys = ctx.input(6);
    for (const Tensor* s : {xs, ys}) {
      if (s == nullptr || s->dtype() != DataType::kFloat32 || s->numel() != 1) {
        return invalid_argument(who + ": x_scale and y_scale must be one float32 value each");
      }
    }
    if (ws == nullptr || ws->dtype() != DataType::kFloat32 || (ws->numel() != 1 && ws->numel() != g.m)) {
      return invalid_argument(fmt::format("{}: w_scale must be float32 with 1 or {} values", who, g.m));
    }
    const Tensor* bias = ctx.input(8);
    if (bias != nullptr && (bias->dtype() != DataType::kInt32 || bias->numel() != g.m)) {
      return invalid_argument(fmt::format("{}: B must be int32 with {} values", who, g.m));
    }
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> acc, int_conv(g, x, xz, w, wz));
    Tensor* y = ctx.output(0, yz->dtype(), g.out_shape);
    const int64_t outs = g.out_size();
    for (int64_t nm = 0; nm < g.n * g.m; ++nm) {
      const int64_t m = nm % g.m;
      const float mult = xs->data<float>()[0] * ws->data<float>()[ws->numel() == 1 ? 0 : m] / ys->data<float>()[0];
      const int32_t b = bias ? bias->data<int32_t>()[m] : 0;
      for (int64_t p = nm * outs; p < (nm + 1) * outs; ++p) {
        const float v = std::nearbyint(static_cast<float>(acc[static_cast<size_t>(p)] + b) * mult) + static_cast<float>(y_zero);
        if (yz->dtype() == DataType::kUInt8) y->data<uint8_t>()[p] = saturate_round<uint8_t>(v);
        else y->data<int8_t>()[p] = saturate_round<int8_t>(v);
      }
    }
    return Status::ok();
  });
}

}  // namespace ecoinfer::kernels
