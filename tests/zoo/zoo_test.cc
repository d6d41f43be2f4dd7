// The zoo's models: parameter counts match the reference implementations,
// and each model runs in ecoinfer with the same outputs as ONNX Runtime 1.30
// (tests/ort_run.js, run with node at test time).
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "test_util.h"
#include "zoo/zoo.h"

namespace ecoinfer {
namespace {

namespace fs = std::filesystem;
using testing::temp_dir;

constexpr int64_t kSeqLen = 16;  // short, to keep the ORT comparison fast

bool ort_available() {
  return fs::exists(testing::source_dir() / "node_modules" / "onnxruntime-node" / "package.json") &&
         std::system("node --version >/dev/null 2>&1") == 0;
}

std::vector<NamedTensor> inputs_for(const zoo::ZooModelInfo& m) {
  if (!m.is_transformer) return {{"input", testing::random_tensor(DataType::kFloat32, {1, 3, 224, 224}, 7)}};
  std::vector<int64_t> ids(kSeqLen), mask(kSeqLen, 1);
  for (int64_t i = 0; i < kSeqLen; ++i) ids[i] = (i * 7919 + 101) % 30522;
  for (int64_t i = kSeqLen - 3; i < kSeqLen; ++i) mask[i] = 0;  // padding is masked out
  return {{"input_ids", Tensor::from_vector<int64_t>({1, kSeqLen}, ids)},
          {"attention_mask", Tensor::from_vector<int64_t>({1, kSeqLen}, mask)}};
}

class ZooModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModelTest, ParameterCountMatchesReferenceAndOutputsMatchOnnxRuntime) {
  const zoo::ZooModelInfo* info = zoo::find_zoo_model(GetParam());
  ASSERT_NE(info, nullptr);
  fs::path dir = temp_dir("zoo_" + GetParam());
  fs::path model = dir / "model.onnx";
  int64_t parameters = 0;
  Status st = zoo::write_zoo_model(info->name, {.seq_len = kSeqLen, .seed = 1}, model, &parameters);
  ASSERT_TRUE(st.is_ok()) << st.message();
  double relative = std::abs(static_cast<double>(parameters - info->reference_parameters)) /
                    static_cast<double>(info->reference_parameters);
  EXPECT_LT(relative, 0.01) << parameters << " parameters vs " << info->reference_parameters;

  auto session = Session::load(model, {.threads = 2});
  ASSERT_TRUE(session) << session.status().message();
  std::vector<NamedTensor> inputs = inputs_for(*info);
  std::vector<NodeTrace> trace;  // of the first run, which records the memory plan
  auto outputs = (*session)->run(inputs, &trace);
  ASSERT_TRUE(outputs) << outputs.status().message();
  // Published multiply-adds x 2 (ResNet-50 4.09G, MobileNetV3-Large 0.217G);
  // the encoders' matrix products at kSeqLen, counted by hand.
  const std::map<std::string, double> expected_gflops = {
      {"resnet50", 8.18}, {"mobilenetv3-large", 0.434}, {"bert-base", 2.73}, {"distilbert-base", 1.364}};
  double gflops = static_cast<double>(estimate_flops(trace)) / 1e9;
  EXPECT_NEAR(gflops, expected_gflops.at(info->name), 0.05 * expected_gflops.at(info->name));

  ASSERT_TRUE(ort_available()) << "onnxruntime-node or node is missing (scripts/setup.sh)";
  std::string command = fmt::format("node {}/tests/ort_run.js {} {}", testing::source_dir().string(), model.string(), dir.string());
  for (const auto& in : inputs) {
    fs::path file = dir / (in.name + ".npy");
    ASSERT_TRUE(write_npy(file, in.tensor).is_ok());
    command += fmt::format(" {}={}", in.name, file.string());
  }
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  for (const auto& out : *outputs) {
    auto expected = read_npy(dir / (out.name + ".npy"));
    ASSERT_TRUE(expected) << expected.status().message();
    // Synthetic weights give activations of order 1 to 100; fp32 sums over
    // thousands of terms in a different order differ in the 5th digit.
    EXPECT_TRUE(testing::tensors_close(out.tensor, *expected, 2e-3, 2e-3)) << out.name;
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModelTest,
                         ::testing::Values("resnet50", "mobilenetv3-large", "bert-base", "distilbert-base"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) if (c == '-') c = '_';
                           return n;
                         });

TEST(Zoo, UnknownNameAndBadSequenceLengthAreClearErrors) {
  fs::path dir = temp_dir("zoo_errors");
  Status st = zoo::write_zoo_model("resnet51", {}, dir / "m.onnx");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("resnet50"), std::string::npos) << st.message();
  st = zoo::write_zoo_model("bert-base", {.seq_len = 513}, dir / "m.onnx");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir / "m.onnx"));
}

TEST(Zoo, SameSeedGivesIdenticalFiles) {
  fs::path dir = temp_dir("zoo_seed");
  ASSERT_TRUE(zoo::write_zoo_model("mobilenetv3-large", {.seed = 3}, dir / "a.onnx").is_ok());
  ASSERT_TRUE(zoo::write_zoo_model("mobilenetv3-large", {.seed = 3}, dir / "b.onnx").is_ok());
  ASSERT_TRUE(zoo::write_zoo_model("mobilenetv3-large", {.seed = 4}, dir / "c.onnx").is_ok());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(slurp(dir / "a.onnx"), slurp(dir / "b.onnx"));
  EXPECT_NE(slurp(dir / "a.onnx"), slurp(dir / "c.onnx"));
}

}  // namespace
}  // namespace ecoinfer
