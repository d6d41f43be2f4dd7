#include "passes/shape_classes.h"

#include <algorithm>
#include <string>

#include "passes/pass.h"
#include "passes/pattern_util.h"

namespace ecoinfer::passes {
namespace {

// Ops whose output has the shape of input 0 (their other inputs are
// per-channel parameters or scalars that never enlarge it).
constexpr const char* kShapeKeeping[] = {
    "Relu",  "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Clip",    "Elu",  "Selu", "Softplus",
    "Exp",   "Log",       "Neg",     "Abs",  "Sqrt",        "Reciprocal", "Erf",    "Floor", "Ceil", "Identity",
    "Gelu",  "BatchNormalization",
    // A (de)quantized tensor has its float tensor's shape: the residual Adds
    // of a QDQ model read the float value whose quantized copy fed the convs.
    "QuantizeLinear", "DequantizeLinear"};

constexpr const char* kBinary[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};

template <size_t N>
bool one_of(const ir::Node& n, const char* const (&ops)[N]) {
  return std::any_of(std::begin(ops), std::end(ops), [&](const char* op) { return is_op(n, op); });
}

std::vector<int64_t> ints_or(const ir::Node& n, const char* key, std::vector<int64_t> fallback) {
  const ir::Attribute* a = n.attribute(key);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInts ? a->ints : fallback;
}

// A Conv's strides, dilations and pads per spatial dim (ONNX defaults filled
// in), when they are consistent with its weights' rank.
struct ConvGeometry {
  std::vector<int64_t> strides, dilations, pads;  // pads: begins, then ends
  std::string auto_pad;
};

std::optional<ConvGeometry> conv_geometry(const ir::Node& conv, size_t n) {
  ConvGeometry g{ints_or(conv, "strides", std::vector<int64_t>(n, 1)),
                 ints_or(conv, "dilations", std::vector<int64_t>(n, 1)),
                 ints_or(conv, "pads", std::vector<int64_t>(2 * n, 0)), "NOTSET"};
  const ir::Attribute* ap = conv.attribute("auto_pad");
  if (ap != nullptr && ap->kind == ir::Attribute::Kind::kString) g.auto_pad = ap->s;
  if (g.strides.size() != n || g.dilations.size() != n || g.pads.size() != 2 * n) return std::nullopt;
  return g;
}

// True when a Conv with these weights keeps every spatial size (stride 1 and
// padding that adds back what the kernel takes), or maps 1 to 1 (a 1x1
// kernel without padding) when `one_pixel`.
bool keeps_spatial_size(const ir::Node& conv, const Tensor& w, bool one_pixel) {
  const size_t n = w.rank() - 2;
  const auto g = conv_geometry(conv, n);
  if (!g) return false;
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = w.dim(i + 2);
    const int64_t extent = (k - 1) * g->dilations[i];  // what the kernel takes beyond one pixel
    if (one_pixel && k == 1 &&
        (g->auto_pad == "VALID" || (g->auto_pad == "NOTSET" && g->pads[i] == 0 && g->pads[i + n] == 0))) {
      continue;
    }
    if (g->strides[i] != 1) return false;
    if (g->auto_pad == "SAME_UPPER" || g->auto_pad == "SAME_LOWER") continue;
    const int64_t padding = g->auto_pad == "VALID" ? 0 : g->pads[i] + g->pads[i + n];
    if (g->auto_pad != "NOTSET" && g->auto_pad != "VALID") return false;
    if (padding != extent) return false;
  }
  return true;
}

// A Conv's output size per spatial dim is floor((H + offset) / stride) + 1
// with offset = pads - dilation * (k - 1) - 1: the key {stride, offset, ...}
// names that function of H. Explicit or VALID padding only (SAME depends on
// H in its own way).
std::optional<std::vector<int64_t>> output_size_key(const ir::Node& conv, const Tensor& w) {
  const size_t n = w.rank() - 2;
  const auto g = conv_geometry(conv, n);
  if (!g || (g->auto_pad != "NOTSET" && g->auto_pad != "VALID")) return std::nullopt;
  std::vector<int64_t> key;
  for (size_t i = 0; i < n; ++i) {
    const int64_t padding = g->auto_pad == "VALID" ? 0 : g->pads[i] + g->pads[i + n];
    key.push_back(g->strides[i]);
    key.push_back(padding - g->dilations[i] * (w.dim(i + 2) - 1) - 1);
  }
  return key;
}

}  // namespace

ShapeClasses::ShapeClasses(const ir::Graph& g) : classes_(g.values.size()) {
  for (size_t v = 0; v < classes_.size(); ++v) classes_[v].root = static_cast<ir::ValueId>(v);
  for (const ir::Node& n : g.nodes) visit(g, n);
}

void ShapeClasses::visit(const ir::Graph& g, const ir::Node& n) {
  if (n.outputs.empty() || n.outputs[0] == ir::kNoValue || n.inputs.empty() || n.inputs[0] == ir::kNoValue) return;
  const ir::ValueId x = n.inputs[0], y = n.outputs[0];
  const Class in = of(x);
  Class& out = of(y);
  if (is_op(n, "Conv") || is_op(n, "ConvTranspose")) {
    const Tensor* w = n.inputs.size() > 1 ? g.constant(n.inputs[1]) : nullptr;
    if (w == nullptr || w->rank() < 3) return;
    const ir::Attribute* group = n.attribute("group");
    const int64_t groups = group != nullptr && group->kind == ir::Attribute::Kind::kInt ? group->i : 1;
    const int64_t channels = is_op(n, "Conv") ? w->dim(0) : w->dim(1) * groups;
    out = {y, channels, static_cast<int64_t>(w->rank()), false};
    // Fused binary post-ops read operands that fit the output, by construction.
    if (is_op(n, "Conv") && keeps_spatial_size(n, *w, in.pooled)) {
      out = {in.root, channels, out.rank, in.pooled};
    } else if (auto geometry = is_op(n, "Conv") ? output_size_key(n, *w) : std::nullopt) {
      std::vector<int64_t> key = {in.root, in.pooled ? 1 : 0};
      key.insert(key.end(), geometry->begin(), geometry->end());
      const ir::ValueId root = strided_roots_.emplace(std::move(key), y).first->second;
      out = {root, channels, out.rank, false};
    }
    return;
  }
  if (is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool")) {
    out = {in.root, in.channels, in.rank, true};
    return;
  }
  const bool fused_elementwise = n.op_type == "FusedElementwise" && n.domain == kInternalDomain;
  if (one_of(n, kShapeKeeping) || fused_elementwise) {
    if (n.outputs.size() == 1) out = in;
    return;
  }
  if (one_of(n, kBinary) && n.inputs.size() == 2 && n.outputs.size() == 1 && n.inputs[1] != ir::kNoValue) {
    const ir::ValueId b = n.inputs[1];
    if (fits_into(b, x) || constant_fits(g.constant(b), in)) {
      out = in;
    } else if (fits_into(x, b) || constant_fits(g.constant(x), of(b))) {
      out = of(b);
    }
  }
}

bool ShapeClasses::constant_fits(const Tensor* c, const Class& x) {
  if (c == nullptr) return false;
  if (c->rank() == 0) return true;
  if (x.rank < 0 || static_cast<int64_t>(c->rank()) > x.rank) return false;
  const int64_t offset = x.rank - static_cast<int64_t>(c->rank());
  for (size_t d = 0; d < c->rank(); ++d) {
    const int64_t size = c->dim(d);
    if (size != 1 && !(static_cast<int64_t>(d) + offset == 1 && size == x.channels)) return false;
  }
  return true;
}

bool ShapeClasses::fits_into(ir::ValueId operand, ir::ValueId x) const {
  const Class& a = classes_[static_cast<size_t>(operand)];
  const Class& b = classes_[static_cast<size_t>(x)];
  if (a == b) return true;
  return a.pooled && !b.pooled && a.root == b.root && a.channels == b.channels && a.rank == b.rank;
}

}  // namespace ecoinfer::passes
