// QOperator files made by a real tool: a PaddleOCR model quantized to QDQ
// by `ecoinfer quantize`'s library, then loaded in ONNX Runtime 1.30, which
// saves the graph it runs (scripts/ort-save-optimized.js, level
// "extended"): its CPU provider fuses DQ -> Conv -> Q into QLinearConv,
// DQ -> MatMul -> Q into QLinearMatMul, and writes com.microsoft contrib ops
// (FusedConv, MatMulIntegerToFloat, QuickGelu). ecoinfer must
//   - run that file with every quantized op on the int8 oneDNN path
//     (expand_qlinear + expand_contrib_ops + the QDQ fusions): no QLinear
//     node left, no DequantizeLinear left;
//   - agree with ONNX Runtime on the same file (cosine >= 0.999), and with
//     its own reference kernels (optimize=false: QLinearConv as written);
//   - give what it gives on the QDQ file ORT started from (the same int8
//     primitives: bit for bit on these files, asserted to cosine 0.99999).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "quant/fidelity.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

using quant::cosine_similarity;

struct Case {
  const char* model;
  const char* shape;  // fixture folder under tests/fixtures/ort/<model>/
  Shape dims;
  // Save the fp32 model through ORT's "basic" level first (it folds
  // BatchNormalization into Conv), so that more Convs end in a
  // QuantizeLinear and become QLinearConv, and the classifier a QGemm.
  bool fold_batchnorm_first = false;
};

// "domain:op_type" -> count, as the file says.
std::map<std::string, int> ops_in_file(const fs::path& file) {
  onnx::ModelProto m;
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&in)) << file;
  std::map<std::string, int> ops;
  for (const auto& n : m.graph().node()) ++ops[n.domain() + ":" + n.op_type()];
  return ops;
}

int system_or_log(const std::string& cmd, const fs::path& log) {
  return std::system((cmd + " > " + log.string() + " 2>&1").c_str());
}

fs::path make_qoperator_file(const Case& c, const fs::path& dir) {
  const std::string save = "node " + (testing::source_dir() / "scripts/ort-save-optimized.js").string() + " ";
  fs::path fp32 = testing::models_dir() / (std::string(c.model) + ".onnx");
  if (c.fold_batchnorm_first) {
    const std::string cmd = save + fp32.string() + " " + (dir / "folded.onnx").string() + " basic";
    EXPECT_EQ(system_or_log(cmd, dir / "fold.log"), 0) << cmd << " failed (see " << (dir / "fold.log") << ")";
    fp32 = dir / "folded.onnx";
  }
  const fs::path qdq = dir / "model.int8.onnx", qop = dir / "model.qop.onnx";
  quant::QuantizeOptions o;
  o.per_channel = true;
  o.calibration.random_count = 2;
  o.calibration.held_out = 1;
  o.calibration.shapes = {{"x", c.dims}};
  o.min_cosine = 0;  // fidelity to fp32 is quantize's business, not this test's
  o.threads = 1;
  auto report = quant::quantize_model(fp32, qdq, o);
  EXPECT_TRUE(report) << report.status().message();
  const std::string cmd = save + qdq.string() + " " + qop.string() + " extended";
  EXPECT_EQ(system_or_log(cmd, dir / "save.log"), 0) << cmd << " failed (see " << (dir / "save.log") << ")";
  return qop;
}

std::vector<NamedTensor> run(const fs::path& model, const Tensor& x, bool optimize, int* qlinear_left = nullptr,
                             int* dequantize_left = nullptr) {
  auto s = Session::load(model, {.threads = 1, .optimize = optimize});
  EXPECT_TRUE(s) << s.status().message();
  if (!s) return {};
  if (qlinear_left) *qlinear_left = testing::count_op(**s, "QLinearConv") + testing::count_op(**s, "QLinearMatMul");
  if (dequantize_left) *dequantize_left = testing::count_op(**s, "DequantizeLinear");
  auto y = (*s)->run({{(*s)->inputs()[0].name, x}});
  EXPECT_TRUE(y) << y.status().message();
  return y ? *y : std::vector<NamedTensor>{};
}

Tensor ort_output(const fs::path& model, const fs::path& dir, const std::string& name) {
  const std::string cmd = "node " + (testing::source_dir() / "tests/ort_run.js").string() + " " + model.string() +
                          " " + (dir / "ort").string() + " x=" + (dir / "x.npy").string();
  EXPECT_EQ(system_or_log(cmd, dir / "ort.log"), 0) << cmd << " failed (see " << (dir / "ort.log") << ")";
  std::string file = name;
  for (char& ch : file)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) ch = '_';
  auto t = read_npy(dir / "ort" / (file + ".npy"));
  EXPECT_TRUE(t) << t.status().message();
  return t ? *t : Tensor{};
}

// Returns the file's op counts, for the per-model checks.
std::map<std::string, int> check(const Case& c) {
  const fs::path input = testing::fixtures_dir() / "ort" / c.model / c.shape / "x.npy";
  EXPECT_TRUE(fs::exists(input)) << input << " is missing (scripts/setup.sh)";
  const fs::path dir =
      testing::temp_dir(std::string("qoperator_") + c.model + (c.fold_batchnorm_first ? "_folded" : ""));
  const fs::path qop = make_qoperator_file(c, dir);
  const auto ops = ops_in_file(qop);
  EXPECT_GT(ops.count(":QLinearConv"), 0u) << "ONNX Runtime wrote no QLinearConv: not a QOperator file";

  auto x = read_npy(input);
  EXPECT_TRUE(x) << x.status().message();
  if (!x) return ops;
  EXPECT_TRUE(write_npy(dir / "x.npy", *x).is_ok());
  int qlinear_left = -1, dequantize_left = -1;
  const auto fast = run(qop, *x, true, &qlinear_left, &dequantize_left);
  const auto reference = run(qop, *x, false);
  const auto from_qdq = run(dir / "model.int8.onnx", *x, true);
  EXPECT_EQ(qlinear_left, 0) << "a QLinear node still runs on the reference kernel";
  EXPECT_EQ(dequantize_left, 0) << "a quantized op still runs in float32";
  if (fast.empty() || reference.empty() || from_qdq.size() != fast.size()) return ops;
  for (size_t i = 0; i < fast.size(); ++i) {
    const Tensor ort = ort_output(qop, dir, fast[i].name);
    const double vs_ort = cosine_similarity(fast[i].tensor, ort);
    const double vs_reference = cosine_similarity(fast[i].tensor, reference[i].tensor);
    const double vs_qdq = cosine_similarity(fast[i].tensor, from_qdq[i].tensor);
    std::printf("%s %s: cosine vs ONNX Runtime %.6f, vs ecoinfer's reference kernels %.6f, vs the QDQ file %.7f\n",
                c.model, fast[i].name.c_str(), vs_ort, vs_reference, vs_qdq);
    EXPECT_GE(vs_qdq, 0.99999) << fast[i].name;
    EXPECT_GE(vs_ort, 0.999) << fast[i].name;
    EXPECT_GE(vs_reference, 0.999) << fast[i].name;
  }
  return ops;
}

TEST(QOperatorModels, ClsSavedByOnnxRuntime) {
  const auto ops = check({"ch_ppocr_mobile_v2.0_cls_infer", "1x3x48x192", {1, 3, 48, 192}});
  EXPECT_GT(ops.count("com.microsoft:FusedConv"), 0u);
}

TEST(QOperatorModels, ClsWithBatchNormFoldedSavedByOnnxRuntime) {
  const auto ops = check({"ch_ppocr_mobile_v2.0_cls_infer", "1x3x48x192", {1, 3, 48, 192}, true});
  EXPECT_GT(ops.count("com.microsoft:QGemm"), 0u);
}

TEST(QOperatorModels, RecSavedByOnnxRuntime) {
  const auto ops = check({"ch_PP-OCRv4_rec_infer", "1x3x48x160", {1, 3, 48, 160}});
  EXPECT_GT(ops.count(":QLinearMatMul"), 0u);
  EXPECT_GT(ops.count("com.microsoft:MatMulIntegerToFloat"), 0u);
  EXPECT_GT(ops.count("com.microsoft:QuickGelu"), 0u);
}

}  // namespace
}  // namespace ecoinfer
