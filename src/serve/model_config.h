// A model's serving settings: DIR/<model>/config.json in the repository.
// Every key is optional (docs/SERVING.md lists them with their defaults):
//
//   {"max_batch_size": 8,
//    "dynamic_batching": {"preferred_batch_sizes": [4, 8], "max_queue_delay_microseconds": 2000},
//    "max_queue_size": 256, "default_timeout_microseconds": 0,
//    "precision": "fp32", "instance_count": 1, "threads": 0, "response_cache": true}
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ecoinfer/session.h"
#include "ecoinfer/status.h"

namespace ecoinfer::serve {

enum class Precision { kFp32, kBf16, kInt8 };
const char* precision_name(Precision p);

struct ModelConfig {
  // Largest batch the batcher builds along dimension 0; 0 = the model has no
  // batch dimension and every request runs alone, as sent.
  int max_batch_size = 0;
  bool dynamic_batching = false;       // merge requests that wait together
  std::vector<int> preferred_batch_sizes;
  std::chrono::microseconds max_queue_delay{0};
  size_t max_queue_size = 256;         // requests waiting; more get 503 at once
  std::chrono::microseconds default_timeout{0};  // 0 = wait as long as it takes
  Precision precision = Precision::kFp32;
  int instance_count = 1;              // worker threads running this model
  int threads = 0;                     // intra-op threads per run; 0 = the server's --threads
  bool response_cache = false;
};

// Parses config.json text; `where` names the file in error messages.
Expected<ModelConfig> parse_model_config(const std::string& text, const std::string& where);

// What a model without config.json gets: batching on (no extra delay) with
// max_batch_size 8 when every input's first dimension is dynamic, otherwise
// no batching.
ModelConfig default_model_config(const std::vector<ValueDescription>& inputs);

// Reads DIR/<model>/config.json when present; `present` tells whether it was.
struct LoadedConfig {
  ModelConfig config;
  bool present = false;
};
Expected<LoadedConfig> read_model_config(const std::filesystem::path& model_dir);

}  // namespace ecoinfer::serve
