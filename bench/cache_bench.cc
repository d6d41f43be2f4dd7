// cache_bench: what the response cache and the metrics cost per request on
// the hot path (Google Benchmark). A cache hit's budget is 150 us end to end
// over loopback (issue 6); these are the cache's own shares of it.
//
//   build/bench/cache_bench --benchmark_min_time=0.2
//   REDIS_URL=redis://127.0.0.1:6390 build/bench/cache_bench --benchmark_filter=Redis   # with a redis-server there
//
// Sizes are the cls model's: input 1x3x48x192 fp32 (110,592 bytes), output 1x2.
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "serve/cache/cache_key.h"
#include "serve/cache/response_cache.h"
#include "serve/cache/tensor_codec.h"
#include "serve/metrics/metrics.h"

namespace {

using namespace ecoinfer;
using namespace ecoinfer::serve;

std::vector<NamedTensor> cls_input() {
  Tensor x = Tensor::zeros(DataType::kFloat32, {1, 3, 48, 192});
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (float& v : x.span<float>()) v = d(rng);
  return {{"x", x}};
}

std::vector<NamedTensor> cls_output() { return {{"softmax_0.tmp_0", Tensor::from_vector<float>({1, 2}, {0.9f, 0.1f})}}; }

void BM_CacheKey_ClsInput(benchmark::State& state) {
  const auto inputs = cls_input();
  for (auto _ : state) benchmark::DoNotOptimize(response_cache_key("cls", "1", {}, inputs));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(inputs[0].tensor.nbytes()));
}
BENCHMARK(BM_CacheKey_ClsInput);

void BM_Codec_EncodeDecode_ClsOutput(benchmark::State& state) {
  const auto outputs = cls_output();
  for (auto _ : state) {
    std::string bytes = encode_tensors(outputs);
    benchmark::DoNotOptimize(decode_tensors(bytes));
  }
}
BENCHMARK(BM_Codec_EncodeDecode_ClsOutput);

void BM_Lru_Hit(benchmark::State& state) {
  auto cache = make_lru_cache(64 << 20);
  for (uint64_t k = 0; k < 10000; ++k) cache->put(k, encode_tensors(cls_output()));
  uint64_t k = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache->get(k++ % 10000));
}
BENCHMARK(BM_Lru_Hit)->Threads(1)->Threads(2);

// A hit served by Redis over loopback: GET plus zstd decompression. The
// local level is sized 0 so it never keeps the entry.
void BM_Redis_Hit(benchmark::State& state) {
  const char* url = std::getenv("REDIS_URL");
  if (url == nullptr) {
    state.SkipWithError("set REDIS_URL=redis://127.0.0.1:PORT to a running redis-server");
    return;
  }
  auto cache = make_redis_cache({.url = url, .local_max_bytes = 0});
  if (!cache) {
    state.SkipWithError(cache.status().message().c_str());
    return;
  }
  (*cache)->put(1, encode_tensors(cls_output()));
  for (auto _ : state) {
    if (!(*cache)->get(1)) state.SkipWithError("miss: is Redis up?");
  }
}
BENCHMARK(BM_Redis_Hit);

// Redis hits from 8 threads sharing one cache, as a server's I/O threads do:
// pool_size 1 (every command waits its turn on one connection, as before the
// pool) against 4. Items per second is the cache's Redis hit throughput.
ResponseCache* shared_redis_cache(const char* url, size_t pool_size) {
  static std::mutex mutex;
  static std::map<size_t, std::unique_ptr<ResponseCache>> caches;
  std::lock_guard lock(mutex);
  std::unique_ptr<ResponseCache>& cache = caches[pool_size];
  if (!cache) {
    auto made = make_redis_cache({.url = url, .local_max_bytes = 0, .pool_size = pool_size});
    if (!made) return nullptr;
    cache = std::move(*made);
    cache->put(1, encode_tensors(cls_output()));
  }
  return cache.get();
}

void BM_Redis_Hit_Shared(benchmark::State& state) {
  const char* url = std::getenv("REDIS_URL");
  ResponseCache* cache = url ? shared_redis_cache(url, static_cast<size_t>(state.range(0))) : nullptr;
  if (cache == nullptr) {
    state.SkipWithError("set REDIS_URL=redis://127.0.0.1:PORT to a running redis-server");
    return;
  }
  for (auto _ : state) {
    if (!cache->get(1)) state.SkipWithError("miss: is Redis up?");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Redis_Hit_Shared)->ArgName("pool")->Arg(1)->Arg(4)->Threads(8)->UseRealTime();

void BM_Counter_Inc(benchmark::State& state) {
  static MetricsRegistry registry;
  Counter& c = registry.counter("ecoinfer_inference_total", "Items inferred.", {{"model", "cls"}});
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_Counter_Inc)->Threads(1)->Threads(2);

void BM_Histogram_Observe(benchmark::State& state) {
  static MetricsRegistry registry;
  Histogram& h = registry.histogram("ecoinfer_request_duration_seconds", "Latency.", default_latency_buckets());
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v > 5 ? 0.0001 : v * 1.1;
  }
}
BENCHMARK(BM_Histogram_Observe);

void BM_Render_50_Series(benchmark::State& state) {
  MetricsRegistry registry;
  for (int m = 0; m < 10; ++m) {
    const Labels l{{"model", fmt::format("m{}", m)}, {"version", "1"}};
    registry.counter("ecoinfer_request_success_total", "ok", l).inc();
    registry.counter("ecoinfer_inference_total", "items", l).inc();
    registry.histogram("ecoinfer_request_duration_seconds", "lat", default_latency_buckets(), l).observe(0.01);
    registry.histogram("ecoinfer_queue_duration_seconds", "q", default_latency_buckets(), l).observe(0.001);
    registry.histogram("ecoinfer_compute_duration_seconds", "c", default_latency_buckets(), l).observe(0.009);
  }
  for (auto _ : state) benchmark::DoNotOptimize(registry.render());
}
BENCHMARK(BM_Render_50_Series);

}  // namespace

BENCHMARK_MAIN();
