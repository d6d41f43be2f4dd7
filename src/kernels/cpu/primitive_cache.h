// Per-input-shape caches for oneDNN kernels (XNNPACK's "reshape" step):
// the first run of a shape builds its primitive (and packs constant weights
// into the layout that primitive chose); every later run of that shape only
// looks it up. Thread-safe: lookups take a shared lock, creation a unique one.
//
//   ShapeCache<ConvPlan> cache;
//   auto plan = cache.get(shape_key({x.shape()}), [&]() -> Expected<std::shared_ptr<const ConvPlan>> {...});
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include <malloc.h>

#include <dnnl.hpp>

#include "ecoinfer/status.h"
#include "ecoinfer/tensor.h"
#include "kernels/cpu/onednn_context.h"

namespace ecoinfer::kernels::onednn {

using ShapeKey = std::vector<int64_t>;

// One key from several shapes (each prefixed with its rank, so {2},{3,4}
// and {2,3},{4} differ). An absent input counts as rank -1.
inline ShapeKey shape_key(const std::vector<const Shape*>& shapes) {
  ShapeKey key;
  for (const Shape* s : shapes) {
    if (s == nullptr) {
      key.push_back(-1);
      continue;
    }
    key.push_back(static_cast<int64_t>(s->size()));
    key.insert(key.end(), s->begin(), s->end());
  }
  return key;
}

template <class Entry>
class ShapeCache {
 public:
  using EntryPtr = std::shared_ptr<const Entry>;

  // The entry for `key`; calls make() (under the cache's exclusive lock, so
  // make() may touch state that only creation uses, like PackedWeights, and
  // under creation_mutex(), so no two primitives in the process are created
  // at once) on the first request for that key. A failed make() is not cached.
  template <class Make>
  Expected<EntryPtr> get(const ShapeKey& key, Make&& make) const {
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end()) return it->second;
    }
    std::unique_lock<std::shared_mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    Expected<EntryPtr> made = [&] {
      std::lock_guard<std::mutex> creating(creation_mutex());
      return make();
    }();
    if (!made) return made;
    // Bounded, so a model fed ever-new shapes (OCR line widths) does not
    // grow without limit; an evicted plan in use elsewhere lives on through
    // its shared_ptr until that run ends.
    if (entries_.size() >= kMaxEntries) {
      entries_.erase(order_.front());
      order_.erase(order_.begin());
    }
    entries_.emplace(key, *made);
    order_.push_back(key);
    return made;
  }

  size_t size() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::shared_mutex mutex_;
  static constexpr size_t kMaxEntries = 128;
  mutable std::map<ShapeKey, EntryPtr> entries_;
  mutable std::vector<ShapeKey> order_;  // insertion order, for eviction
};

// Constant weights held once, in packed form. The plain tensor is kept only
// until the first primitive asks for its layout: the weights are packed
// into it (or, when that layout is the plain one, the plain buffer is
// adopted as is) and the plain tensor is let go, so a model's weights are
// not in memory twice. Primitives for later shapes ask for preferred()
// first; a layout oneDNN insists on is derived from the packed copy, never
// from the plain one (which may be gone), and kept beside it.
// Not thread-safe on its own: use it from inside a ShapeCache::get make()
// callback, which holds the cache's lock.
//
//   PackedWeights packed;
//   packed.hold(const_b, plain_desc);          // at kernel creation
//   dnnl::memory w = packed.get(pd.weights_desc());  // in make()
class PackedWeights {
 public:
  // `plain` (constant weights as the model stores them) described by
  // `plain_desc`; an undefined tensor leaves the object empty.
  void hold(Tensor plain, const dnnl::memory::desc& plain_desc) {
    holds_ = plain.defined();
    plain_ = std::move(plain);
    plain_desc_ = plain_desc;
  }
  bool holds() const { return holds_; }
  // The layout the first request chose (a zero desc before any).
  dnnl::memory::desc preferred() const { return layouts_.empty() ? dnnl::memory::desc() : layouts_.front().first; }
  // The weights in `wanted`'s layout (dims and type as plain_desc, or any
  // layout oneDNN can reorder the packed copy into).
  dnnl::memory get(const dnnl::memory::desc& wanted) {
    for (const auto& [desc, mem] : layouts_) {
      if (desc == wanted) return mem;
    }
    dnnl::memory made = layouts_.empty() ? pack_from_plain(wanted) : derive(wanted);
    layouts_.emplace_back(wanted, made);
    return made;
  }
  size_t layouts() const { return layouts_.size(); }
  // True while the plain tensor is still referenced from here (before the
  // first get(), or when the packed layout is the plain one).
  bool keeps_plain() const { return plain_.defined(); }

 private:
  dnnl::memory pack_from_plain(const dnnl::memory::desc& wanted) {
    dnnl::memory plain(plain_desc_, cpu_engine(), plain_.raw_data());
    if (wanted == plain_desc_) return plain;  // adopted: plain_ stays, as the only copy
    dnnl::memory packed = reorder_into(plain, wanted);
    // A Winograd layout is no reorder source (oneDNN reorders only into
    // it): keep the plain tensor to derive later shapes' layouts from. Only
    // convolutions ask for it, and they hold the plain weights anyway.
    if (is_winograd(wanted)) return packed;
    plain_ = Tensor();
    // The plain bytes sit in the middle of the heap (glibc serves these
    // sizes from it once its mmap threshold has grown): hand their pages
    // back now, or the process keeps them and peaks at plain + packed
    // (BERT-base: 657 MiB instead of 524).
    malloc_trim(0);
    return packed;
  }
  // A further layout, from the first packed one. int8 weights may carry
  // oneDNN's zero-point compensation after their data, which no reorder
  // takes as a source: the data part is read without it. Where oneDNN has
  // no direct reorder between two blocked layouts, the weights pass
  // through a temporary plain copy (freed on return).
  dnnl::memory derive(const dnnl::memory::desc& wanted) {
    const auto& [first_desc, first] = layouts_.front();
    if (is_winograd(first_desc)) return reorder_into(dnnl::memory(plain_desc_, cpu_engine(), plain_.raw_data()), wanted);
    dnnl::memory::desc data_only = first_desc;
    data_only.data.extra = dnnl_memory_extra_desc_t{};
    dnnl::memory source(data_only, cpu_engine(), first.get_data_handle());
    try {
      return reorder_into(source, wanted);
    } catch (const dnnl::error&) {
      const dnnl::memory::desc plain_desc(plain_desc_.dims(), first_desc.data_type(), dense_strides(plain_desc_.dims()));
      dnnl::memory plain = reorder_into(source, plain_desc);
      return reorder_into(plain, wanted);
    }
  }
  static bool is_winograd(const dnnl::memory::desc& d) { return d.data.format_kind == dnnl_format_kind_wino; }
  static dnnl::memory reorder_into(const dnnl::memory& from, const dnnl::memory::desc& wanted) {
    dnnl::memory to(wanted, cpu_engine());
    dnnl::reorder(from, to).execute(thread_stream(), const_cast<dnnl::memory&>(from), to);
    thread_stream().wait();
    return to;
  }

  bool holds_ = false;
  Tensor plain_;  // until packed; kept when the packed layout is the plain one
  dnnl::memory::desc plain_desc_;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> layouts_;  // front(): preferred()
};

// The primitive descriptor on the weights layout `packed` already holds,
// when oneDNN runs that with the same implementation as on its own choice
// `chosen` (so no second packed copy is made and nothing runs slower);
// `chosen` otherwise. `make(weights_desc)` builds a descriptor.
template <class PrimitiveDesc, class Make>
PrimitiveDesc on_packed_layout(PrimitiveDesc chosen, const PackedWeights& packed, Make&& make) {
  const dnnl::memory::desc preferred = packed.preferred();
  if (preferred.is_zero() || chosen.weights_desc() == preferred) return chosen;
  try {
    PrimitiveDesc fixed = make(preferred);
    if (std::string(fixed.impl_info_str()) == chosen.impl_info_str()) return fixed;
  } catch (const dnnl::error&) {
    // oneDNN has no implementation for that layout at this shape.
  }
  return chosen;
}

}  // namespace ecoinfer::kernels::onednn
