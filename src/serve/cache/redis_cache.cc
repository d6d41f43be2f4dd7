// The shared response cache: local LRU first, then Redis (hiredis, values
// zstd-compressed). One connection guarded by a mutex; a failed or timed-out
// command marks Redis down, and from then on requests use only the local LRU
// while a background thread reconnects with exponential backoff. So an outage
// costs at most one command timeout, is logged once, and fails no request.
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <zstd.h>

#include "serve/cache/redis_cache.h"
#include "serve/cache/response_cache.h"

namespace ecoinfer::serve {
namespace {

constexpr int kZstdLevel = 1;  // fastest: cache values are mostly float tensors that compress little anyway
constexpr size_t kMaxValueBytes = size_t{1} << 30;
constexpr std::chrono::milliseconds kFirstRetry{50}, kMaxRetry{1000};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

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
  RedisCache(RedisCacheOptions options, RedisAddress address)
      : options_(std::move(options)), address_(std::move(address)), local_(make_lru_cache(options_.local_max_bytes)) {
    std::string error;
    if (redisContext* c = connect(&error)) {
      ctx_ = c;
      up_ = true;
    } else {
      report_outage(error);
    }
    reconnector_ = std::thread([this] { reconnect_loop(); });
  }

  ~RedisCache() override {
    {
      std::lock_guard lock(retry_mutex_);
      stopping_ = true;
    }
    retry_cv_.notify_all();
    reconnector_.join();
    if (ctx_ != nullptr) redisFree(ctx_);
  }

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
    std::string frame = up_ ? compress(value) : std::string();
    local_->put(key, std::move(value));
    if (!frame.empty()) redis_set(key, frame);
  }

  CacheStats stats() const override {
    CacheStats s = local_->stats();
    s.hits = hits_;
    s.misses = misses_;
    return s;
  }

 private:
  redisContext* connect(std::string* error) const {
    redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(options_.timeout));
    if (c == nullptr || c->err) {
      *error = c ? c->errstr : "out of memory";
      if (c) redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, to_timeval(options_.timeout));
    // A stopped or overloaded server still accepts TCP connections (the
    // kernel does), so only a command answered in time proves it is back.
    Reply r(static_cast<redisReply*>(redisCommand(c, "SELECT %d", address_.db)));
    if (!r || r->type == REDIS_REPLY_ERROR) {
      *error = r ? std::string(r->str, r->len) : std::string(c->errstr);
      redisFree(c);
      return nullptr;
    }
    return c;
  }

  std::optional<std::string> redis_get(uint64_t key) {
    if (!up_) return std::nullopt;
    const std::string name = redis_entry_name(key);
    std::lock_guard lock(conn_mutex_);
    if (!up_) return std::nullopt;  // went down while we waited for the connection
    Reply r(static_cast<redisReply*>(redisCommand(ctx_, "GET %b", name.data(), name.size())));
    if (!r) {
      mark_down();
      return std::nullopt;
    }
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;  // nil: not cached; error: treat as a miss
    return std::string(r->str, r->len);
  }

  void redis_set(uint64_t key, const std::string& frame) {
    if (!up_) return;
    const std::string name = redis_entry_name(key);
    std::lock_guard lock(conn_mutex_);
    if (!up_) return;
    Reply r(static_cast<redisReply*>(
        options_.ttl_seconds > 0
            ? redisCommand(ctx_, "SET %b %b EX %d", name.data(), name.size(), frame.data(), frame.size(),
                           options_.ttl_seconds)
            : redisCommand(ctx_, "SET %b %b", name.data(), name.size(), frame.data(), frame.size())));
    if (!r) mark_down();
  }

  // Called with conn_mutex_ held, after a command failed or timed out: the
  // connection is unusable (a reply may still arrive), so drop it.
  void mark_down() {
    std::string reason = ctx_->errstr;
    redisFree(ctx_);
    ctx_ = nullptr;
    up_ = false;
    report_outage(reason);
    retry_cv_.notify_all();
  }

  void report_outage(const std::string& reason) {
    if (outage_logged_.exchange(true)) return;
    spdlog::warn("response cache: Redis at {} is unreachable or slow ({}); answering from the local cache and "
                 "reconnecting in the background",
                 options_.url, reason);
  }

  // Waits while Redis is up; while it is down, tries to connect with
  // exponential backoff. mark_down() notifies without retry_mutex_ (it holds
  // conn_mutex_, and this loop never holds both), so the wait while up also
  // wakes on its own now and then rather than miss that notification.
  void reconnect_loop() {
    std::chrono::milliseconds delay = kFirstRetry;
    while (true) {
      {
        std::unique_lock lock(retry_mutex_);
        if (up_) {
          delay = kFirstRetry;
          retry_cv_.wait_for(lock, kMaxRetry, [this] { return stopping_ || !up_; });
          if (stopping_) return;
          continue;
        }
        if (retry_cv_.wait_for(lock, delay, [this] { return stopping_; })) return;
      }
      std::string error;
      redisContext* c = connect(&error);
      if (c == nullptr) {
        delay = std::min(delay * 2, kMaxRetry);
        continue;
      }
      std::lock_guard conn(conn_mutex_);
      ctx_ = c;
      up_ = true;
      outage_logged_ = false;
      spdlog::info("response cache: reconnected to Redis at {}", options_.url);
    }
  }

  const RedisCacheOptions options_;
  const RedisAddress address_;
  std::unique_ptr<ResponseCache> local_;
  std::atomic<uint64_t> hits_{0}, misses_{0};

  std::mutex conn_mutex_;
  redisContext* ctx_ = nullptr;  // guarded by conn_mutex_; null while down
  std::atomic<bool> up_{false};
  std::atomic<bool> outage_logged_{false};

  std::mutex retry_mutex_;
  std::condition_variable retry_cv_;
  bool stopping_ = false;  // guarded by retry_mutex_
  std::thread reconnector_;
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
