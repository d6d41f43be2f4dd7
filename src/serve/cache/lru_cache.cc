// The in-process LRU: a list in recency order (front = most recent) and an
// index into it, under one mutex. get() splices the entry to the front, so
// both operations are O(1) and never allocate on a hit.
#include <list>
#include <mutex>
#include <unordered_map>

#include "serve/cache/response_cache.h"

namespace ecoinfer::serve {
namespace {

class LruCache final : public ResponseCache {
 public:
  explicit LruCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::optional<std::string> get(uint64_t key) override {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  void put(uint64_t key, std::string value) override {
    const size_t cost = value.size() + kLruEntryOverheadBytes;
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) erase(it->second);
    if (cost > max_bytes_) return;  // would evict everything and still not fit
    while (stats_.bytes + cost > max_bytes_ && !order_.empty()) {
      erase(std::prev(order_.end()));
      ++stats_.evictions;
    }
    order_.push_front(Entry{key, std::move(value)});
    index_[key] = order_.begin();
    stats_.bytes += cost;
    stats_.entries = order_.size();
  }

  CacheStats stats() const override {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  struct Entry {
    uint64_t key;
    std::string value;
  };

  void erase(std::list<Entry>::iterator entry) {
    stats_.bytes -= entry->value.size() + kLruEntryOverheadBytes;
    index_.erase(entry->key);
    order_.erase(entry);
    stats_.entries = order_.size();
  }

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
  CacheStats stats_;
};

}  // namespace

std::unique_ptr<ResponseCache> make_lru_cache(size_t max_bytes) { return std::make_unique<LruCache>(max_bytes); }

}  // namespace ecoinfer::serve
