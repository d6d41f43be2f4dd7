// Client-registered POSIX shared memory regions (Triton's system shared
// memory extension): a client on the same host creates a segment
// (shm_open + ftruncate), registers part of it under a name, and then
// passes tensors through it instead of through the request and response
// bodies. Protocol-neutral: the REST layer (and a gRPC one later) parse
// the region parameters and use this registry.
//
//   SharedMemoryRegistry regions;
//   regions.register_region({"in", "/my_shm", 0, 1 << 20});
//   auto slice = regions.slice("in", 0, 4096);      // checks name and bounds
//   std::memcpy(dst, slice->data(), slice->size);   // the mapping lives while `slice` does
//   regions.unregister("in");                      // unmapped once no request holds it
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

struct SharedMemoryRegionInfo {
  std::string name;  // the client's name for the region
  std::string key;   // the shm_open name, e.g. "/input_shm"
  size_t offset = 0;     // where the region starts in the segment
  size_t byte_size = 0;  // the region's length
};

// One mapped region; munmap when the last holder lets go.
class SharedMemoryRegion {
 public:
  // shm_open(key) + mmap of [offset, offset + byte_size), read-write.
  static Expected<std::shared_ptr<SharedMemoryRegion>> map(SharedMemoryRegionInfo info);
  ~SharedMemoryRegion();
  SharedMemoryRegion(const SharedMemoryRegion&) = delete;
  SharedMemoryRegion& operator=(const SharedMemoryRegion&) = delete;

  const SharedMemoryRegionInfo& info() const { return info_; }
  std::byte* data() const { return data_; }  // byte 0 of the region (the segment's byte `offset`)

 private:
  SharedMemoryRegion() = default;
  SharedMemoryRegionInfo info_;
  void* mapping_ = nullptr;  // page-aligned start of the mapping
  size_t mapping_length_ = 0;
  std::byte* data_ = nullptr;
};

// `size` bytes at `offset` inside a region; holding it keeps the region mapped
// (a request in flight is safe from a concurrent unregister).
struct SharedMemorySlice {
  std::shared_ptr<SharedMemoryRegion> region;
  size_t offset = 0;
  size_t size = 0;
  std::byte* data() const { return region->data() + offset; }
};

// Thread-safe: front-end threads register and look up while workers write outputs.
class SharedMemoryRegistry {
 public:
  // Errors: a name already registered, a key shm_open cannot open, a range
  // beyond the segment's end.
  Status register_region(SharedMemoryRegionInfo info);
  // Unknown names are not an error (as in Triton): unregistering is idempotent.
  void unregister(const std::string& name);
  void unregister_all();
  std::vector<SharedMemoryRegionInfo> status() const;  // by name
  std::shared_ptr<SharedMemoryRegion> find(const std::string& name) const;  // null when unknown
  // Bytes [offset, offset + size) of region `name`; an error when it is not
  // registered or the range does not fit in it.
  Expected<SharedMemorySlice> slice(const std::string& name, size_t offset, size_t size) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<SharedMemoryRegion>> regions_;
};

}  // namespace ecoinfer::serve
