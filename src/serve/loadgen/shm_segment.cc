#include "serve/loadgen/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace ecoinfer::serve {

Expected<ShmSegment> ShmSegment::create(std::string key, size_t size) {
  const int fd = shm_open(key.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return io_error(fmt::format("cannot create shared memory segment '{}': {}", key, std::strerror(errno)));
  ShmSegment segment;
  segment.key_ = std::move(key);
  segment.linked_ = true;  // from here on the destructor removes the name
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    close(fd);
    return io_error(fmt::format("cannot size shared memory segment '{}' to {} bytes: {} (is /dev/shm full?)",
                                segment.key_, size, std::strerror(err)));
  }
  void* mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  close(fd);
  if (mapping == MAP_FAILED)
    return io_error(fmt::format("cannot map shared memory segment '{}': {}", segment.key_, std::strerror(err)));
  segment.data_ = static_cast<std::byte*>(mapping);
  segment.size_ = size;
  return segment;
}

void ShmSegment::unlink() {
  if (linked_) shm_unlink(key_.c_str());
  linked_ = false;
}

void ShmSegment::release() {
  if (data_) munmap(data_, size_);
  unlink();
  data_ = nullptr;
  size_ = 0;
}

ShmSegment::~ShmSegment() { release(); }

ShmSegment::ShmSegment(ShmSegment&& other) noexcept
    : key_(std::move(other.key_)),
      size_(std::exchange(other.size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      linked_(std::exchange(other.linked_, false)) {}

ShmSegment& ShmSegment::operator=(ShmSegment&& other) noexcept {
  if (this != &other) {
    release();
    key_ = std::move(other.key_);
    size_ = std::exchange(other.size_, 0);
    data_ = std::exchange(other.data_, nullptr);
    linked_ = std::exchange(other.linked_, false);
  }
  return *this;
}

}  // namespace ecoinfer::serve
