// The two non-convolution ops that read channels-last tensors (N, spatial...,
// C in memory, the logical shape staying N, C, spatial...; passes/post_ops.h
// kChannelsLastInputs): a squeeze-excitation block's GlobalAveragePool and
// its Mul by the per-channel gate. The channels_last_convs pass marks them so
// the feature map between the depthwise and the projection convolutions
// stays channels-last, with no transposes around the block.
//
//   create_GlobalAveragePool(info)  // dispatches here when input 0 is marked
//
// GlobalAveragePool: X channels-last -> Y [N, C, 1, ..., 1] (the same bytes in
// either layout). Mul: X channels-last times a gate of one value per channel
// ([N or 1, C, 1, ..., 1]) -> Y channels-last (kChannelsLastOutput).
// float32 only; anything else is an error naming the node, since only the
// pass sets these marks.
#pragma once

#include <memory>

#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_channels_last_global_average_pool(const KernelInfo& info);
Expected<std::unique_ptr<Kernel>> create_channels_last_channel_scale(const KernelInfo& info);

}  // namespace ecoinfer::kernels
