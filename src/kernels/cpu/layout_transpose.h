// Channels-last float32 to plain NCHW, for a convolution's output that a
// non-convolution op reads. oneDNN 2.6's reorder (jit:uni) does this
// 1.4-2.5x slower than the plain tiled loop below once there are many
// channels (96 x 160 x 160, det's FPN: 3.8-4.1 ms against 1.5-2.9 ms,
// standalone, 1 thread); with few channels (24) it is as fast or faster,
// so conv.cc uses this one from kTransposeMinChannels channels.
//
//   channels_last_to_plain(nhwc, nchw, images, channels, pixels);
#pragma once

#include <cstdint>

namespace ecoinfer::kernels::onednn {

inline constexpr int64_t kTransposeMinChannels = 64;

// in: [images][pixels][channels]; out: [images][channels][pixels].
void channels_last_to_plain(const float* in, float* out, int64_t images, int64_t channels, int64_t pixels);

}  // namespace ecoinfer::kernels::onednn
