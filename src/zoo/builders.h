// The zoo's architecture builders: real topologies with seeded synthetic
// weights (timing and energy do not depend on weight values; pretrained
// weights cannot be downloaded here). zoo.h is the entry point for users.
#pragma once

#include <cstdint>
#include <string>

#include <onnx/onnx_pb.h>

#include "zoo/onnx_builder.h"

namespace ecoinfer::zoo {

inline constexpr int64_t kOpset = 17;  // LayerNormalization needs 17

// ResNet-50 v1.5 (stride in the 3x3 conv of each bottleneck), ImageNet head.
// Input "input" [batch, 3, 224, 224], output "logits" [batch, 1000].
onnx::ModelProto build_resnet50(uint64_t seed);

// MobileNetV3-Large 1.0 (torchvision layout), same input and output.
onnx::ModelProto build_mobilenet_v3_large(uint64_t seed);

// A BERT-style encoder. Inputs "input_ids" and "attention_mask" (int64,
// [batch, seq_len]); output "last_hidden_state" [batch, seq_len, hidden],
// plus "pooler_output" [batch, hidden] when `pooler`.
struct EncoderConfig {
  int64_t layers = 12;
  int64_t hidden = 768;
  int64_t heads = 12;
  int64_t ffn = 3072;
  int64_t vocab = 30522;
  int64_t positions = 512;
  int64_t token_types = 2;  // 0: no token type embedding (DistilBERT)
  bool pooler = true;
};
onnx::ModelProto build_encoder(const std::string& name, const EncoderConfig& config, int64_t seq_len,
                               uint64_t seed);

// Conv (no bias) + BatchNormalization with near-identity statistics, the
// unit both vision models are made of. Returns the BN output.
struct ConvSpec {
  int64_t in = 0, out = 0, kernel = 1, stride = 1, groups = 1;
  float bn_scale = 1.0f;  // gamma; < 1 for the last BN of a residual branch
};
std::string conv_bn(OnnxBuilder& b, const std::string& x, const ConvSpec& spec, const std::string& name);

}  // namespace ecoinfer::zoo
