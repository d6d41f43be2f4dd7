// The in-process LRU: byte bound, recency order, replacement, stats, and
// consistency under concurrent use.
#include <thread>

#include <gtest/gtest.h>

#include "serve/cache/response_cache.h"

namespace ecoinfer::serve {
namespace {

constexpr size_t kEntry = 100 + kLruEntryOverheadBytes;  // cost of a 100-byte value

TEST(LruCache, GetReturnsWhatWasPut) {
  auto cache = make_lru_cache(1 << 20);
  EXPECT_FALSE(cache->get(1).has_value());
  cache->put(1, "one");
  ASSERT_TRUE(cache->get(1).has_value());
  EXPECT_EQ(*cache->get(1), "one");
  const CacheStats s = cache->stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 3 + kLruEntryOverheadBytes);
}

TEST(LruCache, EvictsLeastRecentlyUsedToStayWithinBytes) {
  auto cache = make_lru_cache(3 * kEntry);
  for (uint64_t k = 1; k <= 3; ++k) cache->put(k, std::string(100, 'a' + k));
  ASSERT_TRUE(cache->get(1));  // 1 is now the most recent; 2 the least
  cache->put(4, std::string(100, 'd'));
  EXPECT_FALSE(cache->get(2));
  EXPECT_TRUE(cache->get(1));
  EXPECT_TRUE(cache->get(3));
  EXPECT_TRUE(cache->get(4));
  const CacheStats s = cache->stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, 3 * kEntry);
  EXPECT_EQ(s.evictions, 1u);
}

TEST(LruCache, ReplacingAKeyUpdatesBytes) {
  auto cache = make_lru_cache(1 << 20);
  cache->put(7, std::string(1000, 'x'));
  cache->put(7, std::string(10, 'y'));
  EXPECT_EQ(*cache->get(7), std::string(10, 'y'));
  EXPECT_EQ(cache->stats().entries, 1u);
  EXPECT_EQ(cache->stats().bytes, 10 + kLruEntryOverheadBytes);
}

TEST(LruCache, ValueLargerThanTheBoundIsNotStoredAndEvictsNothing) {
  auto cache = make_lru_cache(2 * kEntry);
  cache->put(1, std::string(100, 'a'));
  cache->put(2, std::string(3 * kEntry, 'b'));
  EXPECT_FALSE(cache->get(2));
  EXPECT_TRUE(cache->get(1));
  EXPECT_EQ(cache->stats().entries, 1u);
}

TEST(LruCache, OneLargeValueEvictsSeveralSmallOnes) {
  auto cache = make_lru_cache(4 * kEntry);
  for (uint64_t k = 1; k <= 4; ++k) cache->put(k, std::string(100, 'a'));
  cache->put(9, std::string(100 + 2 * kEntry, 'z'));  // needs three small entries' room
  EXPECT_TRUE(cache->get(9));
  EXPECT_TRUE(cache->get(4));
  EXPECT_FALSE(cache->get(1));
  EXPECT_FALSE(cache->get(2));
  EXPECT_FALSE(cache->get(3));
  EXPECT_LE(cache->stats().bytes, 4 * kEntry);
}

TEST(LruCache, ConcurrentUseKeepsTheBoundAndTheCounts) {
  const size_t bound = 50 * kEntry;
  auto cache = make_lru_cache(bound);
  constexpr int kThreads = 4, kOps = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        const uint64_t key = static_cast<uint64_t>((i * 7 + t) % 100);
        if (auto v = cache->get(key)) {
          EXPECT_EQ(*v, std::string(100, static_cast<char>('a' + key % 26)));
        } else {
          cache->put(key, std::string(100, static_cast<char>('a' + key % 26)));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const CacheStats s = cache->stats();
  EXPECT_EQ(s.hits + s.misses, uint64_t{kThreads} * kOps);
  EXPECT_LE(s.bytes, bound);
  EXPECT_EQ(s.bytes, s.entries * kEntry);
}

}  // namespace
}  // namespace ecoinfer::serve
