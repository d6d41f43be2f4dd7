// `--precision fp32|bf16` for run, bench and info, and the report of what
// precision and which oneDNN implementations a session actually ran with,
// so a silent fallback (a "ref" or "gemm:jit" kernel) is visible.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ecoinfer/session.h"

namespace ecoinfer::cli {

void add_precision_option(CLI::App* sub, Precision& precision);

// "fp32", "bf16", or "int8 (QDQ in the model) + fp32" for a quantized model.
std::string describe_precision(const Session& session);

// Per primitive kind, the implementations created so far: printed as
// "  convolution   brg:avx512_core_vnni x12" lines, or as a JSON array.
void print_implementations();
nlohmann::json implementations_json();

}  // namespace ecoinfer::cli
