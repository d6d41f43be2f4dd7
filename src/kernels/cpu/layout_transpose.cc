#include "kernels/cpu/layout_transpose.h"

#include <algorithm>

namespace ecoinfer::kernels::onednn {

// Tiles of 64 pixels: a tile's input (64 x channels floats) stays in L1/L2
// while each channel's 64 outputs are written as one contiguous run, so the
// writes walk one page per channel per tile instead of one per element.
void channels_last_to_plain(const float* in, float* out, int64_t images, int64_t channels, int64_t pixels) {
  constexpr int64_t kTile = 64;
  const int64_t tiles = (pixels + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (images * tiles > 1 && images * channels * pixels >= (1 << 16))
  for (int64_t t = 0; t < images * tiles; ++t) {
    const int64_t n = t / tiles, p0 = t % tiles * kTile, count = std::min(kTile, pixels - p0);
    const float* src = in + (n * pixels + p0) * channels;
    float* dst = out + n * channels * pixels + p0;
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t p = 0; p < count; ++p) dst[c * pixels + p] = src[p * channels + c];
    }
  }
}

}  // namespace ecoinfer::kernels::onednn
