// Shared oneDNN plumbing for the CPU kernels: one engine for the process, a
// stream per calling thread, a per-thread scratchpad, and the conversion of
// dnnl::error into Status at the kernel boundary.
//
//   return onednn::guard(info_description, [&]() -> Status {
//     dnnl::memory src(desc, onednn::cpu_engine(), ptr);
//     prim.execute(onednn::thread_stream(), {{DNNL_ARG_SRC, src}, ...});
//     return Status::ok();
//   });
//
// Primitives are created with scratchpad_mode::user (see scratchpad_attr())
// so that two threads running one cached primitive at once never share its
// scratch memory: each thread hands in its own buffer, grown once and reused.
#pragma once

#include <cstddef>
#include <exception>
#include <mutex>
#include <string>

#include <dnnl.hpp>
#include <fmt/format.h>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"

namespace ecoinfer::kernels::onednn {

// oneDNN's element type for the engine's: u8, s8, s32; f32 for the rest
// (callers convert other types before they reach a primitive).
inline dnnl::memory::data_type onednn_type(DataType t) {
  switch (t) {
    case DataType::kUInt8: return dnnl::memory::data_type::u8;
    case DataType::kInt8: return dnnl::memory::data_type::s8;
    case DataType::kInt32: return dnnl::memory::data_type::s32;
    default: return dnnl::memory::data_type::f32;
  }
}

// The process-wide CPU engine (created on first use).
const dnnl::engine& cpu_engine();
// This thread's stream on cpu_engine(); streams are not safe to share.
dnnl::stream& thread_stream();
// This thread's scratchpad memory for a primitive that asks for `desc`:
// a buffer that only grows, so the steady state allocates nothing.
dnnl::memory thread_scratchpad(const dnnl::memory::desc& desc);
// The process-wide lock under which every primitive (and packed weights) is
// created: ShapeCache::get holds it around make(). oneDNN 2.6 is not safe
// creating primitives on several threads at once: its brgemm convolution
// keeps the weights' VNNI granularity of the one being created in a static
// (brg_blocking_t::last_ic_block_size: 4 for int8, 1 for f32, fixed in
// oneDNN 2.7), so a float32 convolution created while an int8 one is created
// on another thread can be configured with the other's value and compute
// wrong results for good (tests/core/concurrent_creation_test.cc). Running
// primitives stays concurrent.
std::mutex& creation_mutex();
// Attributes every primitive here starts from (user scratchpad).
dnnl::primitive_attr scratchpad_attr();
// This thread's working buffer for staged copies (a tensor reordered into
// the layout a primitive takes): at least `bytes`, 64-byte aligned, grown
// only, separate from the scratchpad's buffer. Valid until the next call.
char* thread_workspace(size_t bytes);

inline dnnl::memory::dims to_dims(const Shape& shape) { return dnnl::memory::dims(shape.begin(), shape.end()); }
// Dense row-major strides for `dims`.
dnnl::memory::dims dense_strides(const dnnl::memory::dims& dims);
// A plain (row-major) f32 descriptor.
inline dnnl::memory::desc plain_f32(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dense_strides(dims));
}
// Channels-last f32 descriptor of logical N x C x spatial... dims: memory
// order N, spatial..., C (nwc, nhwc, ndhwc).
dnnl::memory::desc channels_last_f32(const dnnl::memory::dims& dims);
// Plain or channels-last.
inline dnnl::memory::desc f32_desc(const dnnl::memory::dims& dims, bool channels_last) {
  return channels_last ? channels_last_f32(dims) : plain_f32(dims);
}
// True when plain and channels-last order put the elements at the same
// offsets (every spatial dim is 1), so no reorder is ever needed between them.
bool layouts_coincide(const dnnl::memory::dims& dims);

// Runs `f`, turning a dnnl::error or other exception into a Status that
// names `who` (the node), so no exception leaves a kernel.
template <class F>
Status guard(const std::string& who, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    return internal_error(fmt::format("{}: oneDNN failed: {} (status {})", who, e.what(), static_cast<int>(e.status)));
  } catch (const std::exception& e) {
    return internal_error(fmt::format("{}: {}", who, e.what()));
  }
}

}  // namespace ecoinfer::kernels::onednn
