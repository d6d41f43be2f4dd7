// Depthwise int8 convolutions with an input zero point, run without one.
//
// oneDNN 2.6's fast depthwise int8 kernel (brdgmm_dw) takes no source zero
// point; with one it falls back to jit_int8, 1.4-1.8x slower at rec's
// shapes. The zero point only matters where a tap reads padding (ONNX pads
// with real 0, which is the zero point once quantized): so the source is
// copied with its padding written out as the zero point, the convolution
// runs unpadded, and sum_k w[c, k] * (x - z) = sum_k w[c, k] * x - z *
// sum_k w[c, k] is exact with the constant second term moved into the int32
// bias.
//
//   ZeroPointPadding zp = make_zero_point_padding(x_dims, pad_begin, pad_end, z, weights, bias);
//   pad_channels_last(x, workspace + offset, zp);   // per run, then the convolution reads it
#pragma once

#include <cstdint>
#include <vector>

#include <dnnl.hpp>

#include "ecoinfer/tensor.h"

namespace ecoinfer::kernels::onednn {

struct ZeroPointPadding {
  dnnl::memory::dims source;     // N, C, H, W of the tensor as given
  dnnl::memory::dims padded;     // N, C, H + pads, W + pads
  dnnl::memory::dims pad_begin;  // H, W
  uint8_t zero_byte = 0;         // the zero point's bit pattern (uint8 or int8)
  std::vector<int32_t> bias;     // b[c] - z * sum_k w[c, k]
};

// `weights`: the constant int8 depthwise weights [C, 1, kh, kw]; `bias`:
// the constant int32 bias or nullptr.
ZeroPointPadding make_zero_point_padding(const dnnl::memory::dims& source, const dnnl::memory::dims& pad_begin,
                                         const dnnl::memory::dims& pad_end, int32_t zero_point, const Tensor& weights,
                                         const Tensor* bias);

// Copies channels-last images `source` into channels-last `padded`, the
// border filled with the zero point.
void pad_channels_last(const void* source, void* padded, const ZeroPointPadding& zp);

}  // namespace ecoinfer::kernels::onednn
