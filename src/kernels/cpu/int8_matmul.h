// MatMulInteger on oneDNN's int8 matmul (kernels/cpu/matmul.cc), for the
// case dynamic quantization writes: a constant int8 B with zero (or no) zero
// point and a uint8/int8 A whose one zero point comes at run time. The
// reference kernel (kernels/ref/quant_matmul.cc) takes every other case.
#pragma once

#include <memory>

#include "ecoinfer/status.h"
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

// True when `info`'s MatMulInteger is the case above.
bool int8_matmul_integer_applies(const KernelInfo& info);

Expected<std::unique_ptr<Kernel>> create_int8_matmul_integer(const KernelInfo& info);

}  // namespace ecoinfer::kernels
