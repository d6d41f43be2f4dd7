// PLACEHOLDER: replaced by the real kernels of this family.
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_Conv(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_ConvTranspose(const KernelInfo& info) { return info.unsupported("not implemented yet"); }

}  // namespace ecoinfer::kernels
