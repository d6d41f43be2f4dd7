// The kernel interface, after XNNPACK's operator lifecycle:
//   create  (once, at load: read attributes, pack constant weights)
//   compute (per run: derive output shapes from the actual inputs, write them)
// A kernel whose work depends on the input shape (a oneDNN primitive) keeps a
// per-shape cache inside itself, so the steady state creates nothing.
//
// compute() is const and must be safe to call from several threads at once
// (Session::run is concurrent): guard any cache with a mutex.
//
// Each op in src/ir/op_table.h has a factory:
//   Expected<std::unique_ptr<Kernel>> create_Relu(const KernelInfo& info);
// Bad attributes or unsupported variants are reported from the factory with
// a message that names the node (info.node().describe()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"
#include "ir/graph.h"
#include "ir/op_table.h"

namespace ecoinfer::kernels {

// What a kernel sees when it is created.
class KernelInfo {
 public:
  KernelInfo(const ir::Node& node, const ir::Graph& graph) : node_(node), graph_(graph) {}

  const ir::Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  size_t input_count() const { return node_.inputs.size(); }
  size_t output_count() const { return node_.outputs.size(); }
  // False for an omitted optional input ("" in the model) or one past the end.
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] != ir::kNoValue; }
  // The input's value when it is a constant (initializer or Constant node),
  // so weights can be packed once. nullptr otherwise.
  const Tensor* constant_input(size_t i) const {
    return has_input(i) ? graph_.constant(node_.inputs[i]) : nullptr;
  }
  // The declared element type of an input, kUndefined when not declared.
  DataType declared_input_type(size_t i) const;

  bool has_attr(const std::string& key) const { return node_.attribute(key) != nullptr; }
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key, std::vector<float> fallback = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;

  // "Conv node 'conv1' (opset 11): <message>" as an invalid-model Status.
  Status model_error(const std::string& message) const;
  Status unsupported(const std::string& message) const;

 private:
  const ir::Node& node_;
  const ir::Graph& graph_;
};

// What a kernel sees when it runs.
class KernelContext {
 public:
  KernelContext(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs, int threads,
                const std::vector<bool>* may_alias = nullptr)
      : inputs_(inputs), outputs_(outputs), threads_(threads), may_alias_(may_alias) {}

  size_t input_count() const { return inputs_.size(); }
  // nullptr for an omitted optional input.
  const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  size_t output_count() const { return outputs_.size(); }
  // Gives output i the type and shape and returns it for writing. Reuses the
  // buffer from the previous run when it is large enough. Always returns a
  // valid tensor, even for an output the graph does not use.
  Tensor* output(size_t i, DataType dtype, Shape shape);
  // Makes output i share `value`'s buffer (no copy): for Reshape, Identity,
  // Squeeze and the like. `value` must not be written afterwards. When the
  // memory plan gave this output its own region (it did not alias when the
  // plan was made), the data is copied there instead, so the plan holds.
  void alias_output(size_t i, const Tensor& value);
  // As alias_output, but for writing: output i takes over input `value`'s
  // buffer, holding its data, and the kernel updates it in place (a Conv
  // adding its residual, passes/accumulate_in_place.cc). Only for a value
  // no later node reads; with a copy when the plan gave the output its own
  // region.
  Tensor* overwrite_input(size_t i, const Tensor& value);
  int threads() const { return threads_; }

 private:
  const std::vector<const Tensor*>& inputs_;
  std::vector<Tensor*>& outputs_;
  int threads_;
  const std::vector<bool>* may_alias_;  // per output; nullptr: every output may alias
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status compute(KernelContext& ctx) const = 0;
  // True when the kernel keeps constant input i in a form of its own
  // (packed weights) and never reads its bytes from the KernelContext: the
  // session then drops the plain tensor when no other reader needs it, and
  // the kernel sees an empty tensor in that input.
  virtual bool owns_constant_input(size_t /*i*/) const { return false; }
};

using KernelFactory = Expected<std::unique_ptr<Kernel>> (*)(const KernelInfo&);

#define ECOINFER_DECLARE_FACTORY(op) \
  Expected<std::unique_ptr<Kernel>> create_##op(const KernelInfo& info);
ECOINFER_OPS(ECOINFER_DECLARE_FACTORY)
#undef ECOINFER_DECLARE_FACTORY

// nullptr when the op is not in the op table (or not in the default domain).
KernelFactory find_kernel_factory(const std::string& domain, const std::string& op_type);
// Every op type in the op table, sorted.
const std::vector<std::string>& supported_op_types();

// Wraps a function object as a Kernel: for kernels with no state beyond
// what the lambda captures.
template <class F>
class LambdaKernel final : public Kernel {
 public:
  explicit LambdaKernel(F f) : f_(std::move(f)) {}
  Status compute(KernelContext& ctx) const override { return f_(ctx); }

 private:
  F f_;
};
template <class F>
std::unique_ptr<Kernel> make_kernel(F f) {
  return std::make_unique<LambdaKernel<F>>(std::move(f));
}

}  // namespace ecoinfer::kernels
