// PLACEHOLDER: replaced by the real kernels of this family.
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_ReduceMean(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ReduceSum(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ReduceMax(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ReduceMin(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ReduceProd(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ArgMax(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ArgMin(const KernelInfo& info) { return info.unsupported("not implemented yet"); }

}  // namespace ecoinfer::kernels
