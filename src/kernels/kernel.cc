#include "kernels/kernel.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>

namespace ecoinfer::kernels {

DataType KernelInfo::declared_input_type(size_t i) const {
  if (!has_input(i)) return DataType::kUndefined;
  return graph_.values[static_cast<size_t>(node_.inputs[i])].info.dtype;
}

int64_t KernelInfo::attr_int(const std::string& key, int64_t fallback) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kInt ? a->i : fallback;
}

float KernelInfo::attr_float(const std::string& key, float fallback) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kFloat ? a->f : fallback;
}

std::string KernelInfo::attr_string(const std::string& key, const std::string& fallback) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kString ? a->s : fallback;
}

std::vector<int64_t> KernelInfo::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kInts ? a->ints : fallback;
}

std::vector<float> KernelInfo::attr_floats(const std::string& key, std::vector<float> fallback) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kFloats ? a->floats : fallback;
}

const Tensor* KernelInfo::attr_tensor(const std::string& key) const {
  const ir::Attribute* a = node_.attribute(key);
  return a && a->kind == ir::Attribute::Kind::kTensor ? &a->t : nullptr;
}

Status KernelInfo::model_error(const std::string& message) const {
  return invalid_model(fmt::format("{}: {}", node_.describe(), message));
}

Status KernelInfo::unsupported(const std::string& message) const {
  return unimplemented(fmt::format("{}: {}", node_.describe(), message));
}

Tensor* KernelContext::output(size_t i, DataType dtype, Shape shape) {
  Tensor* t = outputs_[i];
  t->resize(dtype, std::move(shape));
  return t;
}

void KernelContext::alias_output(size_t i, const Tensor& value) {
  if (may_alias_ == nullptr || (*may_alias_)[i]) {
    *outputs_[i] = value.reshaped(value.shape());  // a read view: never resized in place
    return;
  }
  Tensor* out = output(i, value.dtype(), value.shape());
  if (value.nbytes()) std::memcpy(out->raw_data(), value.raw_data(), value.nbytes());
}

Tensor* KernelContext::overwrite_input(size_t i, const Tensor& value) {
  alias_output(i, value);
  return outputs_[i];
}

#define ECOINFER_DECLARE_INTERNAL_FACTORY(op) \
  Expected<std::unique_ptr<Kernel>> create_##op(const KernelInfo& info);
ECOINFER_INTERNAL_OPS(ECOINFER_DECLARE_INTERNAL_FACTORY)
#undef ECOINFER_DECLARE_INTERNAL_FACTORY

namespace {
// Ops the graph passes create, in the domain "com.ecoinfer" only.
const std::map<std::string, KernelFactory>& internal_registry() {
  static const std::map<std::string, KernelFactory> table = {
#define ECOINFER_REGISTER(op) {#op, &create_##op},
      ECOINFER_INTERNAL_OPS(ECOINFER_REGISTER)
#undef ECOINFER_REGISTER
  };
  return table;
}

const std::map<std::string, KernelFactory>& registry() {
  static const std::map<std::string, KernelFactory> table = {
#define ECOINFER_REGISTER(op) {#op, &create_##op},
      ECOINFER_OPS(ECOINFER_REGISTER)
#undef ECOINFER_REGISTER
  };
  return table;
}
}  // namespace

KernelFactory find_kernel_factory(const std::string& domain, const std::string& op_type) {
  if (domain == "com.ecoinfer") {
    auto it = internal_registry().find(op_type);
    return it == internal_registry().end() ? nullptr : it->second;
  }
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  auto it = registry().find(op_type);
  return it == registry().end() ? nullptr : it->second;
}

const std::vector<std::string>& supported_op_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, factory] : registry()) v.push_back(name);
    return v;
  }();
  return names;
}

}  // namespace ecoinfer::kernels
