// KServe v2 / Triton tensor datatype names ("FP32", "INT64", "BYTES") and
// the engine's DataType.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ecoinfer/tensor.h"

namespace ecoinfer::serve::protocol {

// nullopt for names the protocol does not define.
std::optional<DataType> datatype_from_kserve(std::string_view name);
// "FP32" for kFloat32 ...; "BYTES" for kString.
std::string_view kserve_datatype(DataType t);

}  // namespace ecoinfer::serve::protocol
