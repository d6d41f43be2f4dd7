// A model as a pipeline stage: one input value, one output value, each a
// tensor or a tensor list. Across the items of a micro-batch, tensors with
// the same type and the same shape after the first dimension are stacked
// along that dimension (up to max_rows rows) and run as one batch, then
// split back per item: the model sees batches even when each item brings
// only one tensor. Needs a model whose first output dimension is the batch.
//
//   auto det = Session::load("det.onnx", {.threads = 1});
//   Stage s = model_stage("det model", std::shared_ptr<Session>(std::move(*det)), "det_input", "det_map",
//                         ValueType::kTensor, {.model_hash = file_hash("det.onnx").value()});
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ecoinfer/session.h"
#include "pipeline/pipeline.h"

namespace ecoinfer::pipeline {

struct ModelStageOptions {
  int64_t max_rows = 32;     // rows per stacked run
  std::string model_hash;    // file_hash of the model: part of the cache key
};

Stage model_stage(std::string name, std::shared_ptr<const Session> session, std::string input, std::string output,
                  ValueType type, const ModelStageOptions& options = {});

// XXH3 64-bit hash of a file's bytes, as 16 hex digits.
Expected<std::string> file_hash(const std::filesystem::path& path);

}  // namespace ecoinfer::pipeline
