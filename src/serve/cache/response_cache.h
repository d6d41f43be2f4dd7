// ResponseCache: answers a repeated inference request without running the
// model. Keys come from response_cache_key() (cache_key.h), values are
// encode_tensors() bytes (tensor_codec.h). Only successful responses go in.
//
//   auto cache = ecoinfer::serve::make_lru_cache(64 << 20);
//   uint64_t key = response_cache_key(model, version, outputs, inputs);
//   if (auto hit = cache->get(key)) return decode_tensors(*hit);
//   ... run the model ...
//   cache->put(key, encode_tensors(outputs));
//
// Two implementations: an in-process LRU bounded in bytes, and a Redis-backed
// cache shared by replicas that keeps an LRU as its first level and fallback.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

struct CacheStats {
  uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
  uint64_t evictions = 0;  // entries dropped to stay within the byte bound
};

class ResponseCache {  // all members thread-safe
 public:
  virtual ~ResponseCache() = default;
  virtual std::optional<std::string> get(uint64_t key) = 0;
  virtual void put(uint64_t key, std::string value) = 0;  // may evict or drop
  virtual CacheStats stats() const = 0;
};

// In-process LRU bounded in bytes: each entry costs its value's size plus
// kLruEntryOverheadBytes (key, list and index nodes). A value larger than
// the whole bound is not stored.
inline constexpr size_t kLruEntryOverheadBytes = 64;
std::unique_ptr<ResponseCache> make_lru_cache(size_t max_bytes);

struct RedisCacheOptions {
  std::string url;                        // redis://host:port[/db]
  std::chrono::milliseconds timeout{20};  // connect and command timeout
  size_t local_max_bytes = 64 << 20;      // the local LRU used as fallback and first level
  int ttl_seconds = 0;                    // 0: no expiry
  size_t pool_size = 4;                   // Redis connections at most, opened as concurrent requests need them
};

// Shared cache for replicas: values zstd-compressed in Redis, reached through
// a bounded pool of connections (serve/cache/redis_pool.h); when Redis is
// down or slow, falls back to the local LRU, logs once (spdlog), retries the
// connection later (with backoff, from a background thread), and never fails
// a request. Fails only on a malformed URL; an unreachable Redis at start is
// an outage like any other.
Expected<std::unique_ptr<ResponseCache>> make_redis_cache(const RedisCacheOptions& options);

}  // namespace ecoinfer::serve
