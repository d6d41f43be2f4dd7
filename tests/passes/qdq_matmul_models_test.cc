// The zoo's transformer encoder, quantized by `ecoinfer quantize`'s library,
// run with the int8 MatMul fusion (fuse_qdq_matmul, kernels/cpu/matmul.cc)
// against ONNX Runtime 1.30 on the same file (tests/ort_run.js):
//   - static QDQ (per-column weights, uint8 activations, attention's
//     activation x activation products quantized too), also against the
//     same file unfused (optimize=false, the QDQ graph's literal meaning);
//   - dynamic quantization (DynamicQuantizeLinear + MatMulInteger with
//     constant int8 weights -> Cast -> Mul), fused into one int8 MatMul
//     with the runtime zero point and scale, also against unfused.
// A small encoder (2 layers, hidden 64) keeps the test fast; DistilBERT-base
// at sequence length 16 is the real-size check.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "quant/fidelity.h"
#include "quant/quantize.h"
#include "test_util.h"
#include "zoo/builders.h"
#include "zoo/zoo.h"

namespace ecoinfer {
namespace {

using testing::count_op;
namespace fs = std::filesystem;

constexpr int64_t kSeq = 16;

fs::path small_encoder(const fs::path& dir) {
  zoo::EncoderConfig c;
  c.layers = 2;
  c.hidden = 64;
  c.heads = 4;
  c.ffn = 128;
  c.vocab = 200;
  c.positions = 64;
  onnx::ModelProto model = zoo::build_encoder("small-encoder", c, kSeq, 7);
  // BERT's initialization (std 0.02) leaves a small encoder's output almost
  // all embeddings: 10x larger layer weights make the products (and any
  // error in them) count.
  for (onnx::TensorProto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.name().rfind("encoder.layer", 0) != 0 || t.dims_size() != 2 || t.raw_data().empty()) continue;
    std::string& raw = *t.mutable_raw_data();
    for (size_t i = 0; i + sizeof(float) <= raw.size(); i += sizeof(float)) {
      float v;
      std::memcpy(&v, raw.data() + i, sizeof v);
      v *= 10.0f;
      std::memcpy(raw.data() + i, &v, sizeof v);
    }
  }
  const fs::path path = dir / "encoder.onnx";
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  return path;
}

std::vector<NamedTensor> inputs(int64_t vocab) {
  Tensor ids = Tensor::zeros(DataType::kInt64, {1, kSeq});
  Tensor mask = Tensor::zeros(DataType::kInt64, {1, kSeq});
  for (int64_t i = 0; i < kSeq; ++i) {
    ids.data<int64_t>()[i] = (i * 37 + 11) % vocab;
    mask.data<int64_t>()[i] = i < kSeq - 3 ? 1 : 0;  // three padding tokens
  }
  return {{"input_ids", ids}, {"attention_mask", mask}};
}

fs::path quantize(const fs::path& fp32, quant::QuantMode mode) {
  const fs::path out = fp32.parent_path() / (mode == quant::QuantMode::kStatic ? "static.onnx" : "dynamic.onnx");
  quant::QuantizeOptions o;
  o.mode = mode;
  o.per_channel = true;
  o.calibration.random_count = mode == quant::QuantMode::kStatic ? 4 : 0;
  o.calibration.held_out = 1;
  o.calibration.shapes = {{"input_ids", {1, kSeq}}, {"attention_mask", {1, kSeq}}};
  o.min_cosine = 0;  // this test compares engines, not calibrations
  o.threads = 1;
  auto report = quant::quantize_model(fp32, out, o);
  EXPECT_TRUE(report) << report.status().message();
  return out;
}

Tensor run(const fs::path& model, const std::vector<NamedTensor>& in, bool optimize, int* dequantize_left = nullptr) {
  auto s = Session::load(model, {.threads = 1, .optimize = optimize});
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  if (dequantize_left != nullptr) *dequantize_left = count_op(**s, "DequantizeLinear");
  auto y = (*s)->run(in);
  EXPECT_TRUE(y) << y.status().message();
  return y ? (*y)[0].tensor : Tensor();
}

Tensor run_ort(const fs::path& model, const std::vector<NamedTensor>& in) {
  const fs::path dir = model.parent_path() / (model.stem().string() + "_ort");
  std::string cmd = "node " + (testing::source_dir() / "tests/ort_run.js").string() + " " + model.string() + " " +
                    dir.string();
  for (const auto& [name, t] : in) {
    const fs::path file = model.parent_path() / (name + ".npy");
    EXPECT_TRUE(write_npy(file, t).is_ok());
    cmd += " " + name + "=" + file.string();
  }
  cmd += " > " + (dir.string() + ".log") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (see " << dir.string() << ".log)";
  auto y = read_npy(dir / "last_hidden_state.npy");
  EXPECT_TRUE(y) << y.status().message();
  return y ? *y : Tensor();
}

bool int8_matmul_used() {
  for (const auto& u : onednn_implementations_used()) {
    if (u.kind == "matmul int8") return true;
  }
  return false;
}

void check_static(const fs::path& fp32, int64_t vocab, int layers) {
  const fs::path model = quantize(fp32, quant::QuantMode::kStatic);
  {
    // hoist_quantize moved the heads' QuantizeLinear (after Reshape and
    // Transpose) to the projections, which write uint8 themselves: only the
    // softmax's and the LayerNorms' (two per layer, the embeddings') stay
    // standalone. Before, 4 more per layer.
    auto s = Session::load(model, {.threads = 1});
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_LE(count_op(**s, "QuantizeLinear"), 3 * layers + 1);
  }
  const auto in = inputs(vocab);
  int dequantize_left = -1;
  const Tensor fused = run(model, in, true, &dequantize_left);
  const Tensor unfused = run(model, in, false);
  const Tensor ort = run_ort(model, in);
  const Tensor reference = run(fp32, in, true);
  ASSERT_TRUE(fused.defined() && unfused.defined() && ort.defined() && reference.defined());
  ASSERT_EQ(fused.shape(), ort.shape());
  // Every DequantizeLinear fed a MatMul: all are gone into int8 products.
  EXPECT_EQ(dequantize_left, 0);
  EXPECT_TRUE(int8_matmul_used());
  const double vs_unfused = quant::cosine_similarity(fused, unfused), vs_ort = quant::cosine_similarity(fused, ort);
  std::printf("%s static int8: cosine fused vs unfused %.6f, vs ONNX Runtime %.6f (vs fp32 %.6f)\n",
              fp32.stem().c_str(), vs_unfused, vs_ort, quant::cosine_similarity(fused, reference));
  EXPECT_GE(vs_unfused, 0.999);
  EXPECT_GE(vs_ort, 0.999);
}

void check_dynamic(const fs::path& fp32, int64_t vocab) {
  const fs::path model = quantize(fp32, quant::QuantMode::kDynamic);
  const auto in = inputs(vocab);
  const Tensor y = run(model, in, true);
  const Tensor unfused = run(model, in, false);
  {
    // MatMulInteger -> Cast -> Mul became one int8 MatMul each.
    auto s = Session::load(model, {.threads = 1});
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(count_op(**s, "MatMulInteger"), 0);
    EXPECT_EQ(count_op(**s, "Cast"), 1);  // the attention mask's
  }
  const Tensor ort = run_ort(model, in);
  const Tensor reference = run(fp32, in, true);
  ASSERT_TRUE(y.defined() && unfused.defined() && ort.defined() && reference.defined());
  ASSERT_EQ(y.shape(), ort.shape());
  EXPECT_TRUE(int8_matmul_used());
  const double vs_unfused = quant::cosine_similarity(y, unfused), vs_ort = quant::cosine_similarity(y, ort);
  std::printf("%s dynamic int8: cosine fused vs unfused %.6f, vs ONNX Runtime %.6f (vs fp32 %.6f)\n",
              fp32.stem().c_str(), vs_unfused, vs_ort, quant::cosine_similarity(y, reference));
  EXPECT_GE(vs_unfused, 0.999);
  EXPECT_GE(vs_ort, 0.999);
}

TEST(QdqMatMulModels, SmallEncoderStaticMatchesUnfusedAndOnnxRuntime) {
  check_static(small_encoder(testing::temp_dir("qdq_matmul_encoder_static")), 200, 2);
}

TEST(QdqMatMulModels, SmallEncoderDynamicMatchesOnnxRuntime) {
  check_dynamic(small_encoder(testing::temp_dir("qdq_matmul_encoder_dynamic")), 200);
}

TEST(QdqMatMulModels, DistilBertStaticMatchesUnfusedAndOnnxRuntime) {
  const fs::path fp32 = testing::temp_dir("qdq_matmul_distilbert") / "distilbert.onnx";
  ASSERT_TRUE(zoo::write_zoo_model("distilbert-base", {.seq_len = kSeq}, fp32).is_ok());
  check_static(fp32, 30522, 6);
}

}  // namespace
}  // namespace ecoinfer
