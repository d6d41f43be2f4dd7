// Marks the matrix ops of a float32 graph to compute in bfloat16
// (SessionOptions::precision == kBf16): Conv, ConvTranspose, MatMul and Gemm
// whose weights are float32 constants, so the kernels can pack them as
// bfloat16 once. The kernels convert their activations to bfloat16 on the
// way in and keep float32 outputs, so no other op sees a new type.
#include "passes/pass.h"
#include "passes/passes.h"

namespace ecoinfer::passes {

Expected<int> mark_bf16_compute(ir::Graph& g) {
  int marked = 0;
  for (ir::Node& n : g.nodes) {
    if (!n.domain.empty()) continue;
    if (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "MatMul" && n.op_type != "Gemm") continue;
    if (n.inputs.size() < 2 || n.inputs[1] == ir::kNoValue) continue;
    const Tensor* w = g.constant(n.inputs[1]);
    if (w == nullptr || w->dtype() != DataType::kFloat32) continue;
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::kInt;
    a.i = 1;
    n.attributes[kComputeBf16Attribute] = a;
    ++marked;
  }
  return marked;
}

}  // namespace ecoinfer::passes
