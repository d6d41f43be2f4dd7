// Which values provably have the same shape, from the graph's structure
// alone (the PaddleOCR models declare no intermediate shapes). Used by
// fuse_conv_residual: a residual Add may become a binary post-op only when
// its other operand cannot enlarge the convolution's output.
//
// Each value gets a class: a root value whose batch and spatial dims it
// shares, a channel count, and whether its spatial dims are all 1 (a
// GlobalAveragePool of the root). A Conv that keeps the spatial size
// (stride 1, "same" padding) keeps its input's root with its own channel
// count; element-wise ops keep their input's class; everything else starts
// a class of its own. Two values in one class have the same shape. Strided
// convolutions of one input share a class when their geometry gives the
// same output size from any input size: ResNet's projection shortcut (1x1,
// stride 2, no padding) and its main path (3x3, stride 2, padding 1) both
// give floor((H - 1) / 2) + 1.
//
//   ShapeClasses classes(graph);
//   if (classes.fits_into(residual, conv_output)) ...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace ecoinfer::passes {

class ShapeClasses {
 public:
  explicit ShapeClasses(const ir::Graph& g);

  // True when `operand` has `x`'s shape, or `x`'s batch and channels with
  // every spatial dim 1, so it broadcasts into x without enlarging it.
  bool fits_into(ir::ValueId operand, ir::ValueId x) const;

 private:
  struct Class {
    ir::ValueId root = ir::kNoValue;
    int64_t channels = -1;  // -1: the root's own channel count
    int64_t rank = -1;      // -1: unknown
    bool pooled = false;    // every spatial dim is 1

    bool operator==(const Class&) const = default;
  };
  void visit(const ir::Graph& g, const ir::Node& n);
  // A constant that broadcasts into the class's shape: a scalar, or ones
  // but for the channel axis (known rank and channels only).
  static bool constant_fits(const Tensor* c, const Class& x);
  Class& of(ir::ValueId v) { return classes_[static_cast<size_t>(v)]; }

  std::vector<Class> classes_;
  // (input root, pooled, per spatial dim: stride and offset) -> the first
  // strided Conv output with that geometry, the class root of the others.
  std::map<std::vector<int64_t>, ir::ValueId> strided_roots_;
};

}  // namespace ecoinfer::passes
