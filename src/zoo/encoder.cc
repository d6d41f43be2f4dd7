// BERT-style Transformer encoder (Devlin et al. 2019), as exported from
// Hugging Face: embeddings, N post-LayerNorm layers of multi-head attention
// and a GELU feed-forward, an optional tanh pooler. BERT-base and
// DistilBERT-base are two configurations of it (zoo.cc).
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "zoo/builders.h"

namespace ecoinfer::zoo {
namespace {

// BERT's initializer: normal(0, 0.02) for every matrix.
constexpr float kInitStd = 0.02f;

class EncoderWriter {
 public:
  EncoderWriter(OnnxBuilder& b, const EncoderConfig& c, int64_t seq_len) : b_(b), c_(c), seq_(seq_len) {}

  std::string embeddings(const std::string& input_ids) {
    std::string words = b_.normal_weight("embeddings.word_embeddings.weight", {c_.vocab, c_.hidden}, kInitStd);
    std::string x = b_.op("Gather", {words, input_ids}, {attr("axis", int64_t{0})});
    std::vector<int64_t> ids(static_cast<size_t>(seq_));
    std::iota(ids.begin(), ids.end(), 0);
    std::string positions = b_.normal_weight("embeddings.position_embeddings.weight", {c_.positions, c_.hidden}, kInitStd);
    std::string position_ids = b_.int64_constant("embeddings.position_ids", {seq_}, ids);
    x = b_.op("Add", {x, b_.op("Gather", {positions, position_ids}, {attr("axis", int64_t{0})})});
    if (c_.token_types > 0) {
      // The models take no token_type_ids: every token is segment 0, as
      // for a single sentence.
      std::string types = b_.normal_weight("embeddings.token_type_embeddings.weight", {c_.token_types, c_.hidden}, kInitStd);
      std::string zero = b_.int64_constant("embeddings.token_type_zero", {}, {0});
      x = b_.op("Add", {x, b_.op("Gather", {types, zero}, {attr("axis", int64_t{0})})});
    }
    return layer_norm(x, "embeddings.LayerNorm");
  }

  // [batch, seq] 1/0 mask -> [batch, 1, 1, seq] additive bias (0 or -10000).
  std::string attention_bias(const std::string& mask) {
    std::string m = b_.op("Cast", {mask}, {attr("to", int64_t{onnx::TensorProto::FLOAT})});
    std::string one = b_.float_constant("mask.one", {}, {1.0f});
    std::string big = b_.float_constant("mask.neg_large", {}, {-10000.0f});
    std::string bias = b_.op("Mul", {b_.op("Sub", {one, m}), big});
    std::string axes = b_.int64_constant("mask.axes", {2}, {1, 2});
    return b_.op("Unsqueeze", {bias, axes});
  }

  std::string layer(const std::string& x, const std::string& bias, const std::string& name) {
    std::string attended = attention(x, bias, name + ".attention");
    std::string x1 = layer_norm(b_.op("Add", {attended, x}), name + ".attention.output.LayerNorm");
    std::string h = gelu(dense(x1, c_.hidden, c_.ffn, name + ".intermediate.dense"));
    h = dense(h, c_.ffn, c_.hidden, name + ".output.dense");
    return layer_norm(b_.op("Add", {h, x1}), name + ".output.LayerNorm");
  }

  std::string pooler(const std::string& x) {
    std::string first = b_.int64_constant("pooler.first_token", {}, {0});
    std::string cls = b_.op("Gather", {x, first}, {attr("axis", int64_t{1})});
    return b_.op_named("pooler_output", "Tanh", {dense(cls, c_.hidden, c_.hidden, "pooler.dense")});
  }

 private:
  std::string dense(const std::string& x, int64_t in, int64_t out, const std::string& name) {
    std::string w = b_.normal_weight(name + ".weight", {in, out}, kInitStd);
    std::string bias = b_.filled_weight(name + ".bias", {out}, 0.0f);
    return b_.op("Add", {b_.op("MatMul", {x, w}, {}, name), bias});
  }

  std::string layer_norm(const std::string& x, const std::string& name) {
    std::string gamma = b_.filled_weight(name + ".weight", {c_.hidden}, 1.0f);
    std::string beta = b_.filled_weight(name + ".bias", {c_.hidden}, 0.0f);
    return b_.op("LayerNormalization", {x, gamma, beta}, {attr("axis", int64_t{-1}), attr("epsilon", 1e-12f)}, name);
  }

  // Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))).
  std::string gelu(const std::string& x) {
    std::string inv_sqrt2 = constant(1.0f / std::sqrt(2.0f));
    std::string e = b_.op("Erf", {b_.op("Mul", {x, inv_sqrt2})});
    std::string half = b_.op("Mul", {x, constant(0.5f)});
    return b_.op("Mul", {half, b_.op("Add", {e, constant(1.0f)})});
  }

  std::string constant(float v) { return b_.float_constant(fmt::format("const_{}", constants_++), {}, {v}); }

  // [batch, seq, hidden] -> [batch, heads, seq, head_dim] (perm 0,2,1,3) or,
  // for keys, [batch, heads, head_dim, seq] (perm 0,2,3,1).
  std::string split_heads(const std::string& x, const std::vector<int64_t>& perm) {
    std::string shape = b_.int64_constant(fmt::format("heads_shape_{}", constants_++), {4},
                                          {-1, seq_, c_.heads, c_.hidden / c_.heads});
    return b_.op("Transpose", {b_.op("Reshape", {x, shape})}, {attr("perm", perm)});
  }

  std::string attention(const std::string& x, const std::string& bias, const std::string& name) {
    std::string q = split_heads(dense(x, c_.hidden, c_.hidden, name + ".self.query"), {0, 2, 1, 3});
    std::string k = split_heads(dense(x, c_.hidden, c_.hidden, name + ".self.key"), {0, 2, 3, 1});
    std::string v = split_heads(dense(x, c_.hidden, c_.hidden, name + ".self.value"), {0, 2, 1, 3});
    float scale = 1.0f / std::sqrt(static_cast<float>(c_.hidden / c_.heads));
    std::string scores = b_.op("Mul", {b_.op("MatMul", {q, k}), constant(scale)});
    std::string probs = b_.op("Softmax", {b_.op("Add", {scores, bias})}, {attr("axis", int64_t{-1})});
    std::string context = b_.op("Transpose", {b_.op("MatMul", {probs, v})}, {attr("perm", std::vector<int64_t>{0, 2, 1, 3})});
    std::string merged_shape = b_.int64_constant(fmt::format("merge_shape_{}", constants_++), {3}, {-1, seq_, c_.hidden});
    context = b_.op("Reshape", {context, merged_shape});
    return dense(context, c_.hidden, c_.hidden, name + ".output.dense");
  }

  OnnxBuilder& b_;
  const EncoderConfig& c_;
  int64_t seq_;
  int constants_ = 0;
};

}  // namespace

onnx::ModelProto build_encoder(const std::string& name, const EncoderConfig& config, int64_t seq_len,
                               uint64_t seed) {
  OnnxBuilder b(name, kOpset, seed);
  b.input("input_ids", onnx::TensorProto::INT64, {"batch", seq_len});
  b.input("attention_mask", onnx::TensorProto::INT64, {"batch", seq_len});
  EncoderWriter w(b, config, seq_len);
  std::string x = w.embeddings("input_ids");
  std::string bias = w.attention_bias("attention_mask");
  for (int64_t i = 0; i < config.layers; ++i) x = w.layer(x, bias, fmt::format("encoder.layer.{}", i));
  x = b.op_named("last_hidden_state", "Identity", {x});
  b.output(x, onnx::TensorProto::FLOAT, {"batch", seq_len, config.hidden});
  if (config.pooler) {
    b.output(w.pooler(x), onnx::TensorProto::FLOAT, {"batch", config.hidden});
  }
  return b.finish();
}

}  // namespace ecoinfer::zoo
