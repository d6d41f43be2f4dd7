// Data movement: ops that copy elements without looking at them. They
// dispatch on the element size only, so every type (bool, float16...) works.
//
// Transpose, Slice and Tile are all "read the source through strides": each
// builds a StridedView (output dims, source stride per output dim) and one
// copy loop serves them. Transpose adds a cache-blocked path for when the
// output's last dim walks the source with a large stride (NCHW<->NHWC, the
// last-two-dims swap of attention).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "common/half.h"
#include "kernels/dispatch.h"
#include "kernels/kernel.h"
#include "kernels/ref/int_input.h"

namespace ecoinfer::kernels {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 40;  // refuse absurd output shapes
constexpr int64_t kParallelElements = 1 << 15;       // below this, threads cost more than they save
constexpr int64_t kTile = 32;                        // 32x32 tile of 8-byte elements = 8 KiB, fits L1

bool normalize_axis(int64_t& axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  return true;
}

std::vector<int64_t> row_major_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

Status check_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument(fmt::format("negative dimension in output shape {}", shape_to_string(shape)));
    if (d != 0 && n > kMaxElements / d) return invalid_argument(fmt::format("output shape {} is too large", shape_to_string(shape)));
    n *= d;
  }
  return Status::ok();
}

// ---- Strided copy ----

// How to read the output from the source: output dims, the source stride of
// each (in elements; 0 repeats, negative walks backwards), and the source
// offset of output element 0.
struct StridedView {
  Shape dims;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};

// Drops size-1 dims and merges neighbours that walk the source contiguously,
// so the inner loop is as long as possible (a full-width slice is one copy).
StridedView simplify(const StridedView& v) {
  StridedView s;
  s.offset = v.offset;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (v.dims[i] == 1) continue;
    if (!s.dims.empty() && s.strides.back() == v.strides[i] * v.dims[i]) {
      s.dims.back() *= v.dims[i];
      s.strides.back() = v.strides[i];
    } else {
      s.dims.push_back(v.dims[i]);
      s.strides.push_back(v.strides[i]);
    }
  }
  return s;
}

// Copies the view into dst, row by row (a row is the last dim). Each thread
// takes a contiguous range of rows and walks its multi-index incrementally.
template <class T>
void strided_copy(const T* src, const StridedView& view, T* dst) {
  const StridedView v = simplify(view);
  const size_t rank = v.dims.size();
  if (rank == 0) {
    dst[0] = src[v.offset];
    return;
  }
  const int64_t numel = shape_numel(v.dims);
  if (numel == 0) return;
  const int64_t cols = v.dims[rank - 1];
  const int64_t col_stride = v.strides[rank - 1];
  const int64_t rows = numel / cols;
#pragma omp parallel if (numel > kParallelElements)
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
    std::vector<int64_t> idx(rank, 0);
    int64_t off = v.offset;
    for (size_t d = rank - 1, rem = static_cast<size_t>(r0); d-- > 0;) {
      idx[d] = static_cast<int64_t>(rem) % v.dims[d];
      rem /= static_cast<size_t>(v.dims[d]);
      off += idx[d] * v.strides[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      T* out = dst + r * cols;
      const T* in = src + off;
      if (col_stride == 1) {
        std::copy_n(in, cols, out);
      } else if (col_stride == 0) {
        std::fill_n(out, cols, *in);
      } else {
        for (int64_t c = 0; c < cols; ++c) out[c] = in[c * col_stride];
      }
      for (size_t d = rank - 1; d-- > 0;) {  // next row: carry through the outer dims
        off += v.strides[d];
        if (++idx[d] < v.dims[d]) break;
        off -= v.strides[d] * v.dims[d];
        idx[d] = 0;
      }
    }
  }
}

Status copy_view(const Tensor& x, const StridedView& view, Tensor& out) {
  return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
    using U = decltype(tag);
    strided_copy(static_cast<const U*>(x.raw_data()), view, static_cast<U*>(out.raw_data()));
    return Status::ok();
  });
}

// ---- Transpose ----

// Blocked transpose for a simplified view whose last dim has a large source
// stride and whose dim k has source stride 1: tiles of kTile x kTile over
// (k, last) so both the reads and the writes stay within a few cache lines.
template <class T>
void blocked_transpose(const T* src, const StridedView& v, size_t k, T* dst) {
  const size_t rank = v.dims.size();
  const size_t last = rank - 1;
  const std::vector<int64_t> out_strides = row_major_strides(v.dims);
  const int64_t m = v.dims[k], n = v.dims[last], src_n = v.strides[last], dst_m = out_strides[k];
  std::vector<size_t> outer;  // every dim but k and last
  for (size_t d = 0; d < last; ++d)
    if (d != k) outer.push_back(d);
  int64_t outer_count = 1;
  for (size_t d : outer) outer_count *= v.dims[d];
  const int64_t strips = (m + kTile - 1) / kTile;
  const int64_t work = outer_count * strips;
#pragma omp parallel for if (outer_count * m * n > kParallelElements)
  for (int64_t w = 0; w < work; ++w) {
    int64_t rem = w / strips;
    int64_t src_base = v.offset, dst_base = 0;
    for (size_t j = outer.size(); j-- > 0;) {
      const size_t d = outer[j];
      const int64_t i = rem % v.dims[d];
      rem /= v.dims[d];
      src_base += i * v.strides[d];
      dst_base += i * out_strides[d];
    }
    const int64_t i0 = (w % strips) * kTile, i1 = std::min(m, i0 + kTile);
    for (int64_t j0 = 0; j0 < n; j0 += kTile) {
      const int64_t j1 = std::min(n, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i) {
        T* out = dst + dst_base + i * dst_m;
        const T* in = src + src_base + i;
        for (int64_t j = j0; j < j1; ++j) out[j] = in[j * src_n];
      }
    }
  }
}

Status transpose(const Tensor& x, const std::vector<int64_t>& perm, KernelContext& ctx) {
  const std::vector<int64_t> in_strides = row_major_strides(x.shape());
  StridedView view;
  for (int64_t p : perm) {
    view.dims.push_back(x.dim(static_cast<size_t>(p)));
    view.strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  const StridedView s = simplify(view);
  // Nothing moves (only size-1 dims change places): relabel the buffer.
  if (s.dims.empty() || (s.dims.size() == 1 && s.strides[0] == 1)) {
    ctx.alias_output(0, x.reshaped(view.dims));
    return Status::ok();
  }
  Tensor* out = ctx.output(0, x.dtype(), view.dims);
  if (out->numel() == 0) return Status::ok();
  const size_t last = s.dims.size() - 1;
  const auto unit = std::find(s.strides.begin(), s.strides.end(), 1);
  if (s.strides[last] != 1 && unit != s.strides.end()) {
    const size_t k = static_cast<size_t>(unit - s.strides.begin());
    return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
      using U = decltype(tag);
      blocked_transpose(static_cast<const U*>(x.raw_data()), s, k, static_cast<U*>(out->raw_data()));
      return Status::ok();
    });
  }
  return copy_view(x, s, *out);
}

// ---- Slice ----

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

Status slice(const Tensor& x, SliceArgs a, KernelContext& ctx) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  const size_t n = a.starts.size();
  if (a.ends.size() != n) return invalid_argument("Slice starts and ends have different lengths");
  if (a.axes.empty()) {
    a.axes.resize(n);
    std::iota(a.axes.begin(), a.axes.end(), 0);
  }
  if (a.steps.empty()) a.steps.assign(n, 1);
  if (a.axes.size() != n || a.steps.size() != n) return invalid_argument("Slice axes/steps length differs from starts");
  std::vector<int64_t> start(x.rank(), 0), step(x.rank(), 1);
  Shape out_shape = x.shape();
  std::vector<bool> seen(x.rank(), false);
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = a.axes[i];
    if (!normalize_axis(axis, rank))
      return invalid_argument(fmt::format("Slice axis {} is out of range for rank {}", a.axes[i], rank));
    const size_t ax = static_cast<size_t>(axis);
    if (seen[ax]) return invalid_argument(fmt::format("Slice axis {} is repeated", a.axes[i]));
    seen[ax] = true;
    const int64_t dim = x.dim(ax), st = a.steps[i];
    if (st == 0) return invalid_argument(fmt::format("Slice step for axis {} is 0", a.axes[i]));
    int64_t b = a.starts[i], e = a.ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    int64_t len = 0;
    if (dim == 0) {
      b = 0;
    } else if (st > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > b ? (e - b - 1) / st + 1 : 0;  // ceil without overflowing for huge steps
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      const uint64_t ust = uint64_t{0} - static_cast<uint64_t>(st);  // |st|, also for INT64_MIN
      len = b > e ? static_cast<int64_t>(static_cast<uint64_t>(b - e - 1) / ust) + 1 : 0;
    }
    start[ax] = b;
    step[ax] = len > 1 ? st : 1;  // a huge step over one element must not overflow the stride
    out_shape[ax] = len;
  }
  Tensor* out = ctx.output(0, x.dtype(), out_shape);
  if (out->numel() == 0) return Status::ok();
  const std::vector<int64_t> in_strides = row_major_strides(x.shape());
  StridedView view;
  view.dims = out_shape;
  for (size_t d = 0; d < x.rank(); ++d) {
    view.strides.push_back(in_strides[d] * step[d]);
    view.offset += start[d] * in_strides[d];
  }
  return copy_view(x, view, *out);
}

// ---- Pad ----

enum class PadMode { kConstant, kReflect, kEdge };

// Source index for output index `o` along a dim of size n with `before`
// padding; -1 means "the constant" (constant mode only).
inline int64_t pad_source(int64_t o, int64_t before, int64_t n, PadMode mode) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == PadMode::kConstant) return -1;
  if (mode == PadMode::kEdge || n == 1) return std::clamp<int64_t>(i, 0, n - 1);
  const int64_t period = 2 * (n - 1);  // reflect without repeating the edge
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

template <class T>
void pad_rows(const T* src, const Shape& in_shape, const Shape& out_shape, const std::vector<int64_t>& before,
              PadMode mode, T value, T* dst) {
  const size_t rank = in_shape.size();
  const int64_t cols = out_shape[rank - 1], in_cols = in_shape[rank - 1], pb = before[rank - 1];
  const int64_t rows = shape_numel(out_shape) / cols;
  const std::vector<int64_t> in_strides = row_major_strides(in_shape);
  // The middle of each row, where output j reads source j - pb directly.
  const int64_t lo = std::clamp<int64_t>(pb, 0, cols), hi = std::clamp<int64_t>(pb + in_cols, lo, cols);
#pragma omp parallel for if (rows * cols > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    T* out = dst + r * cols;
    int64_t rem = r, off = 0;
    bool constant_row = false;
    for (size_t d = rank - 1; d-- > 0;) {
      const int64_t i = pad_source(rem % out_shape[d], before[d], in_shape[d], mode);
      rem /= out_shape[d];
      if (i < 0) constant_row = true;
      off += i * in_strides[d];
    }
    if (constant_row || in_cols == 0) {
      std::fill_n(out, cols, value);
      continue;
    }
    const T* in = src + off;
    for (int64_t j = 0; j < lo; ++j) {
      const int64_t i = pad_source(j, pb, in_cols, mode);
      out[j] = i < 0 ? value : in[i];
    }
    std::copy_n(in + (lo - pb), hi - lo, out + lo);
    for (int64_t j = hi; j < cols; ++j) {
      const int64_t i = pad_source(j, pb, in_cols, mode);
      out[j] = i < 0 ? value : in[i];
    }
  }
}

Status pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, const std::vector<uint8_t>& value,
           KernelContext& ctx) {
  const size_t rank = x.rank();
  if (pads.size() != 2 * rank)
    return invalid_argument(fmt::format("Pad needs 2 * rank = {} pads, got {}", 2 * rank, pads.size()));
  Shape out_shape(rank);
  std::vector<int64_t> before(rank);
  for (size_t d = 0; d < rank; ++d) {
    before[d] = pads[d];
    out_shape[d] = x.dim(d) + pads[d] + pads[d + rank];
    if (out_shape[d] < 0)
      return invalid_argument(fmt::format("Pad: pads {} and {} remove more than dim {} of size {}", pads[d], pads[d + rank], d, x.dim(d)));
    if (mode != PadMode::kConstant && x.dim(d) == 0 && out_shape[d] > 0)
      return invalid_argument(fmt::format("Pad: cannot edge/reflect-pad dim {} of size 0", d));
  }
  ECOINFER_RETURN_IF_ERROR(check_numel(out_shape));
  Tensor* out = ctx.output(0, x.dtype(), out_shape);
  if (out->numel() == 0) return Status::ok();
  return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
    using U = decltype(tag);
    U v{};
    std::memcpy(&v, value.data(), sizeof(U));
    if (rank == 0) {
      static_cast<U*>(out->raw_data())[0] = static_cast<const U*>(x.raw_data())[0];
      return Status::ok();
    }
    pad_rows(static_cast<const U*>(x.raw_data()), x.shape(), out_shape, before, mode, v, static_cast<U*>(out->raw_data()));
    return Status::ok();
  });
}

// The pad value as the bytes of one element of `t`, from a float attribute.
Expected<std::vector<uint8_t>> value_bytes(DataType t, float f) {
  std::vector<uint8_t> bytes(8, 0);
  ECOINFER_RETURN_IF_ERROR(dispatch_type(t, kAllTypes, [&](auto tag) -> Status {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_same_v<T, Float16>) v = float_to_half(f);
    else if constexpr (std::is_same_v<T, BFloat16>) v = float_to_bfloat16(f);
    else v = static_cast<T>(f);
    std::memcpy(bytes.data(), &v, sizeof(T));
    return Status::ok();
  }));
  return bytes;
}

Expected<PadMode> parse_pad_mode(const std::string& mode) {
  if (mode == "constant") return PadMode::kConstant;
  if (mode == "reflect") return PadMode::kReflect;
  if (mode == "edge") return PadMode::kEdge;
  return unimplemented(fmt::format("Pad mode '{}' is not supported (constant, reflect, edge are)", mode));
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_Transpose(const KernelInfo& info) {
  const bool has_perm = info.has_attr("perm");
  const std::vector<int64_t> perm_attr = info.attr_ints("perm");
  return make_kernel([has_perm, perm_attr](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const size_t rank = x.rank();
    std::vector<int64_t> perm = perm_attr;
    if (!has_perm) {
      perm.resize(rank);
      for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    }
    if (perm.size() != rank)
      return invalid_argument(fmt::format("Transpose perm has {} entries for an input of rank {}", perm.size(), rank));
    std::vector<bool> used(rank, false);
    for (int64_t& p : perm) {
      const int64_t given = p;
      if (!normalize_axis(p, static_cast<int64_t>(rank)) || used[static_cast<size_t>(p)])
        return invalid_argument(fmt::format("Transpose perm entry {} is out of range or repeated", given));
      used[static_cast<size_t>(p)] = true;
    }
    return transpose(x, perm, ctx);
  });
}

Expected<std::unique_ptr<Kernel>> create_Concat(const KernelInfo& info) {
  if (!info.has_attr("axis")) return info.model_error("the 'axis' attribute is required");
  const int64_t axis_attr = info.attr_int("axis", 1);
  return make_kernel([axis_attr](KernelContext& ctx) -> Status {
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < ctx.input_count(); ++i)
      if (ctx.input(i) != nullptr) ins.push_back(ctx.input(i));
    if (ins.empty()) return invalid_argument("Concat has no inputs");
    const Tensor& first = *ins[0];
    const int64_t rank = static_cast<int64_t>(first.rank());
    int64_t axis = axis_attr;
    if (!normalize_axis(axis, rank))
      return invalid_argument(fmt::format("Concat axis {} is out of range for rank {}", axis_attr, rank));
    const size_t ax = static_cast<size_t>(axis);
    Shape out_shape = first.shape();
    out_shape[ax] = 0;
    for (const Tensor* t : ins) {
      bool same = t->rank() == first.rank() && t->dtype() == first.dtype();
      for (size_t d = 0; same && d < first.rank(); ++d) same = d == ax || t->dim(d) == first.dim(d);
      if (!same)
        return invalid_argument(fmt::format("Concat inputs {} ({}) and {} ({}) differ outside axis {}", shape_to_string(first.shape()),
                                            dtype_name(first.dtype()), shape_to_string(t->shape()), dtype_name(t->dtype()), axis));
      out_shape[ax] += t->dim(ax);
    }
    Tensor* out = ctx.output(0, first.dtype(), out_shape);
    const size_t es = dtype_size(first.dtype());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= out_shape[d];
    for (size_t d = ax + 1; d < out_shape.size(); ++d) inner *= out_shape[d];
    const size_t out_row = static_cast<size_t>(out_shape[ax] * inner) * es;
    auto* dst = static_cast<std::byte*>(out->raw_data());
#pragma omp parallel for if (out->numel() > kParallelElements && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      size_t at = static_cast<size_t>(o) * out_row;
      for (const Tensor* t : ins) {
        const size_t chunk = static_cast<size_t>(t->dim(ax) * inner) * es;
        if (chunk) std::memcpy(dst + at, static_cast<const std::byte*>(t->raw_data()) + static_cast<size_t>(o) * chunk, chunk);
        at += chunk;
      }
    }
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Split(const KernelInfo& info) {
  const int64_t axis_attr = info.attr_int("axis", 0);
  const bool split_from_input = info.opset() >= 13;
  const std::vector<int64_t> split_attr = info.attr_ints("split");
  const int opset = info.opset();
  return make_kernel([=](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = axis_attr;
    if (!normalize_axis(axis, rank))
      return invalid_argument(fmt::format("Split axis {} is out of range for rank {}", axis_attr, rank));
    const size_t ax = static_cast<size_t>(axis);
    const int64_t dim = x.dim(ax);
    const int64_t n_out = static_cast<int64_t>(ctx.output_count());
    std::vector<int64_t> split = split_attr;
    if (split_from_input) {
      split.clear();
      if (ctx.input(1) != nullptr) { ECOINFER_ASSIGN_OR_RETURN(split, read_ints(ctx.input(1), "split")); }
    }
    if (split.empty()) {
      // Equal parts; from opset 18 the last part may be smaller.
      const int64_t part = opset >= 18 ? (dim + n_out - 1) / n_out : dim / n_out;
      if (opset < 18 && dim % n_out != 0)
        return invalid_argument(fmt::format("Split: dim {} of size {} does not divide into {} equal parts", axis, dim, n_out));
      for (int64_t i = 0; i < n_out; ++i) split.push_back(std::clamp<int64_t>(dim - i * part, 0, part));
    }
    if (static_cast<int64_t>(split.size()) != n_out)
      return invalid_argument(fmt::format("Split has {} sizes for {} outputs", split.size(), n_out));
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) return invalid_argument(fmt::format("Split size {} is negative", s));
      total += s;
    }
    if (total != dim) return invalid_argument(fmt::format("Split sizes sum to {}, but dim {} has size {}", total, axis, dim));
    const size_t es = dtype_size(x.dtype());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.dim(d);
    for (size_t d = ax + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const size_t in_row = static_cast<size_t>(dim * inner) * es;
    const auto* src = static_cast<const std::byte*>(x.raw_data());
    size_t at = 0;
    for (int64_t i = 0; i < n_out; ++i) {
      Shape shape = x.shape();
      shape[ax] = split[static_cast<size_t>(i)];
      Tensor* out = ctx.output(static_cast<size_t>(i), x.dtype(), shape);
      const size_t chunk = static_cast<size_t>(shape[ax] * inner) * es;
      auto* dst = static_cast<std::byte*>(out->raw_data());
      if (chunk != 0) {
#pragma omp parallel for if (out->numel() > kParallelElements && outer > 1)
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(dst + static_cast<size_t>(o) * chunk, src + static_cast<size_t>(o) * in_row + at, chunk);
      }
      at += chunk;
    }
    return Status::ok();
  });
}

Expected<std::unique_ptr<Kernel>> create_Slice(const KernelInfo& info) {
  if (info.opset() < 10) {
    if (!info.has_attr("starts") || !info.has_attr("ends")) return info.model_error("the 'starts' and 'ends' attributes are required");
    SliceArgs args{info.attr_ints("starts"), info.attr_ints("ends"), info.attr_ints("axes"), {}};
    return make_kernel([args](KernelContext& ctx) -> Status { return slice(*ctx.input(0), args, ctx); });
  }
  if (!info.has_input(1) || !info.has_input(2)) return info.model_error("the 'starts' and 'ends' inputs are required");
  return make_kernel([](KernelContext& ctx) -> Status {
    SliceArgs args;
    ECOINFER_ASSIGN_OR_RETURN(args.starts, read_ints(ctx.input(1), "starts"));
    ECOINFER_ASSIGN_OR_RETURN(args.ends, read_ints(ctx.input(2), "ends"));
    if (ctx.input(3) != nullptr) { ECOINFER_ASSIGN_OR_RETURN(args.axes, read_ints(ctx.input(3), "axes")); }
    if (ctx.input(4) != nullptr) { ECOINFER_ASSIGN_OR_RETURN(args.steps, read_ints(ctx.input(4), "steps")); }
    return slice(*ctx.input(0), std::move(args), ctx);
  });
}

Expected<std::unique_ptr<Kernel>> create_Gather(const KernelInfo& info) {
  const int64_t axis_attr = info.attr_int("axis", 0);
  return make_kernel([axis_attr](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = axis_attr;
    if (!normalize_axis(axis, rank))
      return invalid_argument(fmt::format("Gather axis {} is out of range for rank {}", axis_attr, rank));
    const size_t ax = static_cast<size_t>(axis);
    const Tensor& idx_t = *ctx.input(1);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_ints(&idx_t, "indices"));
    const int64_t dim = x.dim(ax);
    for (int64_t& i : idx) {
      if (i < -dim || i >= dim)
        return invalid_argument(fmt::format("Gather index {} is out of range for axis {} of size {} (valid: [{}, {}))", i,
                                            axis, dim, -dim, dim));
      if (i < 0) i += dim;
    }
    Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
    out_shape.insert(out_shape.end(), idx_t.shape().begin(), idx_t.shape().end());
    out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
    Tensor* out = ctx.output(0, x.dtype(), out_shape);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.dim(d);
    for (size_t d = ax + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t n = static_cast<int64_t>(idx.size());
    const int64_t total = outer * n;
    return dispatch_by_size(x.dtype(), [&](auto tag) -> Status {
      using U = decltype(tag);
      const U* src = static_cast<const U*>(x.raw_data());
      U* dst = static_cast<U*>(out->raw_data());
#pragma omp parallel for if (total * inner > kParallelElements)
      for (int64_t w = 0; w < total; ++w) {
        const int64_t o = w / n, k = w % n;
        std::copy_n(src + (o * dim + idx[static_cast<size_t>(k)]) * inner, inner, dst + w * inner);
      }
      return Status::ok();
    });
  });
}

Expected<std::unique_ptr<Kernel>> create_Pad(const KernelInfo& info) {
  ECOINFER_ASSIGN_OR_RETURN(PadMode mode, parse_pad_mode(info.attr_string("mode", "constant")));
  if (info.opset() < 11) {
    if (!info.has_attr("pads")) return info.model_error("the 'pads' attribute is required before opset 11");
    const std::vector<int64_t> pads = info.attr_ints("pads");
    const float value = info.attr_float("value", 0.0f);
    return make_kernel([pads, value, mode](KernelContext& ctx) -> Status {
      const Tensor& x = *ctx.input(0);
      ECOINFER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, value_bytes(x.dtype(), value));
      return pad(x, pads, mode, bytes, ctx);
    });
  }
  if (!info.has_input(1)) return info.model_error("the 'pads' input is required from opset 11");
  return make_kernel([mode](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> pads, read_ints(ctx.input(1), "pads"));
    std::vector<uint8_t> bytes(8, 0);
    if (const Tensor* v = ctx.input(2); v != nullptr && v->numel() > 0) {
      if (v->dtype() != x.dtype())
        return invalid_argument(fmt::format("Pad constant_value is {}, the data is {}", dtype_name(v->dtype()), dtype_name(x.dtype())));
      std::memcpy(bytes.data(), v->raw_data(), dtype_size(v->dtype()));
    }
    return pad(x, pads, mode, bytes, ctx);
  });
}

Expected<std::unique_ptr<Kernel>> create_Tile(const KernelInfo& info) {
  if (!info.has_input(1)) return info.model_error("the 'repeats' input is required");
  return make_kernel([](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    ECOINFER_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, read_ints(ctx.input(1), "repeats"));
    if (repeats.size() != x.rank())
      return invalid_argument(fmt::format("Tile has {} repeats for an input of rank {}", repeats.size(), x.rank()));
    // Output dim d is (repeat, dim) in row-major order: the repeat index
    // reads the source with stride 0.
    const std::vector<int64_t> in_strides = row_major_strides(x.shape());
    Shape out_shape(x.rank());
    StridedView view;
    for (size_t d = 0; d < x.rank(); ++d) {
      if (repeats[d] < 0) return invalid_argument(fmt::format("Tile repeat {} for dim {} is negative", repeats[d], d));
      out_shape[d] = x.dim(d) * repeats[d];
      view.dims.insert(view.dims.end(), {repeats[d], x.dim(d)});
      view.strides.insert(view.strides.end(), {0, in_strides[d]});
    }
    ECOINFER_RETURN_IF_ERROR(check_numel(view.dims));
    Tensor* out = ctx.output(0, x.dtype(), out_shape);
    if (out->numel() == 0) return Status::ok();
    return copy_view(x, view, *out);
  });
}

}  // namespace ecoinfer::kernels
