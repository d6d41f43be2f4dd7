// Content-addressed stage cache: a stage's outputs for one item, stored on
// disk under a key that hashes everything they depend on (the stage's name,
// version and parameters, and its input values), compressed with Zstandard.
// The same inputs give the same key, so a re-run over unchanged data reads
// the outputs back instead of running the stage (like DVC's run cache).
// Bounded: when the entries exceed max_bytes the least recently used go.
//
//   auto cache = StageCache::open(".ecoinfer-cache", 1 << 30);
//   std::string key = StageCache::key(stage, input_hashes);
//   if (auto hit = (*cache)->get(key)) use(*hit); else (*cache)->put(key, compute());
//
// Layout: DIR/objects/<first 2 hex digits>/<key>.zst; DIR/lineage.json is
// the executor's manifest of the last run (docs/PIPELINES.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "pipeline/pipeline.h"

namespace ecoinfer::pipeline {

class StageCache {
 public:
  static Expected<std::unique_ptr<StageCache>> open(const std::filesystem::path& dir, uint64_t max_bytes);

  // XXH3 over the stage's name, version, parameters and the hashes of its
  // inputs in port order: 16 hex digits.
  static std::string key(const Stage& stage, const std::vector<std::string>& input_hashes);

  // The stored outputs, or nothing when absent or unreadable (a damaged
  // entry is a miss, not an error: the stage simply runs again).
  std::optional<Values> get(const std::string& key);
  // Stores the outputs; a write failure is reported but leaves the run alone.
  Status put(const std::string& key, const Values& outputs);

  const std::filesystem::path& dir() const { return dir_; }
  uint64_t size_bytes() const { return size_bytes_; }

 private:
  StageCache(std::filesystem::path dir, uint64_t max_bytes, uint64_t size)
      : dir_(std::move(dir)), max_bytes_(max_bytes), size_bytes_(size) {}
  std::filesystem::path object_path(const std::string& key) const;
  void evict_oldest();

  std::filesystem::path dir_;
  uint64_t max_bytes_;
  std::atomic<uint64_t> size_bytes_;
  std::mutex evict_mutex_;
};

}  // namespace ecoinfer::pipeline
