// What `compare` measures: each model's file (built into the cache for zoo
// models, found in models/ for PaddleOCR) and its inputs at a batch size.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "compare/compare.h"
#include "ecoinfer/session.h"

namespace ecoinfer::compare {

struct CatalogEntry {
  std::string name, display_name, family, task, weights;
  bool is_zoo = false;
  bool is_transformer = false;
  std::string ocr_file;     // PaddleOCR file name in models_dir
  Shape image_shape;        // [3, H, W] for image models
};

// The entry for a model name, or an error listing the known names.
Expected<CatalogEntry> find_entry(const std::string& name);

// The model file: builds a zoo model into the cache on first use (written to
// a temporary name and renamed, so an interrupted build is not reused).
Expected<std::filesystem::path> model_file(const CatalogEntry& entry, const CompareOptions& options);

// Elements in the file's float initializers and Constant tensors: the
// parameters as published (the session's own count is after graph
// optimizations, e.g. position embeddings folded to the sequence length).
Expected<int64_t> file_parameter_count(const std::filesystem::path& model);

// Deterministic inputs for `batch` items: images uniform in [-1, 1), token
// ids spread over the vocabulary with a full attention mask.
std::vector<NamedTensor> make_batch(const CatalogEntry& entry, int64_t batch, int64_t seq_len, uint32_t seed = 42);

}  // namespace ecoinfer::compare
