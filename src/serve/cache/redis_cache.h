// Details of the Redis-backed response cache (make_redis_cache() in
// response_cache.h) that tests and tools need: where an entry lives and how
// the URL is read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};

// "redis://host[:port][/db]" (port 6379 and db 0 by default).
Expected<RedisAddress> parse_redis_url(std::string_view url);

// The Redis key holding a cache entry: "ecoinfer:cache:v1:" and 16 hex digits.
// Its value is one zstd frame of the encode_tensors() bytes.
std::string redis_entry_name(uint64_t key);

}  // namespace ecoinfer::serve
