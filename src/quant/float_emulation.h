// A float32 model that computes what a quantized model computes, for engines
// without int8 kernels: each QuantizeLinear becomes x/s rounded, shifted by the
// zero point and clamped (values stay integers held in floats), each
// DequantizeLinear of a constant becomes the dequantized float constant, and
// DynamicQuantizeLinear / MatMulInteger the same arithmetic in float. The
// rounding is half-up instead of half-to-even: outputs can differ from an int8
// engine only where x/s lands exactly on .5.
#pragma once

#include <onnx/onnx_pb.h>

#include "ecoinfer/status.h"

namespace ecoinfer::quant {

Expected<onnx::ModelProto> float_emulation(const onnx::ModelProto& quantized);

}  // namespace ecoinfer::quant
