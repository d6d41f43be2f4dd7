// The model repository: DIR/<model>/<version>/model.onnx (or pipeline.json
// for a pipeline model, serve/backend/ocr_backend.h) and an optional
// DIR/<model>/config.json (serve/model_config.h). Every numbered version
// folder is loaded at start; a model or version that fails to load is kept
// in the index as UNAVAILABLE with the reason, and the others serve.
//
//   auto repo = Repository::open("models/", {.default_threads = 2});
//   for (const IndexEntry& e : repo->index()) ...;       // READY / UNAVAILABLE
//   ModelVersion* v = repo->find("cls", "");              // latest ready version
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ecoinfer/session.h"
#include "serve/backend/model_backend.h"
#include "serve/batcher.h"
#include "serve/compute_lanes.h"
#include "serve/model_config.h"

namespace ecoinfer::serve {

struct RepositoryOptions {
  int default_threads = 0;  // intra-op threads when a config says 0 (0: all cores)
  // Called by every model's workers after each executed batch (metrics).
  std::function<void(const std::string& model, const std::string& version, const ExecutionStats&)> on_execution;
};

// One loaded version of a model: what it runs and its batcher.
struct ModelVersion {
  std::string model;
  std::string version;
  ModelConfig config;
  std::shared_ptr<const ModelBackend> backend;  // an ONNX session or a pipeline
  std::unique_ptr<Batcher> batcher;
};

struct IndexEntry {
  std::string name;
  std::string version;  // "" when the model folder itself is unusable
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
};

class Repository {
 public:
  // Fails only when DIR itself cannot be read; bad models are reported in index().
  static Expected<std::unique_ptr<Repository>> open(const std::filesystem::path& dir, const RepositoryOptions& options);
  ~Repository();

  const std::vector<IndexEntry>& index() const { return index_; }
  bool all_ready() const;
  bool has_model(const std::string& name) const;
  // The ready version, or the highest ready one when version is "";
  // nullptr when there is none.
  ModelVersion* find(const std::string& name, const std::string& version) const;
  // Ready versions of a model, in increasing order.
  std::vector<std::string> ready_versions(const std::string& name) const;
  // Every batcher runs its queued requests without waiting for fuller batches.
  void flush() const;
  // Stops every batcher after it finished its queued requests.
  void shutdown();

 private:
  void load_model(const std::filesystem::path& model_dir, const RepositoryOptions& options);
  Expected<std::unique_ptr<ModelVersion>> load_version(const std::string& name, const std::string& version,
                                                       const std::filesystem::path& version_dir,
                                                       const LoadedConfig& config, const RepositoryOptions& options);

  // Shared by the models whose runs use OpenMP teams (threads > 1); declared
  // before models_ so that it outlives their batchers.
  std::unique_ptr<ComputeLanes> lanes_ = std::make_unique<ComputeLanes>();
  std::map<std::string, std::map<int64_t, std::unique_ptr<ModelVersion>>> models_;
  std::vector<IndexEntry> index_;
};

}  // namespace ecoinfer::serve
