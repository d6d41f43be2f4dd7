// The system shared memory extension's tensor parameters, shared by the
// REST layer (and a gRPC one later): an input or requested output with
// "shared_memory_region", "shared_memory_byte_size" and optionally
// "shared_memory_offset" has its bytes in a registered region instead of
// in the message.
//
//   auto slice = shared_memory_slice(params, &registry, "input 'x'");   // nullopt: not in shared memory
//   Status s = write_shared_memory_outputs(response, request.outputs); // after inference
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "ecoinfer/status.h"
#include "serve/inference_request.h"
#include "serve/shared_memory.h"

namespace ecoinfer::serve::protocol {

inline constexpr const char* kSharedMemoryRegion = "shared_memory_region";
inline constexpr const char* kSharedMemoryByteSize = "shared_memory_byte_size";
inline constexpr const char* kSharedMemoryOffset = "shared_memory_offset";

// nullopt when `params` name no region; an error when they are incomplete,
// the region is unknown (`registry` may be null: none) or the range does not fit.
// `what` names the tensor in messages ("input 'x'").
Expected<std::optional<SharedMemorySlice>> shared_memory_slice(const Parameters& params,
                                                              const SharedMemoryRegistry* registry,
                                                              std::string_view what);

// Copies each output that `outputs` places in shared memory into its slice
// (numeric: the raw bytes; BYTES: Triton's binary form). An error names the
// output and the bytes it needs when its slice is too small.
Status write_shared_memory_outputs(const InferenceResponse& response, const std::vector<RequestedOutput>& outputs);

// Bytes a response output occupies in shared memory.
size_t shared_memory_bytes(const NamedTensor& t);
size_t shared_memory_bytes(const BytesTensor& b);

}  // namespace ecoinfer::serve::protocol
