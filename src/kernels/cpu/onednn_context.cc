#include "kernels/cpu/onednn_context.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <memory>

namespace ecoinfer::kernels::onednn {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::mutex& creation_mutex() {
  static std::mutex mutex;
  return mutex;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

namespace {
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
struct ScratchBuffer {
  std::unique_ptr<void, AlignedFree> data;
  size_t size = 0;
};

// The buffer's memory, at least `need` bytes.
void* grow(ScratchBuffer& buffer, size_t need) {
  if (need > buffer.size) {
    // Round up to a 64-byte multiple, as aligned_alloc requires.
    const size_t bytes = (need + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    buffer.data.reset(p);
    buffer.size = bytes;
  }
  return buffer.data.get();
}
}  // namespace

dnnl::memory thread_scratchpad(const dnnl::memory::desc& desc) {
  thread_local ScratchBuffer buffer;
  const size_t need = desc.get_size();
  return dnnl::memory(desc, cpu_engine(), need == 0 ? nullptr : grow(buffer, need));
}

char* thread_workspace(size_t bytes) {
  thread_local ScratchBuffer buffer;
  return bytes == 0 ? nullptr : static_cast<char*>(grow(buffer, bytes));
}

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory::dims dense_strides(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<dnnl::memory::dim>(dims[i], 1);
  return strides;
}

dnnl::memory::desc channels_last_f32(const dnnl::memory::dims& dims) {
  // Strides in memory order N, spatial..., C (innermost).
  const size_t rank = dims.size();
  dnnl::memory::dims strides(rank, 1);
  if (rank < 3) return plain_f32(dims);
  dnnl::memory::dim step = std::max<dnnl::memory::dim>(dims[1], 1);
  strides[1] = 1;
  for (size_t i = rank; i-- > 2;) {
    strides[i] = step;
    step *= std::max<dnnl::memory::dim>(dims[i], 1);
  }
  strides[0] = step;
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

bool layouts_coincide(const dnnl::memory::dims& dims) {
  if (dims.size() >= 2 && dims[1] == 1) return true;
  for (size_t i = 2; i < dims.size(); ++i)
    if (dims[i] != 1) return false;
  return true;
}

}  // namespace ecoinfer::kernels::onednn
