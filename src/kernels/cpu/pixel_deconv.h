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

// The int8 form (a ConvTranspose quantized by passes/fuse_qdq_inputs.cc):
// uint8/int8 X with its zero point, int8 weights with one scale per output
// channel (or one), an int32 bias, and an optional requantized output.
struct PixelDeconvQuant {
  dnnl::memory::data_type input = dnnl::memory::data_type::u8;
  float input_scale = 1;
  int32_t input_zero = 0;
  std::vector<float> weight_scales;
  dnnl::memory::data_type output = dnnl::memory::data_type::f32;  // u8/s8 when requantized
  float output_scale = 1;
  int32_t output_zero = 0;
};

struct PixelDeconvPlan {
  dnnl::primitive matmul;
  dnnl::memory::desc a, b, bias, z, scratchpad;
  int bias_position = -1;  // the bias is a binary add post-op, first in the chain
  std::vector<std::pair<int, dnnl::memory>> constant_args;
  int64_t batch = 0, out_channels = 0;
  int64_t in[3] = {1, 1, 1}, stride[3] = {1, 1, 1};  // spatial axes, padded in front to three
  size_t workspace_bytes = 0;                         // Z, then the per-tap bias
  // int8 only (make_pixel_deconv_int8): Z is [pixels, (k, o)], the product
  // of channels-last X and the weights with their columns in tap-major
  // order (a copy permuted once), so that each output pixel's channels
  // are contiguous in Z.
  bool int8 = false;
  bool src_channels_last = false, dst_channels_last = false;
  size_t out_element = 4;                    // bytes per element of Z and Y
  std::vector<int8_t> weights;               // W[c][(k, o)]
  std::vector<int> operand_positions;        // binary post-op entries, per fused operand
  std::vector<dnnl::memory::desc> operands;  // their descs ([1, (k, o)] or a scalar)
  int32_t input_zero = 0;
};

// True for a kernel equal to the stride on every axis, no padding and no
// output padding, dilation 1, one group, no fused binary operand (int8:
// operands of one value per output channel, or one value, are taken).
bool pixel_deconv_applies(const Shape& w, int64_t group, const std::vector<int64_t>& strides,
                          const std::vector<int64_t>& dilations, const std::vector<int64_t>& pad_begin,
                          const std::vector<int64_t>& pad_end, const FusedPostOps& post_ops, bool int8 = false);

Expected<PixelDeconvPlan> make_pixel_deconv(const Shape& x, const Shape& w, bool has_bias, const FusedPostOps& post_ops);

// Y (plain, the ConvTranspose's output shape) from X, W ([C, O, k...]) and
// the optional bias B ([O]).
void run_pixel_deconv(const PixelDeconvPlan& plan, const float* x, const float* w, const float* b, float* y);

// The int8 plan for X of shape `x` (plain or channels-last in memory) and
// the constant int8 weights `w` ([C, O, k...]); Y plain or channels-last.
// `operand_sizes` gives each fused operand's element count (1 or O;
// anything else is refused).
Expected<PixelDeconvPlan> make_pixel_deconv_int8(const Shape& x, const Tensor& w, bool has_bias,
                                                 const FusedPostOps& post_ops, const std::vector<int64_t>& operand_sizes,
                                                 const PixelDeconvQuant& quant, bool src_channels_last,
                                                 bool dst_channels_last);

// int8: X uint8/int8, B int32 ([O]) or null, `operands` the fused float32
// operands; Y float32 or the requantized uint8/int8.
void run_pixel_deconv_int8(const PixelDeconvPlan& plan, const void* x, const int32_t* b,
                           const std::vector<const float*>& operands, void* y);

}  // namespace ecoinfer::kernels::onednn
