#include "serve/protocol/request_body.h"

#include <cstdint>
#include <cstring>

namespace ecoinfer::serve::protocol {
namespace {

constexpr size_t kAlignment = 64;  // Tensor's own alignment

}  // namespace

RequestBody RequestBody::with_room(size_t size, size_t aligned_at) {
  RequestBody body;
  // Tensor storage starts 64-byte aligned: start the body `pad` bytes in so
  // that `begin_ + aligned_at` is a multiple of 64.
  const size_t pad = (kAlignment - aligned_at % kAlignment) % kAlignment;
  // resize() on an empty Tensor allocates without zero-filling: the reader overwrites it all.
  body.storage_.resize(DataType::kUInt8, {static_cast<int64_t>(size + pad)});
  body.begin_ = pad;
  body.size_ = size;
  return body;
}

RequestBody RequestBody::copy_of(std::string_view bytes) {
  RequestBody body = with_room(bytes.size());
  if (!bytes.empty()) std::memcpy(body.data(), bytes.data(), bytes.size());
  return body;
}

Tensor RequestBody::tensor_at(size_t offset, DataType dtype, Shape shape) const {
  const size_t start = begin_ + offset;
  const auto address = reinterpret_cast<uintptr_t>(storage_.raw_data()) + start;
  if (address % kAlignment == 0 && size_ > 0) {
    Tensor shared = Tensor::arena_region(storage_, start, size_ - offset);
    shared.resize(dtype, std::move(shape));  // keeps the region: it is large enough
    return shared.reshaped(shared.shape());  // a plain view from here on: never resized in place
  }
  Tensor copy = Tensor::zeros(dtype, std::move(shape));
  if (copy.nbytes() > 0) std::memcpy(copy.raw_data(), view().data() + offset, copy.nbytes());
  return copy;
}

}  // namespace ecoinfer::serve::protocol
