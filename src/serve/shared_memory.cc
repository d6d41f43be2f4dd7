#include "serve/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ecoinfer::serve {

Expected<std::shared_ptr<SharedMemoryRegion>> SharedMemoryRegion::map(SharedMemoryRegionInfo info) {
  if (info.byte_size == 0)
    return invalid_argument(fmt::format("shared memory region '{}': byte_size must be > 0", info.name));
  const int fd = shm_open(info.key.c_str(), O_RDWR, 0);
  if (fd < 0)
    return invalid_argument(fmt::format("shared memory region '{}': cannot open key '{}': {}; create it first "
                                        "(shm_open with O_CREAT, then ftruncate) on this host",
                                        info.name, info.key, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < 0 || info.offset > static_cast<size_t>(st.st_size) ||
      info.byte_size > static_cast<size_t>(st.st_size) - info.offset) {
    close(fd);
    return invalid_argument(fmt::format("shared memory region '{}': offset {} + byte_size {} is beyond the end of "
                                        "'{}' ({} bytes)", info.name, info.offset, info.byte_size, info.key,
                                        static_cast<long long>(st.st_size)));
  }
  // mmap wants a page-aligned file offset: map from the page holding `offset`.
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t start = info.offset / page * page;
  const size_t length = info.offset - start + info.byte_size;
  void* mapping = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(start));
  const int map_errno = errno;
  close(fd);  // the mapping keeps the segment
  if (mapping == MAP_FAILED)
    return invalid_argument(fmt::format("shared memory region '{}': cannot map '{}': {}", info.name, info.key,
                                        std::strerror(map_errno)));
  std::shared_ptr<SharedMemoryRegion> region(new SharedMemoryRegion());
  region->mapping_ = mapping;
  region->mapping_length_ = length;
  region->data_ = static_cast<std::byte*>(mapping) + (info.offset - start);
  region->info_ = std::move(info);
  return region;
}

SharedMemoryRegion::~SharedMemoryRegion() {
  if (mapping_) munmap(mapping_, mapping_length_);
}

Status SharedMemoryRegistry::register_region(SharedMemoryRegionInfo info) {
  {
    std::lock_guard lock(mutex_);
    if (regions_.count(info.name))
      return invalid_argument(fmt::format("shared memory region '{}' is already registered; unregister it first",
                                          info.name));
  }
  const std::string name = info.name;
  ECOINFER_ASSIGN_OR_RETURN(std::shared_ptr<SharedMemoryRegion> region, SharedMemoryRegion::map(std::move(info)));
  std::lock_guard lock(mutex_);
  // Mapped outside the lock; a racing registration of the same name loses here.
  if (!regions_.emplace(name, std::move(region)).second)
    return invalid_argument(fmt::format("shared memory region '{}' is already registered; unregister it first", name));
  return Status::ok();
}

void SharedMemoryRegistry::unregister(const std::string& name) {
  std::shared_ptr<SharedMemoryRegion> dropped;  // unmapped after the lock is released
  std::lock_guard lock(mutex_);
  if (auto it = regions_.find(name); it != regions_.end()) {
    dropped = std::move(it->second);
    regions_.erase(it);
  }
}

void SharedMemoryRegistry::unregister_all() {
  std::map<std::string, std::shared_ptr<SharedMemoryRegion>> dropped;
  std::lock_guard lock(mutex_);
  dropped.swap(regions_);
}

std::vector<SharedMemoryRegionInfo> SharedMemoryRegistry::status() const {
  std::lock_guard lock(mutex_);
  std::vector<SharedMemoryRegionInfo> out;
  for (const auto& [name, region] : regions_) out.push_back(region->info());
  return out;
}

std::shared_ptr<SharedMemoryRegion> SharedMemoryRegistry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = regions_.find(name);
  return it == regions_.end() ? nullptr : it->second;
}

Expected<SharedMemorySlice> SharedMemoryRegistry::slice(const std::string& name, size_t offset, size_t size) const {
  std::shared_ptr<SharedMemoryRegion> region = find(name);
  if (!region)
    return invalid_argument(fmt::format("no shared memory region '{}' is registered; register it with POST "
                                        "/v2/systemsharedmemory/region/{}/register", name, name));
  const size_t capacity = region->info().byte_size;
  if (offset > capacity || size > capacity - offset)
    return invalid_argument(fmt::format("shared memory region '{}' holds {} bytes: offset {} + byte size {} does "
                                        "not fit", name, capacity, offset, size));
  return SharedMemorySlice{std::move(region), offset, size};
}

}  // namespace ecoinfer::serve
