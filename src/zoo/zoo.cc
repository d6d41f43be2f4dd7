#include "zoo/zoo.h"

#include <fmt/format.h>

#include "zoo/builders.h"

namespace ecoinfer::zoo {
namespace {

// Hugging Face's bert-base-uncased and distilbert-base-uncased.
EncoderConfig bert_base() { return {}; }
EncoderConfig distilbert_base() {
  EncoderConfig c;
  c.layers = 6;
  c.token_types = 0;
  c.pooler = false;
  return c;
}

}  // namespace

const std::vector<ZooModelInfo>& zoo_models() {
  // Reference counts: torchvision's resnet50 and mobilenet_v3_large, Hugging
  // Face's models (the papers round them to 25.6M, 5.4M, 110M, 66M).
  static const std::vector<ZooModelInfo> models = {
      {"bert-base", "BERT-base uncased", "Transformer", "text encoding", 109'482'240,
       "bert-base-uncased (Hugging Face), 110M in the paper", true},
      {"resnet50", "ResNet-50 v1.5", "Convolutional", "image classification", 25'557'032,
       "torchvision resnet50, 25.6M", false},
      {"mobilenetv3-large", "MobileNetV3-Large", "Efficient hybrid", "image classification", 5'483'032,
       "torchvision mobilenet_v3_large, 5.4M in the paper", false},
      {"distilbert-base", "DistilBERT-base uncased", "Distilled", "text encoding", 66'362'880,
       "distilbert-base-uncased (Hugging Face), 66M in the paper", true},
  };
  return models;
}

const ZooModelInfo* find_zoo_model(const std::string& name) {
  for (const auto& m : zoo_models())
    if (m.name == name) return &m;
  return nullptr;
}

Status write_zoo_model(const std::string& name, const ZooOptions& options, const std::filesystem::path& path,
                       int64_t* parameters) {
  if (find_zoo_model(name) == nullptr) {
    std::string names;
    for (const auto& m : zoo_models()) names += (names.empty() ? "" : ", ") + m.name;
    return not_found(fmt::format("no zoo model named '{}': choose one of {} (ecoinfer zoo list)", name, names));
  }
  if (options.seq_len < 1 || options.seq_len > 512)
    return invalid_argument(fmt::format("--seq-len {} is out of range: BERT's position table has 512 entries (1..512)",
                                        options.seq_len));
  onnx::ModelProto model;
  if (name == "resnet50") model = build_resnet50(options.seed);
  else if (name == "mobilenetv3-large") model = build_mobilenet_v3_large(options.seed);
  else if (name == "bert-base") model = build_encoder("bert_base", bert_base(), options.seq_len, options.seed);
  else model = build_encoder("distilbert_base", distilbert_base(), options.seq_len, options.seed);
  if (parameters != nullptr) {
    int64_t n = 0;
    for (const auto& t : model.graph().initializer())
      if (t.data_type() == onnx::TensorProto::FLOAT) n += static_cast<int64_t>(t.raw_data().size() / sizeof(float));
    *parameters = n;
  }
  return save_model(model, path);
}

}  // namespace ecoinfer::zoo
