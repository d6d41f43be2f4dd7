// Checks a caller's tensor against an input's declared type and shape, with
// an error message that says what was given and what the model expects.
#pragma once

#include "ecoinfer/session.h"

namespace ecoinfer::runtime {

Status check_input_matches(const ValueDescription& declared, const Tensor& given);

// "x (float, ?x3x48x?)" for listing inputs in error messages.
std::string describe_value(const ValueDescription& v);

}  // namespace ecoinfer::runtime
