// ConvTranspose whose kernel equals its stride (no overlap), without
// padding, dilation or groups, the upsampling head of segmentation models
// (PP-OCRv4 det: 2x2 stride 2): every output pixel comes from one input
// pixel and one kernel tap, so it is one GEMM and an interleave:
//
//   Z[n, (o, k), p] = sum_c W[c, (o, k)] * X[n, c, p] + B[o]     (oneDNN brgemm matmul)
//   Y[n, o, p * s + k] = Z[n, (o, k), p]                         (per spatial axis)
//
// where p runs over input pixels and k over kernel taps. oneDNN's own
// deconvolution runs im2col + GEMM + col2im on plain data, 10-20x slower at
// these shapes. The fused element-wise post-ops run inside the matmul (the
// interleave only moves values); binary post-ops are not taken here.
//
//   if (pixel_deconv_applies(...)) plan = make_pixel_deconv(...);
//   run_pixel_deconv(*plan, x, w, b, y);
#pragma once

#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"
#include "kernels/cpu/fused_post_ops.h"

namespace ecoinfer::kernels::onednn {

struct PixelDeconvPlan {
  dnnl::primitive matmul;
  dnnl::memory::desc a, b, bias, z, scratchpad;
  int bias_position = -1;  // the bias is a binary add post-op, first in the chain
  std::vector<std::pair<int, dnnl::memory>> constant_args;
  int64_t batch = 0, out_channels = 0;
  int64_t in[3] = {1, 1, 1}, stride[3] = {1, 1, 1};  // spatial axes, padded in front to three
  size_t workspace_bytes = 0;                         // Z, then the per-tap bias
};

// True for a kernel equal to the stride on every axis, no padding and no
// output padding, dilation 1, one group, no fused binary operand.
bool pixel_deconv_applies(const Shape& w, int64_t group, const std::vector<int64_t>& strides,
                          const std::vector<int64_t>& dilations, const std::vector<int64_t>& pad_begin,
                          const std::vector<int64_t>& pad_end, const FusedPostOps& post_ops);

Expected<PixelDeconvPlan> make_pixel_deconv(const Shape& x, const Shape& w, bool has_bias, const FusedPostOps& post_ops);

// Y (plain, the ConvTranspose's output shape) from X, W ([C, O, k...]) and
// the optional bias B ([O]).
void run_pixel_deconv(const PixelDeconvPlan& plan, const float* x, const float* w, const float* b, float* y);

}  // namespace ecoinfer::kernels::onednn
