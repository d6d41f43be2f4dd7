// PLACEHOLDER: replaced by the real kernels of this family.
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_Relu(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_LeakyRelu(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Sigmoid(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_HardSigmoid(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_HardSwish(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Tanh(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Erf(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Gelu(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Exp(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Log(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Sqrt(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Neg(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Reciprocal(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Abs(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Not(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Clip(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Cast(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Floor(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Ceil(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Softplus(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Elu(const KernelInfo& info) { return info.unsupported("not implemented yet"); }

}  // namespace ecoinfer::kernels
