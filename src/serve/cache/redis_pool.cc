#include "serve/cache/redis_pool.h"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

namespace ecoinfer::serve {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{50}, kMaxRetry{1000};

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

}  // namespace

RedisPool::RedisPool(RedisPoolOptions options) : options_(std::move(options)) {
  std::string error;
  if (redisContext* c = connect(&error)) {
    idle_.push_back(c);
    open_ = stats_.peak_open = 1;
    up_ = true;
  } else {
    std::lock_guard lock(mutex_);
    mark_down_locked(error);
  }
  reconnector_ = std::thread([this] { reconnect_loop(); });
}

RedisPool::~RedisPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  retry_.notify_all();
  reconnector_.join();
  for (redisContext* c : idle_) redisFree(c);
}

redisContext* RedisPool::connect(std::string* error) const {
  redisContext* c =
      redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port, to_timeval(options_.timeout));
  if (c == nullptr || c->err) {
    *error = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, to_timeval(options_.timeout));
  // A stopped or overloaded server still accepts TCP connections (the
  // kernel does), so only a command answered in time proves it is there.
  RedisReply r(static_cast<redisReply*>(redisCommand(c, "SELECT %d", options_.address.db)));
  if (!r || r->type == REDIS_REPLY_ERROR) {
    *error = r ? std::string(r->str, r->len) : std::string(c->errstr);
    redisFree(c);
    return nullptr;
  }
  return c;
}

bool RedisPool::up() const {
  std::lock_guard lock(mutex_);
  return up_;
}

RedisPoolStats RedisPool::stats() const {
  std::lock_guard lock(mutex_);
  RedisPoolStats s = stats_;
  s.open = open_;
  return s;
}

RedisReply RedisPool::command(const std::function<void*(redisContext*)>& send) {
  std::optional<Connection> c = acquire();
  if (!c) return nullptr;
  RedisReply reply(static_cast<redisReply*>(send(c->context)));
  if (!reply) {
    // Failed or timed out: a late reply could still arrive on this
    // connection, so it cannot be reused.
    discard(*c, c->context->errstr);
    return nullptr;
  }
  release(*c);
  return reply;
}

// An idle connection, else a new one while under the bound, else waits up
// to the timeout for one to come back.
std::optional<RedisPool::Connection> RedisPool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (true) {
    if (!up_ || stopping_) return std::nullopt;
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return Connection{c, generation_};
    }
    if (open_ < options_.max_connections) {
      ++open_;
      stats_.peak_open = std::max(stats_.peak_open, open_);
      const uint64_t generation = generation_;
      lock.unlock();
      std::string error;
      redisContext* c = connect(&error);
      lock.lock();
      if (c != nullptr) return Connection{c, generation};
      --open_;
      if (generation == generation_) mark_down_locked(error);
      return std::nullopt;
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      ++stats_.busy_misses;
      return std::nullopt;
    }
  }
}

void RedisPool::release(Connection c) {
  {
    std::lock_guard lock(mutex_);
    if (c.generation == generation_ && up_ && !stopping_) {
      idle_.push_back(c.context);
      c.context = nullptr;
    } else {
      --open_;  // from before an outage: the server it spoke to may be gone
    }
  }
  if (c.context != nullptr) redisFree(c.context);
  available_.notify_one();
}

void RedisPool::discard(Connection c, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    --open_;
    // A connection from before the last reconnection failing says nothing
    // about the server now.
    if (c.generation == generation_) mark_down_locked(reason);
  }
  redisFree(c.context);
}

// With mutex_ held. Idle connections go too: they spoke to the same server.
void RedisPool::mark_down_locked(const std::string& reason) {
  if (up_) ++stats_.outages;
  up_ = false;
  for (redisContext* c : idle_) redisFree(c);
  open_ -= idle_.size();
  idle_.clear();
  if (!outage_logged_) {
    outage_logged_ = true;
    spdlog::warn("response cache: Redis at {} is unreachable or slow ({}); answering from the local cache and "
                 "reconnecting in the background",
                 options_.url, reason);
  }
  available_.notify_all();
  retry_.notify_all();
}

// Sleeps while Redis is up; while it is down, tries to connect with
// exponential backoff, outside the lock so commands never wait on it.
void RedisPool::reconnect_loop() {
  std::chrono::milliseconds delay = kFirstRetry;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (up_) {
      delay = kFirstRetry;
      retry_.wait(lock, [this] { return stopping_ || !up_; });
      continue;
    }
    if (retry_.wait_for(lock, delay, [this] { return stopping_; })) return;
    lock.unlock();
    std::string error;
    redisContext* c = connect(&error);
    lock.lock();
    if (c == nullptr) {
      delay = std::min(delay * 2, kMaxRetry);
      continue;
    }
    if (stopping_) {
      redisFree(c);
      return;
    }
    ++generation_;
    idle_.push_back(c);
    ++open_;
    stats_.peak_open = std::max(stats_.peak_open, open_);
    ++stats_.reconnects;
    up_ = true;
    outage_logged_ = false;
    spdlog::info("response cache: reconnected to Redis at {}", options_.url);
    available_.notify_all();
  }
}

}  // namespace ecoinfer::serve
