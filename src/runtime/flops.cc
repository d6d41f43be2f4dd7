// FLOP estimates from a run's trace. Exact for the matrix-product ops that
// dominate CNNs and transformers; one op per output element elsewhere, which
// is what profilers such as fvcore and thop report too.
#include <sys/resource.h>

#include "ecoinfer/session.h"
#include "kernels/kernel.h"

namespace ecoinfer {
namespace {

int64_t numel_of(const Shape& s) { return shape_numel(s); }

// Conv: each output element needs (Cin/group) * prod(kernel) multiply-adds.
int64_t conv_flops(const NodeTrace& t) {
  if (t.input_shapes.size() < 2 || t.output_shapes.empty()) return 0;
  const Shape& w = t.input_shapes[1];  // Cout x Cin/group x k...
  int64_t per_output = 1;
  for (size_t i = 1; i < w.size(); ++i) per_output *= w[i];
  return 2 * numel_of(t.output_shapes[0]) * per_output;
}

// ConvTranspose: each input element scatters into (Cout/group) * prod(kernel).
int64_t conv_transpose_flops(const NodeTrace& t) {
  if (t.input_shapes.size() < 2) return 0;
  const Shape& w = t.input_shapes[1];  // Cin x Cout/group x k...
  int64_t per_input = 1;
  for (size_t i = 1; i < w.size(); ++i) per_input *= w[i];
  return 2 * numel_of(t.input_shapes[0]) * per_input;
}

// MatMul / Gemm: output elements times the shared dimension K.
int64_t matmul_flops(const NodeTrace& t, bool trans_a_unknown) {
  if (t.input_shapes.size() < 2 || t.output_shapes.empty()) return 0;
  const Shape& a = t.input_shapes[0];
  const Shape& b = t.input_shapes[1];
  const Shape& y = t.output_shapes[0];
  if (a.empty() || b.empty()) return 0;
  // K is the dimension A and B share: A's last (MatMul) or whichever of A's
  // two dims is not in Y (Gemm with transA).
  int64_t k = a.back();
  if (trans_a_unknown && a.size() == 2 && y.size() == 2 && a[0] != y[0]) k = a[0];
  return 2 * numel_of(y) * k;
}

}  // namespace

int64_t estimate_flops(const std::vector<NodeTrace>& trace) {
  int64_t total = 0;
  for (const NodeTrace& t : trace) {
    if (t.op_type == "Conv") total += conv_flops(t);
    else if (t.op_type == "ConvTranspose") total += conv_transpose_flops(t);
    else if (t.op_type == "MatMul") total += matmul_flops(t, false);
    else if (t.op_type == "Gemm") total += matmul_flops(t, true);
    else if (!t.output_shapes.empty()) total += numel_of(t.output_shapes[0]);
  }
  return total;
}

const std::vector<std::string>& supported_operators() { return kernels::supported_op_types(); }

int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace ecoinfer
