#include "kernels/cpu/zero_point_padding.h"

#include <cstring>

namespace ecoinfer::kernels::onednn {

ZeroPointPadding make_zero_point_padding(const dnnl::memory::dims& source, const dnnl::memory::dims& pad_begin,
                                         const dnnl::memory::dims& pad_end, int32_t zero_point, const Tensor& weights,
                                         const Tensor* bias) {
  ZeroPointPadding zp;
  zp.source = source;
  zp.padded = source;
  for (size_t i = 0; i < 2; ++i) zp.padded[i + 2] += pad_begin[i] + pad_end[i];
  zp.pad_begin = pad_begin;
  zp.zero_byte = static_cast<uint8_t>(zero_point);
  const int64_t channels = weights.dim(0), taps = weights.numel() / channels;
  const int8_t* w = weights.data<int8_t>();
  for (int64_t c = 0; c < channels; ++c) {
    int64_t sum = 0;
    for (int64_t k = 0; k < taps; ++k) sum += w[c * taps + k];
    zp.bias.push_back(static_cast<int32_t>((bias != nullptr ? bias->data<int32_t>()[c] : 0) - zero_point * sum));
  }
  return zp;
}

void pad_channels_last(const void* source, void* padded, const ZeroPointPadding& zp) {
  const int64_t images = zp.source[0], channels = zp.source[1];
  const int64_t h = zp.source[2], w = zp.source[3], ph = zp.padded[2], pw = zp.padded[3];
  const int64_t row = w * channels, padded_row = pw * channels;
  const auto* src = static_cast<const uint8_t*>(source);
  auto* dst = static_cast<uint8_t*>(padded);
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t y = 0; y < ph; ++y) {
      uint8_t* out = dst + (n * ph + y) * padded_row;
      const int64_t sy = y - zp.pad_begin[0];
      if (sy < 0 || sy >= h) {
        std::memset(out, zp.zero_byte, static_cast<size_t>(padded_row));
        continue;
      }
      const int64_t left = zp.pad_begin[1] * channels;
      std::memset(out, zp.zero_byte, static_cast<size_t>(left));
      std::memcpy(out + left, src + (n * h + sy) * row, static_cast<size_t>(row));
      std::memset(out + left + row, zp.zero_byte, static_cast<size_t>(padded_row - left - row));
    }
  }
}

}  // namespace ecoinfer::kernels::onednn
