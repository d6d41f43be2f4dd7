#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack: no allocation per key
#include "serve/cache/cache_key.h"

#include <algorithm>
#include <numeric>

#include <xxhash.h>

namespace ecoinfer::serve {
namespace {

class Hasher {
 public:
  Hasher() { XXH3_64bits_reset(&state_); }
  void bytes(const void* data, size_t size) {
    number(size);
    if (size > 0) XXH3_64bits_update(&state_, data, size);
  }
  void text(std::string_view s) { bytes(s.data(), s.size()); }
  void number(uint64_t v) { XXH3_64bits_update(&state_, &v, sizeof v); }
  uint64_t digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace

uint64_t response_cache_key(std::string_view model, std::string_view version,
                            const std::vector<std::string>& requested_outputs,
                            const std::vector<NamedTensor>& inputs,
                            const std::vector<BytesTensor>& bytes_inputs) {
  Hasher h;
  h.text(model);
  h.text(version);
  h.number(requested_outputs.size());
  for (const std::string& name : requested_outputs) h.text(name);
  std::vector<size_t> by_name(inputs.size());
  std::iota(by_name.begin(), by_name.end(), 0);
  std::sort(by_name.begin(), by_name.end(), [&](size_t a, size_t b) { return inputs[a].name < inputs[b].name; });
  h.number(inputs.size());
  for (size_t i : by_name) {
    const Tensor& t = inputs[i].tensor;
    h.text(inputs[i].name);
    h.number(static_cast<uint64_t>(t.dtype()));
    h.bytes(t.shape().data(), t.shape().size() * sizeof(int64_t));
    h.bytes(t.raw_data(), t.defined() ? t.nbytes() : 0);
  }
  if (bytes_inputs.empty()) return h.digest();
  std::vector<const BytesTensor*> bytes_by_name;
  for (const BytesTensor& b : bytes_inputs) bytes_by_name.push_back(&b);
  std::sort(bytes_by_name.begin(), bytes_by_name.end(),
            [](const BytesTensor* a, const BytesTensor* b) { return a->name < b->name; });
  h.number(bytes_inputs.size());
  for (const BytesTensor* b : bytes_by_name) {
    h.text(b->name);
    h.number(static_cast<uint64_t>(DataType::kString));
    h.bytes(b->shape.data(), b->shape.size() * sizeof(int64_t));
    h.number(b->elements.size());
    for (const std::string& e : b->elements) h.text(e);
  }
  return h.digest();
}

}  // namespace ecoinfer::serve
