// The shared response cache: local LRU first, then Redis (hiredis, values
// zstd-compressed) through a small pool of connections (redis_pool.h), so
// concurrent requests do not queue on one connection. When Redis is down,
// the pool answers nothing at once and reconnects in the background, so an
// outage costs at most one command timeout, is logged once, and fails no
// request.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zstd.h>

#include "serve/cache/redis_cache.h"
#include "serve/cache/redis_pool.h"
#include "serve/cache/response_cache.h"

namespace ecoinfer::serve {
namespace {

constexpr int kZstdLevel = 1;  // fastest: cache values are mostly float tensors that compress little anyway
constexpr size_t kMaxValueBytes = size_t{1} << 30;

std::string compress(const std::string& value) {
  std::string out(ZSTD_compressBound(value.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), value.data(), value.size(), kZstdLevel);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

std::optional<std::string> decompress(std::string_view frame) {
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxValueBytes) return std::nullopt;
  std::string out(size, '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != size) return std::nullopt;
  return out;
}

class RedisCache final : public ResponseCache {
 public:
  RedisCache(const RedisCacheOptions& options, RedisAddress address)
      : ttl_seconds_(options.ttl_seconds),
        local_(make_lru_cache(options.local_max_bytes)),
        pool_({.address = std::move(address), .url = options.url, .timeout = options.timeout,
               .max_connections = std::max<size_t>(1, options.pool_size)}) {}

  std::optional<std::string> get(uint64_t key) override {
    if (auto hit = local_->get(key)) {
      ++hits_;
      return hit;
    }
    if (auto frame = redis_get(key)) {
      if (auto value = decompress(*frame)) {
        local_->put(key, *value);
        ++hits_;
        return value;
      }
      spdlog::warn("response cache: Redis entry {} is not a valid zstd frame; ignored", redis_entry_name(key));
    }
    ++misses_;
    return std::nullopt;
  }

  void put(uint64_t key, std::string value) override {
    std::string frame = pool_.up() ? compress(value) : std::string();
    local_->put(key, std::move(value));
    if (!frame.empty()) redis_set(key, frame);
  }

  CacheStats stats() const override {
    CacheStats s = local_->stats();
    s.hits = hits_;
    s.misses = misses_;
    return s;
  }

  RedisPoolStats pool_stats() const { return pool_.stats(); }

 private:
  std::optional<std::string> redis_get(uint64_t key) {
    const std::string name = redis_entry_name(key);
    RedisReply r = pool_.command([&](redisContext* c) { return redisCommand(c, "GET %b", name.data(), name.size()); });
    if (!r || r->type != REDIS_REPLY_STRING) return std::nullopt;  // down, nil (not cached), or an error: a miss
    return std::string(r->str, r->len);
  }

  void redis_set(uint64_t key, const std::string& frame) {
    const std::string name = redis_entry_name(key);
    pool_.command([&](redisContext* c) {
      return ttl_seconds_ > 0 ? redisCommand(c, "SET %b %b EX %d", name.data(), name.size(), frame.data(),
                                             frame.size(), ttl_seconds_)
                              : redisCommand(c, "SET %b %b", name.data(), name.size(), frame.data(), frame.size());
    });
  }

  const int ttl_seconds_;
  std::unique_ptr<ResponseCache> local_;
  std::atomic<uint64_t> hits_{0}, misses_{0};
  RedisPool pool_;  // last: its reconnect thread stops first
};

}  // namespace

Expected<RedisAddress> parse_redis_url(std::string_view url) {
  const auto bad = [&](std::string_view what) {
    return invalid_argument(fmt::format("Redis URL '{}': {}; expected redis://host[:port][/db], "
                                        "e.g. redis://127.0.0.1:6379/0", url, what));
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return bad("does not start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  const auto parse_int = [](std::string_view s, int lo, int hi, int& out) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    out = std::stoi(std::string(s));
    return out >= lo && out <= hi;
  };
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (!parse_int(rest.substr(slash + 1), 0, 1 << 20, a.db)) return bad("the database is not a number");
    rest = rest.substr(0, slash);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!parse_int(rest.substr(colon + 1), 1, 65535, a.port)) return bad("the port is not a number in 1-65535");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  a.host = std::string(rest);
  return a;
}

std::string redis_entry_name(uint64_t key) { return fmt::format("ecoinfer:cache:v1:{:016x}", key); }

Expected<std::unique_ptr<ResponseCache>> make_redis_cache(const RedisCacheOptions& options) {
  ECOINFER_ASSIGN_OR_RETURN(RedisAddress address, parse_redis_url(options.url));
  if (options.timeout.count() <= 0) return invalid_argument("Redis cache: the timeout must be positive");
  return std::unique_ptr<ResponseCache>(std::make_unique<RedisCache>(options, std::move(address)));
}

}  // namespace ecoinfer::serve
