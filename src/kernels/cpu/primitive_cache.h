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
#include <utility>
#include <vector>

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

// Constant weights reordered into the layouts primitives ask for, packed
// once per layout: shapes whose primitives choose the same weights layout
// share one packed copy. Not thread-safe on its own: use it from inside a
// ShapeCache::get make() callback, which holds the cache's lock.
class PackedWeights {
 public:
  // `plain` describes the constant weights as they are in the model.
  dnnl::memory get(const dnnl::memory::desc& wanted, const dnnl::memory& plain) {
    if (wanted == plain.get_desc()) return plain;
    for (const auto& [desc, mem] : packed_) {
      if (desc == wanted) return mem;
    }
    dnnl::memory packed(wanted, cpu_engine());
    dnnl::reorder(plain, packed).execute(thread_stream(), const_cast<dnnl::memory&>(plain), packed);
    thread_stream().wait();
    packed_.emplace_back(wanted, packed);
    return packed;
  }
  size_t layouts() const { return packed_.size(); }

 private:
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> packed_;
};

}  // namespace ecoinfer::kernels::onednn
