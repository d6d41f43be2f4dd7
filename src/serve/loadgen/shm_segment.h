// A POSIX shared memory segment created by a client (shm_open with O_CREAT |
// O_EXCL, ftruncate, mmap), as a Triton client does before registering it
// with a server's system shared memory extension. The name is removed from
// /dev/shm when the object goes away, or earlier with unlink(): once a server
// has mapped the segment, both mappings outlive the name, so unlinking right
// after registration leaves nothing behind even if the client is killed.
//
//   auto seg = ShmSegment::create("/ecoinfer_loadgen_123_in", 1 << 20);
//   if (!seg) { ... seg.status().message() ... }
//   std::memcpy(seg->data(), bytes, n);
#pragma once

#include <cstddef>
#include <string>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

class ShmSegment {
 public:
  // Fails when the name exists already or the system refuses the size.
  static Expected<ShmSegment> create(std::string key, size_t size);
  ShmSegment() = default;
  ~ShmSegment();
  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&& other) noexcept;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  const std::string& key() const { return key_; }
  size_t size() const { return size_; }
  std::byte* data() const { return data_; }
  // Removes the name; this mapping (and a server's) stay valid.
  void unlink();

 private:
  void release();
  std::string key_;
  size_t size_ = 0;
  std::byte* data_ = nullptr;
  bool linked_ = false;
};

}  // namespace ecoinfer::serve
