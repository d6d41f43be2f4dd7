// Shape ops: the ones that only relabel a buffer (Reshape, Flatten, Squeeze,
// Unsqueeze, Identity, Dropout at inference) alias their input instead of
// copying; the rest (Shape, Size, Expand, ConstantOfShape, Range) compute
// small or data-dependent outputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/kernel.h"
#include "kernels/ref/int_input.h"

namespace ecoinfer::kernels {
namespace {

// Refuses outputs so large that allocating them would fail (or that signal a
// corrupt shape tensor): 2^40 elements is far beyond any real model.
constexpr int64_t kMaxElements = int64_t{1} << 40;

// Checked element count: an error instead of an overflow for absurd shapes.
Status check_shape(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument(fmt::format("negative dimension in shape {}", shape_to_string(shape)));
    if (d != 0 && n > kMaxElements / d) return invalid_argument(fmt::format("shape {} is too large", shape_to_string(shape)));
    n *= d;
  }
  return Status::ok();
}

// Maps a possibly negative axis into [0, rank); false when out of range.
bool normalize_axis(int64_t& axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  return true;
}

// ---- Reshape ----

Expected<Shape> reshape_target(const Shape& in, const std::vector<int64_t>& requested, bool allow_zero) {
  Shape out(requested.size());
  int64_t infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < requested.size(); ++i) {
    int64_t d = requested[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.size())
        return invalid_argument(fmt::format("shape[{}] is 0 (copy the input dim) but the input has rank {}", i, in.size()));
      d = in[i];
    } else if (d == -1) {
      if (infer_at >= 0) return invalid_argument("more than one -1 in the requested shape");
      infer_at = static_cast<int64_t>(i);
      continue;
    } else if (d < -1) {
      return invalid_argument(fmt::format("shape[{}] is {}, below -1", i, d));
    }
    out[i] = d;
    if (d != 0 && known > kMaxElements / d) return invalid_argument("requested shape is too large");
    known *= d;
  }
  const int64_t numel = shape_numel(in);
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0)
      return invalid_argument(fmt::format("cannot infer the -1 dim: {} elements do not divide into the known dims (product {})",
                                          numel, known));
    out[static_cast<size_t>(infer_at)] = numel / known;
  } else if (known != numel) {
    return invalid_argument(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", shape_to_string(in), numel,
                                        shape_to_string(out), known));
  }
  return out;
}

// ---- Squeeze / Unsqueeze axes: attribute before opset 13, input from 13 ----

Expected<std::vector<int64_t>> axes_of(KernelContext& ctx, const std::vector<int64_t>& attr_axes, bool from_input) {
  if (!from_input) return attr_axes;
  if (ctx.input(1) == nullptr) return std::vector<int64_t>{};
  return read_ints(ctx.input(1), "axes");
}

// ---- Expand: numpy broadcasting of the input to the requested shape ----

Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return invalid_argument(fmt::format("cannot broadcast {} with {}", shape_to_string(a), shape_to_string(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Copies `in` broadcast to `out_shape`: one output row (last dim) at a time;
// the row's source offset comes from its multi-index, so rows are
// independent and split across threads.
template <class T>
void broadcast_copy(const T* in, const Shape& in_shape, T* out, const Shape& out_shape) {
  const size_t rank = out_shape.size();
  std::vector<int64_t> in_strides(rank, 0);
  int64_t s = 1;
  for (size_t k = 0; k < in_shape.size(); ++k) {
    const size_t i = in_shape.size() - 1 - k;
    const size_t o = rank - 1 - k;
    in_strides[o] = in_shape[i] == 1 ? 0 : s;
    s *= in_shape[i];
  }
  const int64_t cols = rank == 0 ? 1 : out_shape[rank - 1];
  const int64_t col_stride = rank == 0 ? 0 : in_strides[rank - 1];
  const int64_t numel = shape_numel(out_shape);
  const int64_t rows = cols == 0 ? 0 : numel / cols;
#pragma omp parallel for if (numel > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, src = 0;
    for (size_t d = rank == 0 ? 0 : rank - 1; d-- > 0;) {
      src += (rem % out_shape[d]) * in_strides[d];
      rem /= out_shape[d];
    }
    T* dst = out + r * cols;
    if (col_stride == 0) {
      std::fill_n(dst, cols, in[src]);
    } else {
      std::copy_n(in + src, cols, dst);
    }
  }
}

// ---- Range ----

template <class T>
Status range_fill(const Tensor& start_t, const Tensor& limit_t, const Tensor& delta_t, KernelContext& ctx) {
  const T start = start_t.data<T>()[0], limit = limit_t.data<T>()[0], delta = delta_t.data<T>()[0];
  if (delta == T{0}) return invalid_argument("Range delta is 0");
  double count_f;
  if constexpr (std::is_floating_point_v<T>) {
    count_f = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
  } else {
    // Exact integer ceil division, in 128 bits so int64 extremes do not overflow.
    const __int128 span = static_cast<__int128>(limit) - start;
    const __int128 d = delta;
    __int128 q = span / d;
    if (span % d != 0 && ((span > 0) == (d > 0))) ++q;
    count_f = static_cast<double>(q);
  }
  if (!(count_f <= static_cast<double>(kMaxElements)))
    return invalid_argument(fmt::format("Range would produce too many elements ({})", count_f));
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count_f));
  T* out = ctx.output(0, kDataTypeOf<T>, {n})->template data<T>();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  return Status::ok();
}

// Writes the bytes of `value` (one element) into every element of `out`.
Status fill_with(Tensor& out, const Tensor& value) {
  return dispatch_by_size(out.dtype(), [&](auto tag) -> Status {
    using U = decltype(tag);
    U v;
    std::memcpy(&v, value.raw_data(), sizeof(U));
    std::fill_n(static_cast<U*>(out.raw_data()), out.numel(), v);
    return Status::ok();
  });
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Reshape(const KernelInfo& info) {
  const bool allow_zero = info.attr_int("allowzero", 0) != 0;
  if (!info.has_input(1)) return info.model_error("the 'shape' input is required");
  return make_kernel([allow_zero](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_ints(ctx.input(1), "shape"));
    ECOINFER_ASSIGN_OR_RETURN(Shape out, reshape_target(x.shape(), shape, allow_zero));
    ctx.alias_output(0, x.reshaped(std::move(out)));
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Flatten(const KernelInfo& info) {
  const int64_t axis_attr = info.attr_int("axis", 1);
  return make_kernel([axis_attr](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
    if (axis < 0 || axis > rank)
      return invalid_argument(fmt::format("Flatten axis {} is out of range for rank {}", axis_attr, rank));
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(static_cast<size_t>(i));
    int64_t inner = 1;
    for (int64_t i = axis; i < rank; ++i) inner *= x.dim(static_cast<size_t>(i));
    ctx.alias_output(0, x.reshaped({outer, inner}));
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Squeeze(const KernelInfo& info) {
  const bool from_input = info.opset() >= 13;
  const std::vector<int64_t> attr_axes = info.attr_ints("axes");
  return make_kernel([from_input, attr_axes](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> axes, axes_of(ctx, attr_axes, from_input));
    std::vector<bool> drop(x.rank(), false);
    if (axes.empty()) {
      for (size_t i = 0; i < x.rank(); ++i) drop[i] = x.dim(i) == 1;
    }
    for (int64_t a : axes) {
      int64_t axis = a;
      if (!normalize_axis(axis, rank))
        return invalid_argument(fmt::format("Squeeze axis {} is out of range for rank {}", a, rank));
      if (x.dim(static_cast<size_t>(axis)) != 1)
        return invalid_argument(fmt::format("Squeeze axis {} has size {}, not 1 (input shape {})", a,
                                            x.dim(static_cast<size_t>(axis)), shape_to_string(x.shape())));
      drop[static_cast<size_t>(axis)] = true;
    }
    Shape out;
    for (size_t i = 0; i < x.rank(); ++i)
      if (!drop[i]) out.push_back(x.dim(i));
    ctx.alias_output(0, x.reshaped(std::move(out)));
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Unsqueeze(const KernelInfo& info) {
  const bool from_input = info.opset() >= 13;
  if (!from_input && !info.has_attr("axes")) return info.model_error("the 'axes' attribute is required");
  if (from_input && !info.has_input(1)) return info.model_error("the 'axes' input is required from opset 13");
  const std::vector<int64_t> attr_axes = info.attr_ints("axes");
  return make_kernel([from_input, attr_axes](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> axes, axes_of(ctx, attr_axes, from_input));
    const int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
    std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
    for (int64_t a : axes) {
      int64_t axis = a;
      if (!normalize_axis(axis, out_rank))
        return invalid_argument(fmt::format("Unsqueeze axis {} is out of range for output rank {}", a, out_rank));
      if (inserted[static_cast<size_t>(axis)]) return invalid_argument(fmt::format("Unsqueeze axis {} is repeated", a));
      inserted[static_cast<size_t>(axis)] = true;
    }
    Shape out(static_cast<size_t>(out_rank));
    size_t next = 0;
    for (size_t i = 0; i < out.size(); ++i) out[i] = inserted[i] ? 1 : x.dim(next++);
    ctx.alias_output(0, x.reshaped(std::move(out)));
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Shape(const KernelInfo& info) {
  const int64_t start_attr = info.opset() >= 15 ? info.attr_int("start", 0) : 0;
  const bool has_end = info.opset() >= 15 && info.has_attr("end");
  const int64_t end_attr = has_end ? info.attr_int("end", 0) : 0;
  return make_kernel([start_attr, has_end, end_attr](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    const int64_t start = clamp(start_attr);
    const int64_t end = has_end ? clamp(end_attr) : rank;
    const int64_t n = std::max<int64_t>(0, end - start);
    int64_t* out = ctx.output(0, DataType::kInt64, {n})->data<int64_t>();
    for (int64_t i = 0; i < n; ++i) out[i] = x.dim(static_cast<size_t>(start + i));
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Size(const KernelInfo&) {
  return make_kernel([](KernelContext& ctx) -> Status {
    ctx.output(0, DataType::kInt64, {})->data<int64_t>()[0] = ctx.input(0)->numel();
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Identity(const KernelInfo&) {
  return make_kernel([](KernelContext& ctx) -> Status {
    ctx.alias_output(0, *ctx.input(0));
    return Status::ok();
  });
}

// Inference only: output = input and the mask is all true (all ones of the
// input type before opset 10). Training mode with a positive ratio drops
// randomly, which an inference engine does not do.
Expected<std::unique_ptr<Kernel>> create_Dropout(const KernelInfo& info) {
  const int opset = info.opset();
  return make_kernel([opset](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (opset >= 12 && ctx.input(2) != nullptr) {
      const Tensor& mode = *ctx.input(2);
      if (mode.dtype() != DataType::kBool || mode.numel() != 1)
        return invalid_argument("Dropout training_mode must be a bool scalar");
      float ratio = 0.5f;
      if (const Tensor* r = ctx.input(1); r != nullptr && r->numel() == 1) {
        if (r->dtype() == DataType::kFloat32) ratio = r->data<float>()[0];
        else if (r->dtype() == DataType::kFloat64) ratio = static_cast<float>(r->data<double>()[0]);
        else if (r->dtype() == DataType::kFloat16) ratio = half_to_float(r->data<Float16>()[0]);
      }
      if (mode.data<bool>()[0] && ratio != 0.0f)
        return unimplemented("Dropout in training mode with a nonzero ratio (random) is not supported");
    }
    ctx.alias_output(0, x);
    if (ctx.output_count() < 2) return Status::ok();
    if (opset >= 10) {
      Tensor* mask = ctx.output(1, DataType::kBool, x.shape());
      std::fill_n(mask->data<bool>(), mask->numel(), true);
      return Status::ok();
    }
    Tensor* mask = ctx.output(1, x.dtype(), x.shape());
    return dispatch_type(x.dtype(), kAllTypes, [&](auto tag) -> Status {
      using T = decltype(tag);
      T one;
      if constexpr (std::is_same_v<T, Float16>) one = float_to_half(1.0f);
      else if constexpr (std::is_same_v<T, BFloat16>) one = float_to_bfloat16(1.0f);
      else one = static_cast<T>(1);
      std::fill_n(mask->data<T>(), mask->numel(), one);
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_Expand(const KernelInfo& info) {
  if (!info.has_input(1)) return info.model_error("the 'shape' input is required");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_ints(ctx.input(1), "shape"));
    ECOINFER_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes(x.shape(), shape));
    ECOINFER_RETURN_IF_ERROR(check_shape(out_shape));
    Tensor* out = ctx.output(0, x.dtype(), out_shape);
    return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
      using U = decltype(tag);
      broadcast_copy(static_cast<const U*>(x.raw_data()), x.shape(), static_cast<U*>(out->raw_data()), out_shape);
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_ConstantOfShape(const KernelInfo& info) {
  Tensor value = Tensor::scalar<float>(0.0f);
  if (const Tensor* v = info.attr_tensor("value")) {
    if (v->numel() != 1) return info.model_error("the 'value' attribute must hold exactly one element");
    if (!dtype_is_supported(v->dtype()) || dtype_size(v->dtype()) == 0)
      return info.unsupported(fmt::format("value of type {} is not supported", dtype_name(v->dtype())));
    value = *v;
  }
  return make_kernel([value](KernelContext& ctx) -> Status {
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_ints(ctx.input(0), "input"));
    ECOINFER_RETURN_IF_ERROR(check_shape(shape));
    Tensor* out = ctx.output(0, value.dtype(), std::move(shape));
    return fill_with(*out, value);
  });
}

Expected<std::unique_ptr<Kernel>> create_Range(const KernelInfo& info) {
  if (info.input_count() < 3) return info.model_error("Range needs start, limit and delta inputs");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor* start = ctx.input(0);
    const Tensor* limit = ctx.input(1);
    const Tensor* delta = ctx.input(2);
    if (start == nullptr || limit == nullptr || delta == nullptr) return invalid_argument("Range inputs are missing");
    if (start->numel() != 1 || limit->numel() != 1 || delta->numel() != 1)
      return invalid_argument("Range start, limit and delta must be scalars");
    if (limit->dtype() != start->dtype() || delta->dtype() != start->dtype())
      return invalid_argument("Range start, limit and delta must have the same type");
    switch (start->dtype()) {
      case DataType::kFloat32: return range_fill<float>(*start, *limit, *delta, ctx);
      case DataType::kFloat64: return range_fill<double>(*start, *limit, *delta, ctx);
      case DataType::kInt16: return range_fill<int16_t>(*start, *limit, *delta, ctx);
      case DataType::kInt32: return range_fill<int32_t>(*start, *limit, *delta, ctx);
      case DataType::kInt64: return range_fill<int64_t>(*start, *limit, *delta, ctx);
      default: return unimplemented(fmt::format("Range of type {} is not supported", dtype_name(start->dtype())));
    }
  });
}

}  // namespace ecoinfer::kernels
