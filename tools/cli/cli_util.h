// Helpers the subcommands share: shape flags, generated inputs, file names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ecoinfer/session.h"

namespace ecoinfer::cli {

// Parses "NAME=1x3x48x320" flags into name -> shape. An error names the bad flag.
Expected<std::map<std::string, Shape>> parse_shape_flags(const std::vector<std::string>& flags);

// The concrete shape for each model input: from `given`, else from the
// declared shape when every dimension is fixed. An input with a dynamic
// dimension and no --shape is an error that shows the flag to add.
Expected<std::vector<std::pair<std::string, Shape>>> resolve_input_shapes(const Session& session,
                                                                          const std::map<std::string, Shape>& given);

// Deterministic inputs of those shapes: floats uniform in [-1, 1), integers
// in [0, 100) (valid token ids and masks for typical models), bool random.
std::vector<NamedTensor> make_inputs(const Session& session,
                                     const std::vector<std::pair<std::string, Shape>>& shapes, uint32_t seed);

// Characters other than letters, digits, '.', '_' and '-' become '_'.
std::string sanitize_file_name(const std::string& name);

// "1.23 ms", "456 us": human-readable durations.
std::string format_seconds(double seconds);
std::string format_bytes(int64_t bytes);

bool stderr_is_terminal();

}  // namespace ecoinfer::cli
