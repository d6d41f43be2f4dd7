// Quantizes each real PaddleOCR model on rendered text images, checks the
// fidelity on held-out images (cosine >= 0.99), and that the QDQ file loads
// and runs in ONNX Runtime 1.30 with outputs close to ecoinfer's run of the
// same file (the int8 kernels, or their float emulation until they exist).
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "quant/fidelity.h"
#include "quant/float_emulation.h"
#include "quant/model_proto.h"
#include "quant/quantize.h"
#include "test_util.h"
#include "text_images.h"

namespace ecoinfer::quant {
namespace {
namespace fs = std::filesystem;

struct RealModel {
  std::string name;
  std::string file;
  int height, width;
  testing::Normalization norm;
  RangeMethod method;  // the one that meets 0.99 on these images (docs/QUANTIZATION.md has all)
  std::vector<std::string> exclude;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ecoinfer's run of the quantized file: directly when the engine has the
// Q/DQ kernels, else the float emulation of the same graph.
Expected<std::vector<NamedTensor>> run_quantized_in_ecoinfer(const fs::path& model, const NamedTensor& input,
                                                             const fs::path& dir) {
  auto direct = Session::load(model, {.threads = 1});
  if (!direct) {
    ECOINFER_ASSIGN_OR_RETURN(onnx::ModelProto proto, load_model_proto(model));
    ECOINFER_ASSIGN_OR_RETURN(onnx::ModelProto emulated, float_emulation(proto));
    ECOINFER_RETURN_IF_ERROR(save_model_proto(emulated, dir / "emulated.onnx"));
    direct = Session::load(dir / "emulated.onnx", {.threads = 1});
    if (!direct) return direct.status();
  }
  return (*direct)->run({input});
}

class QuantizeRealModel : public ::testing::TestWithParam<RealModel> {};

TEST_P(QuantizeRealModel, FidelityOnHeldOutImagesAndRunsInOrt) {
  const RealModel& m = GetParam();
  const fs::path model = testing::models_dir() / (m.file + ".onnx");
  ASSERT_TRUE(fs::exists(model)) << "models are missing: run scripts/fetch-models.sh";
  const fs::path dir = testing::temp_dir("quantize_" + m.file);
  ASSERT_TRUE(testing::write_text_images(dir / "calib", "x", 10, m.height, m.width, m.norm, 1).is_ok());

  QuantizeOptions o;
  o.calibration.folder = dir / "calib";
  o.calibration.held_out = 2;
  o.method = m.method;
  o.exclude = m.exclude;
  o.per_channel = true;
  o.threads = 1;
  const fs::path out = dir / "q.onnx";
  auto report = quantize_model(model, out, o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->calibration_samples, 8);
  EXPECT_GT(report->quantized_nodes, 10);
  ASSERT_EQ(report->outputs.size(), 1u);
  EXPECT_TRUE(report->passed) << report->failure_message();
  EXPECT_GE(report->outputs[0].cosine, 0.99);
  EXPECT_LT(report->int8_bytes, report->fp32_bytes * 3 / 4) << "int8 weights should shrink the file";

  // ONNX Runtime runs the same file on a held-out image.
  const fs::path src = testing::source_dir();
  ASSERT_TRUE(fs::exists(src / "node_modules" / "onnxruntime-node" / "package.json")) << "onnxruntime-node is not installed (scripts/setup.sh)";
  const fs::path held_out = dir / "calib" / "x" / "009.npy";
  const std::string cmd = "timeout 120 node " + (src / "tests" / "ort_run.js").string() + " " + out.string() +
                          " " + (dir / "ort").string() + " x=" + held_out.string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "ORT failed on the quantized model:\n" << slurp(dir / "err");
  auto x = read_npy(held_out);
  ASSERT_TRUE(x);
  auto ours = run_quantized_in_ecoinfer(out, {"x", *x}, dir);
  ASSERT_TRUE(ours) << ours.status().message();
  auto fp32 = Session::load(model, {.threads = 1});
  ASSERT_TRUE(fp32);
  auto reference = (*fp32)->run({{"x", *x}});
  ASSERT_TRUE(reference);
  const NamedTensor& y = (*ours)[0];
  auto ort = read_npy(dir / "ort" / (y.name + ".npy"));
  ASSERT_TRUE(ort) << ort.status().message();
  ASSERT_EQ(ort->shape(), y.tensor.shape());
  EXPECT_GE(cosine_similarity(*ort, y.tensor), 0.999) << "ORT and ecoinfer disagree on the int8 model";
  // Not elementwise-equal: ORT fuses the Q/DQ pairs into its own int8
  // kernels, whose rounding differs; the decisions must still agree: the
  // class per position (cls, rec), the text mask DB thresholds at 0.3 (det).
  if (m.name == "det") {
    const auto a = ort->span<float>();
    const auto b = y.tensor.span<float>();
    size_t same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += (a[i] > 0.3f) == (b[i] > 0.3f);
    EXPECT_GE(same, a.size() * 98 / 100) << "text masks agree on " << same << " of " << a.size() << " pixels";
  } else {
    const auto [agree, positions] = top1_agreement(*ort, y.tensor);
    EXPECT_GE(agree, positions * 9 / 10) << "argmax agrees on " << agree << " of " << positions << " positions";
  }
  EXPECT_GE(cosine_similarity(*ort, (*reference)[0].tensor), 0.99) << "ORT's int8 result is far from fp32";
}

// Dynamic quantization of rec's MatMuls (its transformer part): random
// held-out inputs suffice, no calibration; ORT runs the MatMulInteger file.
TEST(QuantizeRealModelDynamic, RecMatMulsRunInOrt) {
  const fs::path model = testing::models_dir() / "ch_PP-OCRv4_rec_infer.onnx";
  ASSERT_TRUE(fs::exists(model)) << "models are missing: run scripts/fetch-models.sh";
  const fs::path dir = testing::temp_dir("quantize_rec_dynamic");
  QuantizeOptions o;
  o.mode = QuantMode::kDynamic;
  o.per_channel = true;
  o.calibration.shapes = {{"x", {1, 3, 48, 160}}};
  o.threads = 1;
  auto report = quantize_model(model, dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->calibration_samples, 0);
  EXPECT_GT(report->quantized_by_op["MatMul"], 5);
  EXPECT_TRUE(report->passed) << report->failure_message();
  const fs::path src = testing::source_dir();
  ASSERT_TRUE(fs::exists(src / "node_modules" / "onnxruntime-node" / "package.json")) << "onnxruntime-node is not installed (scripts/setup.sh)";
  ASSERT_TRUE(write_npy(dir / "x.npy", testing::random_tensor(DataType::kFloat32, {1, 3, 48, 160}, 7)).is_ok());
  const std::string cmd = "timeout 120 node " + (src / "tests" / "ort_run.js").string() + " " +
                          (dir / "q.onnx").string() + " " + (dir / "ort").string() + " x=" + (dir / "x.npy").string() +
                          " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "ORT failed on the dynamic model:\n" << slurp(dir / "err");
  auto x = read_npy(dir / "x.npy");
  ASSERT_TRUE(x);
  auto ours = run_quantized_in_ecoinfer(dir / "q.onnx", {"x", *x}, dir);
  ASSERT_TRUE(ours) << ours.status().message();
  auto ort = read_npy(dir / "ort" / ((*ours)[0].name + ".npy"));
  ASSERT_TRUE(ort);
  EXPECT_GE(cosine_similarity(*ort, (*ours)[0].tensor), 0.999);
}

INSTANTIATE_TEST_SUITE_P(
    PaddleOcr, QuantizeRealModel,
    ::testing::Values(RealModel{"cls", "ch_ppocr_mobile_v2.0_cls_infer", 48, 192, testing::Normalization::kHalf, RangeMethod::kPercentile, {}},
                      RealModel{"det", "ch_PP-OCRv4_det_infer", 96, 128, testing::Normalization::kImageNet, RangeMethod::kPercentile, {}},
                      RealModel{"rec", "ch_PP-OCRv4_rec_infer", 48, 160, testing::Normalization::kHalf, RangeMethod::kMinMax,
                               // Its convolutions in int8 reach only 0.92-0.97 on these images (the error
                               // grows through the early backbone; docs/QUANTIZATION.md): the
                               // transformer's MatMuls are quantized, the convolutions stay fp32.
                               {"Conv"}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ecoinfer::quant
