// The Redis-backed response cache against Debian's real redis-server on a
// free loopback port: sharing between two replicas, zstd frames in Redis,
// then redis-server killed (and stopped) mid-run: every get/put keeps working
// from the local LRU within the timeout, and the cache reconnects once Redis
// is back.
#include <hiredis/hiredis.h>
#include <zstd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "serve/cache/redis_cache.h"
#include "serve/cache/redis_pool.h"
#include "serve/cache/response_cache.h"
#include "spawned_process.h"

namespace ecoinfer::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// redis-server on a loopback port, in the foreground as our child.
class RedisServer {
 public:
  explicit RedisServer(int port) : port_(port) {}
  bool start() {
    process_ = std::make_unique<testing::SpawnedProcess>();
    if (!process_->start({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--daemonize", "no"})) {
      return false;
    }
    for (auto deadline = Clock::now() + 10s; Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
      if (auto reply = command("PING"); reply == "PONG") return true;
    }
    return false;
  }
  void kill() { process_->stop(SIGKILL); }
  void pause() { process_->signal(SIGSTOP); }
  void resume() { process_->signal(SIGCONT); }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // A one-shot command on a fresh connection; the reply as a string, or
  // nothing on error or nil.
  std::optional<std::string> command(const char* format, const std::string& arg = {}) const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c == nullptr || c->err) {
      if (c) redisFree(c);
      return std::nullopt;
    }
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(arg.empty() ? redisCommand(c, format)
                                                   : redisCommand(c, format, arg.data(), arg.size()));
    std::optional<std::string> out;
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) out = std::string(r->str, r->len);
    if (r && r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
  }

 private:
  int port_;
  std::unique_ptr<testing::SpawnedProcess> process_;
};

std::string value_for(uint64_t key) {
  std::string v(2000, '\0');  // float-like bytes with some repetition, like real outputs
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>((key * 31 + i / 4) & 0x7f);
  return v;
}

std::unique_ptr<ResponseCache> connect(const std::string& url, int ttl = 0) {
  auto cache = make_redis_cache({.url = url, .timeout = 20ms, .local_max_bytes = 1 << 20, .ttl_seconds = ttl});
  EXPECT_TRUE(cache) << cache.status().message();
  return cache ? std::move(*cache) : nullptr;
}

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.start()) << "could not start redis-server on port " << port_; }
  int port_ = testing::free_loopback_port();
  RedisServer redis_{port_};
};

TEST_F(RedisCacheTest, TwoReplicasShareEntries) {
  auto a = connect(redis_.url());
  auto b = connect(redis_.url());
  a->put(42, value_for(42));
  auto got = b->get(42);
  ASSERT_TRUE(got) << "replica b should find what replica a put";
  EXPECT_EQ(*got, value_for(42));
  EXPECT_EQ(b->stats().hits, 1u);
  EXPECT_EQ(b->stats().entries, 1u) << "a Redis hit is kept in the local LRU";
  EXPECT_FALSE(b->get(43));
  EXPECT_EQ(b->stats().misses, 1u);
}

TEST_F(RedisCacheTest, ValuesInRedisAreZstdFramesWithTheTtl) {
  auto cache = connect(redis_.url(), /*ttl=*/300);
  cache->put(7, value_for(7));
  auto stored = redis_.command("GET %b", redis_entry_name(7));
  ASSERT_TRUE(stored);
  ASSERT_GE(stored->size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>((*stored)[0]), 0x28);  // zstd magic 0xFD2FB528, little-endian
  EXPECT_EQ(static_cast<unsigned char>((*stored)[1]), 0xB5);
  EXPECT_EQ(static_cast<unsigned char>((*stored)[2]), 0x2F);
  EXPECT_EQ(static_cast<unsigned char>((*stored)[3]), 0xFD);
  EXPECT_LT(stored->size(), value_for(7).size()) << "compressed";
  std::string plain(value_for(7).size(), '\0');
  EXPECT_EQ(ZSTD_decompress(plain.data(), plain.size(), stored->data(), stored->size()), plain.size());
  EXPECT_EQ(plain, value_for(7));
  auto ttl = redis_.command("TTL %b", redis_entry_name(7));
  ASSERT_TRUE(ttl);
  EXPECT_GT(std::stoi(*ttl), 0);
  EXPECT_LE(std::stoi(*ttl), 300);
}

TEST_F(RedisCacheTest, CorruptRedisEntryIsAMissNotAFailure) {
  auto cache = connect(redis_.url());
  const std::string set = "SET " + redis_entry_name(9) + " %b";
  ASSERT_TRUE(redis_.command(set.c_str(), "not zstd"));
  EXPECT_FALSE(cache->get(9));
}

// Kill redis-server mid-run: no get/put fails, each stays within a few
// timeouts, entries put before and during the outage are served locally;
// restart it and the cache writes to Redis again.
TEST_F(RedisCacheTest, KilledRedisFallsBackToLocalAndReconnects) {
  auto cache = connect(redis_.url());
  cache->put(1, value_for(1));
  redis_.kill();
  Clock::duration slowest{};
  for (uint64_t k = 100; k < 400; ++k) {
    const auto t0 = Clock::now();
    cache->put(k, value_for(k));
    auto got = cache->get(k);
    slowest = std::max(slowest, Clock::now() - t0);
    ASSERT_TRUE(got) << "key " << k << " lost during the outage";
    ASSERT_EQ(*got, value_for(k));
  }
  EXPECT_EQ(*cache->get(1), value_for(1)) << "entries from before the outage stay in the local LRU";
  EXPECT_LT(slowest, 300ms) << "a put+get pair must stay within a few 20 ms timeouts while Redis is down";

  ASSERT_TRUE(redis_.start()) << "restart";
  bool written = false;
  for (auto deadline = Clock::now() + 5s; Clock::now() < deadline && !written; std::this_thread::sleep_for(50ms)) {
    cache->put(1000, value_for(1000));
    written = redis_.command("EXISTS %b", redis_entry_name(1000)) == "1";
  }
  EXPECT_TRUE(written) << "the cache did not reconnect to the restarted redis-server within 5 s";
  auto other_replica = connect(redis_.url());
  EXPECT_EQ(other_replica->get(1000), value_for(1000));
}

// A stopped (SIGSTOP) redis-server accepts connections but never answers:
// the command timeout bounds every call and the cache falls back.
TEST_F(RedisCacheTest, HungRedisCostsAtMostTheTimeout) {
  auto cache = connect(redis_.url());
  redis_.pause();
  Clock::duration slowest{};
  for (uint64_t k = 0; k < 50; ++k) {
    const auto t0 = Clock::now();
    EXPECT_FALSE(cache->get(5000 + k));
    cache->put(5000 + k, value_for(k));
    slowest = std::max(slowest, Clock::now() - t0);
    std::this_thread::sleep_for(5ms);
  }
  redis_.resume();
  EXPECT_LT(slowest, 300ms) << "20 ms timeout, plus scheduling on a busy machine";
  EXPECT_EQ(cache->get(5000), value_for(0));
}

// The pool: commands on several connections at once. BLPOP on an empty list
// blocks only its own connection (Redis keeps serving the others), so four
// 200 ms BLPOPs take about 200 ms pooled and 800 ms on one connection.
RedisPool make_pool(const RedisServer& redis, int port, std::chrono::milliseconds timeout, size_t max) {
  RedisPoolOptions o;
  o.address.host = "127.0.0.1";
  o.address.port = port;
  o.url = redis.url();
  o.timeout = timeout;
  o.max_connections = max;
  return RedisPool(std::move(o));
}

// `threads` threads each run one BLPOP of `seconds`; how many got a reply,
// and how long it all took.
std::pair<int, Clock::duration> concurrent_blpops(RedisPool& pool, int threads, const char* seconds) {
  std::atomic<int> replies{0};
  std::vector<std::thread> workers;
  const auto t0 = Clock::now();
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      if (pool.command([&](redisContext* c) { return redisCommand(c, "BLPOP ecoinfer:test:empty %s", seconds); }))
        ++replies;
    });
  }
  for (auto& w : workers) w.join();
  return {replies.load(), Clock::now() - t0};
}

TEST_F(RedisCacheTest, PoolRunsConcurrentCommandsSideBySide) {
  RedisPool pool = make_pool(redis_, port_, 2000ms, 4);
  auto [replies, took] = concurrent_blpops(pool, 4, "0.2");
  EXPECT_EQ(replies, 4);
  EXPECT_EQ(pool.stats().peak_open, 4u);
  EXPECT_LT(took, 600ms) << "four 200 ms commands ran one after another, not side by side";
  const std::string clients = redis_.command("CLIENT LIST").value_or("");
  EXPECT_GE(std::count(clients.begin(), clients.end(), '\n'), 5) << "4 pooled connections and this one:\n" << clients;
}

TEST_F(RedisCacheTest, PoolIsBoundedAndABusyPoolIsAMissNotAWait) {
  {  // 8 commands, 4 connections: the other 4 wait for a free one (within the 2 s timeout)
    RedisPool pool = make_pool(redis_, port_, 2000ms, 4);
    auto [replies, took] = concurrent_blpops(pool, 8, "0.2");
    EXPECT_EQ(replies, 8);
    EXPECT_EQ(pool.stats().peak_open, 4u) << "never more connections than the bound";
    EXPECT_EQ(pool.stats().busy_misses, 0u);
    EXPECT_GE(took, 350ms) << "two rounds of 200 ms";
  }
  {  // one connection, 200 ms commands, 800 ms timeout: a command that finds the pool busy waits at most
     // the timeout, then goes without (eight would need 1.6 s one after another). The wide margin between
     // a command (200 ms) and the timeout keeps a slow sanitizer build on a loaded machine from timing out
     // the command itself, which would rightly count as an outage.
    RedisPool pool = make_pool(redis_, port_, 800ms, 1);
    auto [replies, took] = concurrent_blpops(pool, 8, "0.2");
    EXPECT_GE(pool.stats().busy_misses, 1u);
    EXPECT_EQ(replies + static_cast<int>(pool.stats().busy_misses), 8);
    EXPECT_EQ(pool.stats().peak_open, 1u);
    EXPECT_TRUE(pool.up()) << "a busy pool is not an outage";
  }
}

// Eight threads using the cache while redis-server is killed and restarted:
// no get or put fails, the pool goes down once and comes back.
TEST_F(RedisCacheTest, KilledMidRunUnderConcurrencyThenReconnects) {
  auto cache = make_redis_cache({.url = redis_.url(), .timeout = 20ms, .local_max_bytes = 0, .pool_size = 4});
  ASSERT_TRUE(cache);
  for (uint64_t k = 0; k < 8; ++k) (*cache)->put(k, value_for(k));
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::atomic<int64_t> slowest_us{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = 0; !stop; ++i) {
        const uint64_t k = 100 + t * 100000 + i;
        const auto t0 = Clock::now();
        (*cache)->put(k, value_for(k));
        (void)(*cache)->get(k % 8);  // Redis hits while it is up, misses while down: both answer
        const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
        for (int64_t seen = slowest_us; us > seen && !slowest_us.compare_exchange_weak(seen, us);) {
        }
        ++served;
      }
    });
  }
  std::this_thread::sleep_for(200ms);
  redis_.kill();
  const int before = served;
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(served - before, 50) << "requests kept being served while Redis was down";
  ASSERT_TRUE(redis_.start()) << "restart";
  bool back = false;
  for (auto deadline = Clock::now() + 5s; Clock::now() < deadline && !back; std::this_thread::sleep_for(50ms)) {
    (*cache)->put(999, value_for(999));
    back = redis_.command("EXISTS %b", redis_entry_name(999)) == "1";
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_TRUE(back) << "the pool did not reconnect to the restarted redis-server within 5 s";
  EXPECT_LT(slowest_us, 500'000) << "a put+get pair must stay within a few 20 ms timeouts, outage or not";
  auto other_replica = connect(redis_.url());
  EXPECT_EQ(other_replica->get(999), value_for(999));
}

TEST(RedisCache, UnreachableAtStartStillServesLocally) {
  const auto t0 = Clock::now();
  auto cache = connect("redis://127.0.0.1:" + std::to_string(testing::free_loopback_port()));
  ASSERT_TRUE(cache);
  cache->put(3, "three");
  EXPECT_EQ(cache->get(3), "three");
  EXPECT_FALSE(cache->get(4));
  EXPECT_LT(Clock::now() - t0, 500ms);
}

TEST(RedisCache, MalformedUrlsAreRefusedWithTheExpectedForm) {
  for (const char* url : {"http://localhost:6379", "redis://", "redis://host:port", "redis://host:70000",
                          "redis://host:6379/db"}) {
    auto cache = make_redis_cache({.url = url});
    ASSERT_FALSE(cache) << url;
    EXPECT_NE(cache.status().message().find("redis://host[:port][/db]"), std::string::npos);
  }
  auto a = parse_redis_url("redis://cache.internal:6380/2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "cache.internal");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
}

}  // namespace
}  // namespace ecoinfer::serve
