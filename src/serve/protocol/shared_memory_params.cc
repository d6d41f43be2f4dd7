#include "serve/protocol/shared_memory_params.h"

#include <cstring>

#include <fmt/format.h>

#include "serve/protocol/binary_bytes.h"

namespace ecoinfer::serve::protocol {
namespace {

// An integer parameter >= 0, or nullopt when absent.
Expected<std::optional<size_t>> size_parameter(const Parameters& params, const char* key, std::string_view what) {
  auto it = params.find(key);
  if (it == params.end()) return std::optional<size_t>();
  const int64_t* v = std::get_if<int64_t>(&it->second);
  if (!v || *v < 0) return invalid_argument(fmt::format("{}: {} must be an integer >= 0", what, key));
  return std::optional<size_t>(static_cast<size_t>(*v));
}

}  // namespace

Expected<std::optional<SharedMemorySlice>> shared_memory_slice(const Parameters& params,
                                                              const SharedMemoryRegistry* registry,
                                                              std::string_view what) {
  auto region = params.find(kSharedMemoryRegion);
  ECOINFER_ASSIGN_OR_RETURN(std::optional<size_t> byte_size, size_parameter(params, kSharedMemoryByteSize, what));
  ECOINFER_ASSIGN_OR_RETURN(std::optional<size_t> offset, size_parameter(params, kSharedMemoryOffset, what));
  if (region == params.end() && !byte_size && !offset) return std::optional<SharedMemorySlice>();
  const std::string* name = region == params.end() ? nullptr : std::get_if<std::string>(&region->second);
  if (!name || !byte_size)
    return invalid_argument(fmt::format("{}: shared memory needs both {} (a string) and {} (an integer)", what,
                                        kSharedMemoryRegion, kSharedMemoryByteSize));
  if (!registry) return invalid_argument(fmt::format("{}: this server does not accept shared memory", what));
  auto slice = registry->slice(*name, offset.value_or(0), *byte_size);
  if (!slice) return invalid_argument(fmt::format("{}: {}", what, slice.status().message()));
  return std::optional<SharedMemorySlice>(std::move(*slice));
}

size_t shared_memory_bytes(const NamedTensor& t) { return t.tensor.nbytes(); }

size_t shared_memory_bytes(const BytesTensor& b) {
  size_t size = 0;
  for (const std::string& e : b.elements) size += kBinaryElementPrefix + e.size();
  return size;
}

namespace {

Status check_fits(const std::string& name, size_t needed, const SharedMemorySlice& slice) {
  if (needed <= slice.size) return Status::ok();
  return invalid_argument(fmt::format("output '{}' needs {} bytes but its shared memory region '{}' gives {} "
                                      "(shared_memory_byte_size); register a larger region",
                                      name, needed, slice.region->info().name, slice.size));
}

}  // namespace

Status write_shared_memory_outputs(const InferenceResponse& response, const std::vector<RequestedOutput>& outputs) {
  // Every size is checked before anything is written: a failed request leaves the regions as they were.
  for (const RequestedOutput& o : outputs) {
    if (!o.shared_memory) continue;
    for (const NamedTensor& t : response.outputs)
      if (t.name == o.name) ECOINFER_RETURN_IF_ERROR(check_fits(o.name, shared_memory_bytes(t), *o.shared_memory));
    for (const BytesTensor& b : response.bytes_outputs)
      if (b.name == o.name) ECOINFER_RETURN_IF_ERROR(check_fits(o.name, shared_memory_bytes(b), *o.shared_memory));
  }
  for (const RequestedOutput& o : outputs) {
    if (!o.shared_memory) continue;
    for (const NamedTensor& t : response.outputs)
      if (t.name == o.name && t.tensor.nbytes() > 0 && t.tensor.raw_data() != o.shared_memory->data())  // not there already
        std::memcpy(o.shared_memory->data(), t.tensor.raw_data(), t.tensor.nbytes());
    for (const BytesTensor& b : response.bytes_outputs) {
      if (b.name != o.name) continue;
      std::string binary;
      binary.reserve(shared_memory_bytes(b));
      for (const std::string& e : b.elements) append_binary_element(binary, e);
      std::memcpy(o.shared_memory->data(), binary.data(), binary.size());
    }
  }
  return Status::ok();
}

}  // namespace ecoinfer::serve::protocol
