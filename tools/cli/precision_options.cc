#include "precision_options.h"

#include <map>

#include <fmt/format.h>

namespace ecoinfer::cli {

void add_precision_option(CLI::App* sub, Precision& precision) {
  const std::map<std::string, Precision> names = {{"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}};
  sub->add_option("--precision", precision,
                  "compute precision of Conv/MatMul/Gemm in a float32 model: fp32 (default) or bf16 (bfloat16 "
                  "inputs and weights, float32 accumulation; other ops stay fp32). An int8 model's precision "
                  "comes from its QuantizeLinear/DequantizeLinear nodes")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}

std::string describe_precision(const Session& session) {
  bool quantized = false;
  for (const auto& [op, count] : session.summary().op_histogram) {
    quantized |= op == "QuantizeLinear" || op == "DequantizeLinear" || op == "DynamicQuantizeLinear" ||
                 op == "QLinearConv" || op == "QLinearMatMul" || op == "MatMulInteger" || op == "ConvInteger" ||
                 op.rfind("Int8", 0) == 0;
  }
  std::string base = precision_name(session.options().precision);
  // oneDNN 2.6's AVX512-BF16 kernels (no AMX) measured slower than its f32
  // ones on the PaddleOCR models (docs/PERFORMANCE.md): say so where it runs.
  if (session.options().precision == Precision::kBf16 && onednn_cpu_isa() != "avx512_core_amx") {
    base += " (no AMX on this CPU: bf16 runs on AVX512-BF16, usually slower than fp32)";
  }
  return quantized ? "int8 (quantized in the model) + " + base : base;
}

void print_implementations() {
  const auto used = onednn_implementations_used();
  if (used.empty()) {
    fmt::print("oneDNN      no primitives created\n");
    return;
  }
  fmt::print("oneDNN      implementations used (kind, implementation, primitives):\n");
  for (const auto& u : used) fmt::print("  {:<22} {:<28} x{}\n", u.kind, u.implementation, u.count);
}

nlohmann::json implementations_json() {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& u : onednn_implementations_used()) {
    a.push_back({{"kind", u.kind}, {"implementation", u.implementation}, {"primitives", u.count}});
  }
  return a;
}

}  // namespace ecoinfer::cli
