#include "ocr/model_input_recorder.h"

#include <fmt/format.h>
#include <xxhash.h>

#include "ecoinfer/session.h"

namespace ecoinfer::ocr {
namespace fs = std::filesystem;
namespace {

// The shape is hashed too: equal bytes in another shape are another sample.
uint64_t content_hash(const Tensor& t) {
  const Shape& shape = t.shape();
  const uint64_t seed = XXH3_64bits(shape.data(), shape.size() * sizeof(shape[0]));
  return XXH3_64bits_withSeed(t.raw_data(), t.nbytes(), seed);
}

}  // namespace

Status ModelInputRecorder::save(const std::string& model, const std::string& input, const Tensor& tensor) {
  const fs::path folder = dir_ / model / input;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return io_error(fmt::format("cannot create {} for the model inputs: {}", folder.string(), ec.message()));
  ECOINFER_RETURN_IF_ERROR(write_npy(folder / fmt::format("{:016x}.npy", content_hash(tensor)), tensor));
  std::lock_guard lock(mutex_);
  ++saved_;
  return Status::ok();
}

int ModelInputRecorder::saved() const {
  std::lock_guard lock(mutex_);
  return saved_;
}

}  // namespace ecoinfer::ocr
