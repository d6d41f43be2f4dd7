// The int8 variant of a model for `compare`: the fp32 file quantized by
// src/quant (static QDQ: per-channel int8 weights, uint8 activations, min-max
// ranges from a few calibration batches of the same kind of input), cached
// next to the zoo models.
#pragma once

#include <filesystem>
#include <string>

#include "compare/catalog.h"
#include "compare/compare.h"

namespace ecoinfer::compare {

// "" when this build can run QDQ models, else the "n/a (not built): ..."
// reason (the quantizer is here; the engine needs the Q/DQ kernels).
std::string int8_unavailable_reason();

// Quantizes `fp32` once into the cache and returns the int8 file.
Expected<std::filesystem::path> int8_model_file(const CatalogEntry& entry, const std::filesystem::path& fp32,
                                                const CompareOptions& options);

}  // namespace ecoinfer::compare
