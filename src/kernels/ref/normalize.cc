// PLACEHOLDER: replaced by the real kernels of this family.
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_Softmax(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_LogSoftmax(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_LayerNormalization(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_BatchNormalization(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_InstanceNormalization(const KernelInfo& info) { return info.unsupported("not implemented yet"); }

}  // namespace ecoinfer::kernels
