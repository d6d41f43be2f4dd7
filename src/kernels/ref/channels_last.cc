#include "kernels/ref/channels_last.h"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "passes/post_ops.h"

namespace ecoinfer::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 14;  // elements; below this threads cost more than they save
constexpr int64_t kChannelBlock = 64;      // channels one thread sums: 4 AVX-512 registers' worth

// Pixels (the product of the spatial dims) of an N x C x spatial... shape.
int64_t pixels_of(const Tensor& x) {
  int64_t p = 1;
  for (size_t d = 2; d < x.rank(); ++d) p *= x.dim(d);
  return p;
}

Status check_float(const std::string& who, const Tensor* x, const char* name) {
  if (x == nullptr) return invalid_argument(fmt::format("{}: input {} is missing", who, name));
  if (x->dtype() != DataType::kFloat32) {
    return unimplemented(fmt::format("{}: a channels-last {} must be float32, not {}", who, name, dtype_name(x->dtype())));
  }
  if (x->rank() < 3) {
    return invalid_argument(fmt::format("{}: a channels-last {} must be N x C x spatial..., not {}", who, name,
                                        shape_to_string(x->shape())));
  }
  return Status::ok();
}

// y[n, c] = mean over pixels of x[n, pixel, c]: the channels of one pixel are
// contiguous, so each thread sums whole rows of a block of channels.
void channels_last_mean(const float* x, float* y, int64_t images, int64_t pixels, int64_t channels) {
  const int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  const float scale = 1.0f / static_cast<float>(pixels);
#pragma omp parallel for collapse(2) if (images * pixels * channels > kParallelMin)
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t c0 = b * kChannelBlock, width = std::min(kChannelBlock, channels - c0);
      const float* xn = x + n * pixels * channels + c0;
      float* yn = y + n * channels + c0;
      float sum[kChannelBlock] = {};
      for (int64_t p = 0; p < pixels; ++p) {
        const float* row = xn + p * channels;
#pragma omp simd
        for (int64_t c = 0; c < width; ++c) sum[c] += row[c];
      }
      for (int64_t c = 0; c < width; ++c) yn[c] = sum[c] * scale;
    }
  }
}

// y[n, pixel, c] = x[n, pixel, c] * gate[n * gate_image + c].
void scale_channels(const float* x, const float* gate, float* y, int64_t images, int64_t pixels, int64_t channels,
                    int64_t gate_image) {
#pragma omp parallel for collapse(2) if (images * pixels * channels > kParallelMin)
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t p = 0; p < pixels; ++p) {
      const int64_t row = (n * pixels + p) * channels;
      const float* g = gate + n * gate_image;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) y[row + c] = x[row + c] * g[c];
    }
  }
}

// The gate's elements per image when it holds one value per channel
// (per image or shared by all images) for x; -1 otherwise.
int64_t gate_image_stride(const Tensor& gate, const Tensor& x) {
  if (gate.rank() > x.rank()) return -1;
  const size_t offset = x.rank() - gate.rank();
  bool per_image = false;
  for (size_t d = 0; d < gate.rank(); ++d) {
    const size_t axis = d + offset;
    const int64_t size = gate.dim(d);
    if (axis == 1 && size == x.dim(1)) continue;
    if (axis == 0 && size == x.dim(0)) {
      per_image = true;
      continue;
    }
    if (size != 1) return -1;
  }
  if (gate.numel() != (per_image ? x.dim(0) : 1) * x.dim(1)) return -1;  // a per-image gate needs C values too
  return per_image ? x.dim(1) : 0;
}

}  // namespace

Expected<std::unique_ptr<Kernel>> create_channels_last_global_average_pool(const KernelInfo& info) {
  const std::string who = info.node().describe();
  if (passes::channels_last_inputs(info.node()) != std::vector<int64_t>{0}) {
    return info.model_error(fmt::format("{} may list only input 0", passes::kChannelsLastInputs));
  }
  const bool blocked16 = passes::blocked16_layout(info.node());
  return std::unique_ptr<Kernel>(make_kernel([who, blocked16](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(0);
    ECOINFER_RETURN_IF_ERROR(check_float(who, x, "X"));
    if (blocked16 && x->dim(1) % 16 != 0) return unimplemented(who + ": a blocked GlobalAveragePool needs 16k channels");
    Shape y_shape(x->rank(), 1);
    y_shape[0] = x->dim(0);
    y_shape[1] = x->dim(1);
    const int64_t pixels = pixels_of(*x);
    if (pixels == 0 && x->dim(0) * x->dim(1) > 0) return invalid_argument(who + ": spatial dimensions are empty");
    Tensor* y = ctx.output(0, DataType::kFloat32, y_shape);
    // 16-channel blocks (N, C/16, spatial..., 16) are N*C/16 channels-last
    // images of 16 channels, whose means come out in N, C order.
    if (blocked16) channels_last_mean(x->data<float>(), y->data<float>(), x->dim(0) * (x->dim(1) / 16), pixels, 16);
    else channels_last_mean(x->data<float>(), y->data<float>(), x->dim(0), pixels, x->dim(1));
    return Status::ok();
  }));
}

Expected<std::unique_ptr<Kernel>> create_channels_last_channel_scale(const KernelInfo& info) {
  const std::string who = info.node().describe();
  const std::vector<int64_t> marked = passes::channels_last_inputs(info.node());
  if (info.input_count() != 2 || marked.size() != 1 || marked[0] > 1 || !passes::channels_last_output(info.node())) {
    return info.model_error(fmt::format("a channels-last Mul needs two inputs, one listed in {}, and {}",
                                        passes::kChannelsLastInputs, passes::kChannelsLastOutput));
  }
  const size_t xi = static_cast<size_t>(marked[0]);
  return std::unique_ptr<Kernel>(make_kernel([who, xi](KernelContext& ctx) -> Status {
    const Tensor* x = ctx.input(xi);
    const Tensor* gate = ctx.input(1 - xi);
    ECOINFER_RETURN_IF_ERROR(check_float(who, x, "X"));
    if (gate == nullptr || gate->dtype() != DataType::kFloat32) return invalid_argument(who + ": the gate must be float32");
    const int64_t gate_image = gate_image_stride(*gate, *x);
    if (gate_image < 0) {
      return invalid_argument(fmt::format("{}: a channels-last Mul takes one value per channel, not {} for X {}", who,
                                          shape_to_string(gate->shape()), shape_to_string(x->shape())));
    }
    Tensor* y = ctx.output(0, DataType::kFloat32, x->shape());
    scale_channels(x->data<float>(), gate->data<float>(), y->data<float>(), x->dim(0), pixels_of(*x), x->dim(1),
                   gate_image);
    return Status::ok();
  }));
}

}  // namespace ecoinfer::kernels
