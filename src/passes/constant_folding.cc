// Constant folding: a node whose inputs are all constants runs once, at
// load, with its own kernel, and its outputs become constants. Exporters
// leave many of these (Paddle2ONNX casts every fill_constant, shape
// arithmetic as Shape -> Gather -> Concat -> Unsqueeze chains).
//
// Shape (and Size) of a value whose shape is fully declared with fixed
// dimensions folds too; a symbolic dimension leaves the node alone.
//
// Folded outputs are capped at kMaxFoldedBytes, and ops that generate large
// outputs from small inputs (ConstantOfShape, Expand, Tile, Range) are
// sized before they run, so folding never allocates what the model would
// not have at run time anyway.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>

#include "kernels/kernel.h"
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

constexpr int64_t kMaxFoldedBytes = int64_t{64} << 20;

// Integer elements of a small constant (shape and repeat vectors).
std::optional<std::vector<int64_t>> int_values(const Tensor* t) {
  if (t == nullptr || t->numel() > 64) return std::nullopt;
  std::vector<int64_t> v;
  if (t->dtype() == DataType::kInt64) for (int64_t x : t->span<int64_t>()) v.push_back(x);
  else if (t->dtype() == DataType::kInt32) for (int32_t x : t->span<int32_t>()) v.push_back(x);
  else return std::nullopt;
  return v;
}

// Product of dimensions, nullopt when negative or past the cap.
std::optional<int64_t> bounded_product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > kMaxFoldedBytes / d) return std::nullopt;
    n *= d;
  }
  return n;
}

// For ops whose output can be far larger than their inputs: whether the
// output fits the cap (an upper bound on elements, computed from the
// constant inputs). Other ops are bounded by their inputs, already in memory.
bool output_fits(const ir::Node& n, const std::vector<const Tensor*>& in) {
  auto input = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  std::optional<int64_t> elements;
  if (is_op(n, "ConstantOfShape")) {
    auto dims = int_values(input(0));
    if (dims) elements = bounded_product(*dims);
  } else if (is_op(n, "Expand")) {
    auto dims = int_values(input(1));
    if (dims && input(0)) {
      Shape s = input(0)->shape();
      std::vector<int64_t> out(std::max(s.size(), dims->size()), 1);
      for (size_t i = 0; i < out.size(); ++i) {
        const int64_t a = i < out.size() - s.size() ? 1 : s[i - (out.size() - s.size())];
        const int64_t b = i < out.size() - dims->size() ? 1 : (*dims)[i - (out.size() - dims->size())];
        out[i] = std::max(a, b);
      }
      elements = bounded_product(out);
    }
  } else if (is_op(n, "Tile")) {
    auto reps = int_values(input(1));
    if (reps && input(0)) {
      reps->push_back(input(0)->numel());
      elements = bounded_product(*reps);
    }
  } else if (is_op(n, "Range")) {
    auto bound = [&](size_t i) -> std::optional<double> {
      const Tensor* t = input(i);
      if (t == nullptr || t->numel() != 1) return std::nullopt;
      auto iv = int_values(t);
      if (iv) return static_cast<double>((*iv)[0]);
      if (t->dtype() == DataType::kFloat32) return static_cast<double>(t->data<float>()[0]);
      if (t->dtype() == DataType::kFloat64) return t->data<double>()[0];
      return std::nullopt;
    };
    auto start = bound(0), limit = bound(1), delta = bound(2);
    if (start && limit && delta && *delta != 0) {
      const double count = std::ceil((*limit - *start) / *delta);
      if (count < static_cast<double>(kMaxFoldedBytes)) elements = static_cast<int64_t>(std::max(count, 0.0));
    }
  } else if (is_op(n, "Resize") || is_op(n, "Pad")) {
    return false;  // rarely constant; not worth sizing
  } else {
    return true;
  }
  return elements && *elements * 8 <= kMaxFoldedBytes;
}

// Shape/Size of a value whose declared shape has only fixed dimensions.
std::optional<Tensor> static_shape_value(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.inputs[0] == ir::kNoValue || n.outputs.size() != 1) return std::nullopt;
  const ValueDescription& info = g.values[static_cast<size_t>(n.inputs[0])].info;
  if (!info.has_shape) return std::nullopt;
  std::vector<int64_t> dims;
  for (const DimInfo& d : info.shape) {
    if (!d.is_fixed()) return std::nullopt;
    dims.push_back(d.value);
  }
  if (is_op(n, "Size")) return Tensor::scalar<int64_t>(shape_numel(dims));
  // Shape-15's start/end slice the dimension list.
  const auto rank = static_cast<int64_t>(dims.size());
  auto clamp = [&](const char* key, int64_t fallback) {
    const ir::Attribute* a = n.attribute(key);
    int64_t v = a != nullptr && a->kind == ir::Attribute::Kind::kInt ? a->i : fallback;
    if (v < 0) v += rank;
    return std::min(std::max(v, int64_t{0}), rank);
  };
  const int64_t start = clamp("start", 0), end = clamp("end", rank);
  std::vector<int64_t> slice(dims.begin() + start, dims.begin() + std::max(start, end));
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(slice.size())}, slice);
}

// Runs the node's kernel on its constant inputs; nullopt when it cannot be
// folded (the kernel refuses, or the result is too large). A kernel error
// is left for the session to report with its usual context.
std::optional<std::vector<Tensor>> evaluate(const ir::Graph& g, const ir::Node& n) {
  kernels::KernelFactory factory = kernels::find_kernel_factory(n.domain, n.op_type);
  if (factory == nullptr) return std::nullopt;
  std::vector<const Tensor*> in;
  int64_t input_bytes = 0;
  for (ir::ValueId v : n.inputs) {
    const Tensor* t = v == ir::kNoValue ? nullptr : g.constant(v);
    if (v != ir::kNoValue && t == nullptr) return std::nullopt;
    if (t != nullptr) input_bytes += static_cast<int64_t>(t->nbytes());
    in.push_back(t);
  }
  if (input_bytes > kMaxFoldedBytes || !output_fits(n, in)) return std::nullopt;
  std::vector<Tensor> results(n.outputs.size());
  std::vector<Tensor*> out;
  for (Tensor& t : results) out.push_back(&t);
  try {
    Expected<std::unique_ptr<kernels::Kernel>> kernel = factory(kernels::KernelInfo(n, g));
    if (!kernel) return std::nullopt;
    kernels::KernelContext ctx(in, out, omp_get_max_threads());
    if (!(*kernel)->compute(ctx).is_ok()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  for (const Tensor& t : results)
    if (static_cast<int64_t>(t.nbytes()) > kMaxFoldedBytes) return std::nullopt;
  return results;
}

bool all_inputs_constant(const ir::Graph& g, const ir::Node& n) {
  bool any = false;
  for (ir::ValueId v : n.inputs) {
    if (v == ir::kNoValue) continue;
    if (g.constant(v) == nullptr) return false;
    any = true;
  }
  return any;
}

}  // namespace

Expected<int> constant_folding_pass(ir::Graph& g) {
  int folded = 0;
  for (ir::Node& n : g.nodes) {
    if (n.outputs.empty()) continue;
    // A graph output stays a node's output: the runtime hands outputs back
    // from its own buffers, which constants are not part of.
    bool feeds_output = false;
    for (ir::ValueId o : n.outputs) feeds_output |= o != ir::kNoValue && is_graph_output(g, o);
    if (feeds_output) continue;
    std::optional<std::vector<Tensor>> results;
    if ((is_op(n, "Shape") || is_op(n, "Size")) && !all_inputs_constant(g, n)) {
      if (auto t = static_shape_value(g, n)) results = std::vector<Tensor>{std::move(*t)};
    } else if (all_inputs_constant(g, n)) {
      results = evaluate(g, n);
    }
    if (!results) continue;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const ir::ValueId v = n.outputs[o];
      if (v == ir::kNoValue) continue;
      g.values[static_cast<size_t>(v)].info.dtype = (*results)[o].dtype();
      g.constants[v] = std::move((*results)[o]);
    }
    erase_node(n);
    ++folded;
  }
  drop_erased_nodes(g);
  return folded;
}

}  // namespace ecoinfer::passes
