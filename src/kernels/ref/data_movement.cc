// PLACEHOLDER: replaced by the real kernels of this family.
#include "kernels/kernel.h"

namespace ecoinfer::kernels {

Expected<std::unique_ptr<Kernel>> create_Transpose(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Concat(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Split(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Slice(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Gather(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Pad(const KernelInfo& info) { return info.unsupported("not implemented yet"); }
Expected<std::unique_ptr<Kernel>> create_Tile(const KernelInfo& info) { return info.unsupported("not implemented yet"); }

}  // namespace ecoinfer::kernels
