// A request body held in memory that the tensors decoded from it may share.
// A binary input tensor (Triton's binary extension) whose bytes start on a
// 64-byte boundary of the body becomes a Tensor viewing them, with no copy;
// others are copied. The HTTP layer reads each body to an offset that puts
// the first binary tensor on such a boundary (it knows where the JSON ends
// from Inference-Header-Content-Length), so a 184 kB image is written once,
// by the kernel, into the memory the model reads.
//
//   RequestBody body = RequestBody::with_room(content_length, json_length);
//   read_exactly(socket, body.data(), body.size());
//   Tensor x = body.tensor_at(json_length, DataType::kFloat32, {1, 3, 48, 320});  // a view when aligned
#pragma once

#include <cstddef>
#include <string_view>

#include "ecoinfer/tensor.h"

namespace ecoinfer::serve::protocol {

class RequestBody {
 public:
  RequestBody() = default;
  // `size` bytes to fill (unspecified until then), placed so that byte `aligned_at` is 64-byte aligned.
  static RequestBody with_room(size_t size, size_t aligned_at = 0);
  static RequestBody copy_of(std::string_view bytes);

  char* data() { return size_ ? static_cast<char*>(storage_.raw_data()) + begin_ : nullptr; }
  std::string_view view() const {
    return size_ ? std::string_view(static_cast<const char*>(storage_.raw_data()) + begin_, size_) : std::string_view();
  }
  size_t size() const { return size_; }

  // The bytes [offset, offset + nbytes) as a tensor of `dtype` and `shape`
  // (nbytes = its size): a view sharing the body's memory when they start on
  // a 64-byte boundary (the engine's kernels may assume aligned tensors),
  // else a copy. The caller checks that the range lies inside the body.
  Tensor tensor_at(size_t offset, DataType dtype, Shape shape) const;

 private:
  Tensor storage_;  // kUInt8, 64-byte aligned, shared with the views
  size_t begin_ = 0;
  size_t size_ = 0;
};

}  // namespace ecoinfer::serve::protocol
