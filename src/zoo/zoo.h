// The model zoo: well-known architectures written as ONNX files with their
// real topology and seeded synthetic weights, for measuring speed, memory and
// energy on this machine (values do not change timing; pretrained weights
// need a network this project does not assume).
//
//   auto st = ecoinfer::zoo::write_zoo_model("distilbert-base", {.seq_len = 128}, "distilbert.onnx");
//   if (!st) { std::cerr << st.message() << "\n"; }
//
// Protobuf-free on purpose: the CLI uses it without linking ONNX's protos.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::zoo {

struct ZooModelInfo {
  std::string name;          // "resnet50": what `zoo build` takes
  std::string display_name;  // "ResNet-50 v1.5"
  std::string family;        // "Convolutional", "Transformer", ...
  std::string task;          // "image classification", "text encoding"
  int64_t reference_parameters = 0;  // the reference implementation's count
  std::string reference;             // where that count comes from
  bool is_transformer = false;       // takes input_ids/attention_mask, has a sequence length
};

// Every zoo model, in the order `zoo list` shows them.
const std::vector<ZooModelInfo>& zoo_models();
// The entry named `name`, or nullptr.
const ZooModelInfo* find_zoo_model(const std::string& name);

struct ZooOptions {
  int64_t seq_len = 128;  // transformers only
  uint64_t seed = 0;
};

// Builds the model and writes it to `path`; fills `parameters` when given.
Status write_zoo_model(const std::string& name, const ZooOptions& options, const std::filesystem::path& path,
                       int64_t* parameters = nullptr);

}  // namespace ecoinfer::zoo
