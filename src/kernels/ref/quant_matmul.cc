// MatMulInteger and QLinearMatMul: reference integer matrix products with
// numpy batch broadcasting. Products accumulate exactly in int32 after the
// zero points are subtracted; QLinearMatMul then requantizes each sum with
// a_scale * b_scale[n] / y_scale (quantize_math.h rounding).
//
// Zero points: A's is per tensor (or per row, MatMulInteger), B's per tensor
// or per column (1-D with N elements). QDQ models from `ecoinfer quantize`
// do not reach these kernels: the fuse_qdq passes run them through oneDNN,
// and so does a MatMulInteger with a constant symmetric int8 B (dynamic
// quantization; kernels/cpu/int8_matmul.h).
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/int8_matmul.h"
#include "kernels/kernel.h"
#include "kernels/ref/quantize_math.h"

namespace ecoinfer::kernels {
namespace {

// One operand of an integer product, widened to int32 with its zero point
// subtracted (per row for A, per column for B).
std::vector<int32_t> widen(const Tensor& t, const std::vector<int32_t>& zeros, bool per_column, int64_t cols) {
  std::vector<int32_t> out(static_cast<size_t>(t.numel()));
  auto fill = [&](auto* data) {
    const int64_t rows = cols == 0 ? 0 : t.numel() / cols;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const size_t z = zeros.size() == 1 ? 0 : static_cast<size_t>(per_column ? c : r % static_cast<int64_t>(zeros.size()));
        out[static_cast<size_t>(r * cols + c)] = static_cast<int32_t>(data[r * cols + c]) - zeros[z];
      }
    }
  };
  if (t.dtype() == DataType::kUInt8) fill(t.data<uint8_t>());
  else fill(t.data<int8_t>());
  return out;
}

Expected<std::vector<int32_t>> read_zeros(const Tensor* zp, DataType operand, int64_t allowed_len, const char* which,
                                          const std::string& who) {
  if (zp == nullptr) return std::vector<int32_t>{0};
  if (zp->dtype() != operand) {
    return invalid_argument(fmt::format("{}: {} zero point is {} but the operand is {}", who, which,
                                        dtype_name(zp->dtype()), dtype_name(operand)));
  }
  if (zp->numel() != 1 && !(zp->rank() == 1 && zp->numel() == allowed_len)) {
    return unimplemented(fmt::format("{}: {} zero point of shape {} is not supported (one value, or 1-D with {})",
                                     who, which, shape_to_string(zp->shape()), allowed_len));
  }
  std::vector<int32_t> z(static_cast<size_t>(zp->numel()));
  for (size_t i = 0; i < z.size(); ++i) {
    z[i] = zp->dtype() == DataType::kUInt8 ? zp->data<uint8_t>()[i] : zp->data<int8_t>()[i];
  }
  return z;
}

bool is_int8(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

// The int32 product (A - a_zero) x (B - b_zero) with batch broadcasting.
struct IntProduct {
  Shape shape;  // batch..., M, N (without the dims a 1-D operand drops)
  int64_t m = 0, n = 0;
  std::vector<int32_t> values;  // [batch][m][n]
};

Expected<IntProduct> int_matmul(const Tensor& a, const Tensor* a_zp, const Tensor& b, const Tensor* b_zp,
                                const std::string& who) {
  if (!is_int8(a.dtype()) || !is_int8(b.dtype())) {
    return unimplemented(fmt::format("{}: A and B must be uint8 or int8 (A is {}, B is {})", who,
                                     dtype_name(a.dtype()), dtype_name(b.dtype())));
  }
  if (a.rank() == 0 || b.rank() == 0) return invalid_argument(who + ": operands must have rank 1 or more");
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) {
    return invalid_argument(fmt::format("{}: inner dimensions differ (A is {}, B is {})", who,
                                        shape_to_string(a.shape()), shape_to_string(b.shape())));
  }
  const size_t rank = std::max(as.size(), bs.size());
  Shape batch(rank - 2, 1);
  std::vector<int64_t> a_batch(rank - 2, 1), b_batch(rank - 2, 1);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (i + as.size() >= rank) a_batch[i] = as[i + as.size() - rank];
    if (i + bs.size() >= rank) b_batch[i] = bs[i + bs.size() - rank];
    if (a_batch[i] != b_batch[i] && a_batch[i] != 1 && b_batch[i] != 1) {
      return invalid_argument(fmt::format("{}: batch dimensions do not broadcast (A is {}, B is {})", who,
                                          shape_to_string(a.shape()), shape_to_string(b.shape())));
    }
    batch[i] = std::max(a_batch[i], b_batch[i]);
  }
  ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> az, read_zeros(a_zp, a.dtype(), m, "A", who));
  ECOINFER_ASSIGN_OR_RETURN(std::vector<int32_t> bz, read_zeros(b_zp, b.dtype(), n, "B", who));
  const std::vector<int32_t> aw = widen(a, az, false, k), bw = widen(b, bz, true, n);

  IntProduct out;
  out.m = m;
  out.n = n;
  out.shape = batch;
  if (a.rank() > 1) out.shape.push_back(m);
  if (b.rank() > 1) out.shape.push_back(n);
  const int64_t batches = shape_numel(batch);
  out.values.assign(static_cast<size_t>(batches * m * n), 0);
#pragma omp parallel for schedule(static) if (batches * m * n * k >= (1 << 20))
  for (int64_t bi = 0; bi < batches * m; ++bi) {
    const int64_t idx = bi / m, row = bi % m;
    // Broadcast batch offsets of A and B for flat batch index idx.
    int64_t a_off = 0, b_off = 0, rest = idx, a_stride = 1, b_stride = 1;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t pos = rest % batch[d];
      rest /= batch[d];
      if (a_batch[d] != 1) a_off += pos * a_stride;
      if (b_batch[d] != 1) b_off += pos * b_stride;
      a_stride *= a_batch[d];
      b_stride *= b_batch[d];
    }
    const int32_t* arow = aw.data() + (a_off * m + row) * k;
    const int32_t* bmat = bw.data() + b_off * k * n;
    int32_t* crow = out.values.data() + bi * n;
    for (int64_t kk = 0; kk < k; ++kk) {
      const int32_t av = arow[kk];
      const int32_t* brow = bmat + kk * n;
      for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
    }
  }
  return out;
}

// One value (scalar or one-element) float input.
Expected<float> scalar_scale(const Tensor* t, const char* which, const std::string& who) {
  if (t == nullptr || t->dtype() != DataType::kFloat32 || t->numel() != 1) {
    return invalid_argument(fmt::format("{}: {} must be one float32 value", who, which));
  }
  return t->data<float>()[0];
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_MatMulInteger(const KernelInfo& info) {
  if (!info.has_input(0) || !info.has_input(1)) return info.model_error("needs inputs A and B");
  // Dynamic quantization's case (constant int8 B, symmetric): oneDNN's int8 matmul.
  if (int8_matmul_integer_applies(info)) return create_int8_matmul_integer(info);
  const std::string who = info.node().describe();
  return make_kernel([who](KernelContext& ctx) -> Status {
    ECOINFER_ASSIGN_OR_RETURN(IntProduct p, int_matmul(*ctx.input(0), ctx.input(2), *ctx.input(1), ctx.input(3), who));
    Tensor* y = ctx.output(0, DataType::kInt32, p.shape);
    std::copy(p.values.begin(), p.values.end(), y->data<int32_t>());
    return Status::ok();
  });
}

// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
Expected<std::unique_ptr<Kernel>> create_QLinearMatMul(const KernelInfo& info) {
  if (info.input_count() < 8) return info.model_error("needs 8 inputs (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)");
  const std::string who = info.node().describe();
  return make_kernel([who](KernelContext& ctx) -> Status {
    ECOINFER_ASSIGN_OR_RETURN(IntProduct p, int_matmul(*ctx.input(0), ctx.input(2), *ctx.input(3), ctx.input(5), who));
    ECOINFER_ASSIGN_OR_RETURN(float a_scale, scalar_scale(ctx.input(1), "a_scale", who));
    ECOINFER_ASSIGN_OR_RETURN(float y_scale, scalar_scale(ctx.input(6), "y_scale", who));
    const Tensor* bs = ctx.input(4);
    if (bs == nullptr || bs->dtype() != DataType::kFloat32 || (bs->numel() != 1 && bs->numel() != p.n)) {
      return invalid_argument(fmt::format("{}: b_scale must be float32 with 1 or {} (N) values", who, p.n));
    }
    const Tensor* yz = ctx.input(7);
    if (yz == nullptr || !is_int8(yz->dtype()) || yz->numel() != 1) {
      return invalid_argument(who + ": y_zero_point must be one uint8 or int8 value");
    }
    std::vector<float> multiplier(static_cast<size_t>(p.n));
    for (int64_t j = 0; j < p.n; ++j) multiplier[static_cast<size_t>(j)] = a_scale * bs->data<float>()[bs->numel() == 1 ? 0 : j] / y_scale;
    const bool u8 = yz->dtype() == DataType::kUInt8;
    const float zero = u8 ? yz->data<uint8_t>()[0] : yz->data<int8_t>()[0];
    Tensor* y = ctx.output(0, yz->dtype(), p.shape);
    for (size_t i = 0; i < p.values.size(); ++i) {
      const float v = std::nearbyint(static_cast<float>(p.values[i]) * multiplier[i % static_cast<size_t>(p.n)]) + zero;
      if (u8) y->data<uint8_t>()[i] = saturate_round<uint8_t>(v);
      else y->data<int8_t>()[i] = saturate_round<int8_t>(v);
    }
    return Status::ok();
  });
}

}  // namespace ecoinfer::kernels
