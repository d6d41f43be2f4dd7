// A small bounded pool of hiredis connections to one Redis server, so that
// concurrent requests run their cache commands side by side instead of
// queueing on one connection. Connections open on demand up to the bound;
// a request that finds them all busy waits at most the command timeout, then
// goes without (a cache miss, never a failure).
//
// Outages: a command that fails or times out marks Redis down; every idle
// connection is dropped, commands return nothing at once (no waiting on a
// dead server), one warning is logged, and a background thread reconnects
// with backoff (50 ms doubling to 1 s). Connections from before the outage
// that were busy at the time are closed when they come back, never reused.
//
//   RedisPool pool({.address = *parse_redis_url(url), .url = url, .timeout = 20ms, .max_connections = 4});
//   RedisReply r = pool.command([&](redisContext* c) { return redisCommand(c, "GET %b", k.data(), k.size()); });
//   if (r && r->type == REDIS_REPLY_STRING) ...;
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "serve/cache/redis_cache.h"

namespace ecoinfer::serve {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisPoolOptions {
  RedisAddress address;
  std::string url;                        // for log lines
  std::chrono::milliseconds timeout{20};  // connect, command, and waiting for a free connection
  size_t max_connections = 4;
};

struct RedisPoolStats {
  size_t open = 0;            // connections open now (idle and busy)
  size_t peak_open = 0;       // most open at once
  uint64_t busy_misses = 0;   // commands skipped: every connection stayed busy past the timeout
  uint64_t outages = 0;       // times Redis was marked down
  uint64_t reconnects = 0;    // times the background thread brought it back
};

class RedisPool {
 public:
  explicit RedisPool(RedisPoolOptions options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Sends one command on a pooled connection (`send` calls redisCommand on
  // it). Null when Redis is down, slow, or the pool stayed busy.
  RedisReply command(const std::function<void*(redisContext*)>& send);
  bool up() const;
  RedisPoolStats stats() const;

 private:
  struct Connection {
    redisContext* context = nullptr;
    uint64_t generation = 0;  // the connected period it belongs to
  };

  redisContext* connect(std::string* error) const;
  std::optional<Connection> acquire();
  void release(Connection c);
  void discard(Connection c, const std::string& reason);
  void mark_down_locked(const std::string& reason);
  void reconnect_loop();

  const RedisPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable available_;  // a connection came back, or Redis went down
  std::condition_variable retry_;      // Redis went down, or stopping
  std::vector<redisContext*> idle_;
  size_t open_ = 0;
  uint64_t generation_ = 0;  // bumped at each reconnection
  bool up_ = false;
  bool outage_logged_ = false;
  bool stopping_ = false;
  RedisPoolStats stats_;
  std::thread reconnector_;
};

}  // namespace ecoinfer::serve
