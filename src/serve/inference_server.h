// The server's core, independent of any wire protocol: the model repository,
// input validation, the response cache, the batchers and the metrics.
// Front ends (serve/http + serve/protocol today) turn their requests into
// InferenceRequest and call infer().
//
//   auto server = InferenceServer::create({.model_repository = "models/", .cache_bytes = 64 << 20});
//   (*server)->infer(std::move(request), [](InferenceOutcome o) { ... });
//   (*server)->shutdown();  // finishes every queued request
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ecoinfer/energy.h"
#include "serve/cache/response_cache.h"
#include "serve/inference_request.h"
#include "serve/metrics/metrics.h"
#include "serve/repository.h"
#include "serve/shared_memory.h"

namespace ecoinfer::serve {

struct ServerOptions {
  std::filesystem::path model_repository;
  int threads = 0;                // intra-op threads per run unless a config says otherwise (0: all cores)
  size_t cache_bytes = 64 << 20;  // in-process response cache; 0 disables the cache
  std::string redis_url;          // "" = no shared cache
  size_t redis_connections = 4;   // the Redis connection pool's bound
  std::string region;             // carbon intensity region ("" = world average)
};

class InferenceServer {
 public:
  static Expected<std::unique_ptr<InferenceServer>> create(const ServerOptions& options);
  ~InferenceServer();

  // Validates, answers from the cache or queues for the model's batcher.
  // `done` is called exactly once (maybe before infer returns).
  void infer(InferenceRequest request, InferenceCallback done);

  const Repository& repository() const { return *repository_; }
  bool ready() const { return repository_->all_ready(); }
  std::string render_metrics() const { return metrics_.render(); }
  const energy::CarbonIntensity& carbon_intensity() const { return intensity_; }
  // Client shared memory regions, one namespace for every front end (as in Triton).
  SharedMemoryRegistry& shared_memory() { return shared_memory_; }
  // Queued requests run at once, without waiting for fuller batches (shutdown begins).
  void flush() const { repository_->flush(); }
  // Stops every batcher after its queued requests ran, then unmaps the
  // shared memory regions. Idempotent.
  void shutdown();

 private:
  struct ModelMetrics;
  InferenceServer() = default;
  void register_metrics();
  void on_execution(const std::string& model, const std::string& version, const ExecutionStats& s);
  std::optional<InferenceError> validate(const ModelVersion& m, InferenceRequest& r) const;
  void record_outcome(ModelMetrics& mm, const InferenceOutcome& o, double seconds);

  SharedMemoryRegistry shared_memory_;
  MetricsRegistry metrics_;
  std::unique_ptr<ResponseCache> cache_;
  energy::CarbonIntensity intensity_;
  std::map<std::string, std::unique_ptr<ModelMetrics>> model_metrics_;  // "model/version"; fixed after create
  std::unique_ptr<Repository> repository_;  // last: its batchers call back into the members above
};

}  // namespace ecoinfer::serve
