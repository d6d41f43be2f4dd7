// A feature pyramid's tail (det's neck: maps upsampled by nearest Resize,
// concatenated, read by an int8 Conv), quantized by `ecoinfer quantize`'s
// library: the Concat's inputs get Q -> DQ with the Concat output's scale
// and zero point (quant/qdq_rewrite.cc), and fuse_qdq_concat then runs the
// Resize and the Concat on uint8 (the QuantizeLinear moved before each
// Resize, here into the Conv before it, the one after the Concat gone). Fused and unfused agree within a
// rounding tie, and the structure is checked on the optimized graph.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "onnx/model_loader.h"
#include "passes/pass.h"
#include "qdq_test_util.h"
#include "quant/fidelity.h"
#include "quant/model_proto.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

using testing::close_relative;
using testing::ModelBuilder;
using testing::set_int;
using testing::set_ints;
using testing::set_string;

std::vector<float> values(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// x[?,4,8,8] -> Conv a (4 -> 6, 3x3 stride 2) -> Relu -> Resize x2 (nearest) --+
// x          -> Conv b (4 -> 5, 1x1) ---------------------------------------> Concat -> Conv c (11 -> 3, 3x3) -> y
fs::path pyramid_model(const fs::path& dir) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 4, 8, 8});
  b.initializer("wa", {6, 4, 3, 3}, values(216, 1, 0.4f));
  b.initializer("wb", {5, 4, 1, 1}, values(20, 2, 0.6f));
  b.initializer("wc", {3, 11, 3, 3}, values(297, 3, 0.3f));
  auto* a = b.node("Conv", {"x", "wa"}, {"a"});
  set_ints(a, "pads", {1, 1, 1, 1});
  set_ints(a, "strides", {2, 2});
  b.node("Relu", {"a"}, {"ar"});
  b.initializer("scales", {4}, {1, 1, 2, 2});
  auto* resize = b.node("Resize", {"ar", "", "scales"}, {"up"});
  set_string(resize, "mode", "nearest");
  b.node("Conv", {"x", "wb"}, {"bb"});
  set_int(b.node("Concat", {"up", "bb"}, {"cat"}), "axis", 1);
  set_ints(b.node("Conv", {"cat", "wc"}, {"y"}), "pads", {1, 1, 1, 1});
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3, 8, 8});
  const fs::path path = dir / "pyramid.onnx";
  b.save(path);
  return path;
}

TEST(QdqConcat, QuantizerSharesTheOutputsParametersAndConcatRunsOnUint8) {
  const fs::path dir = testing::temp_dir("qdq_concat");
  quant::QuantizeOptions o;
  o.calibration.random_count = 4;
  o.calibration.shapes = {{"x", {1, 4, 8, 8}}};
  o.per_channel = true;
  o.threads = 1;
  o.min_cosine = 0;
  auto report = quant::quantize_model(pyramid_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->quantized_by_op["Conv"], 3);

  // Both Concat inputs come through Q -> DQ with one scale and zero point,
  // the values of the Concat output's own pair.
  auto proto = quant::load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(proto);
  const onnx::GraphProto& g = proto->graph();
  auto producer = [&](const std::string& v) -> const onnx::NodeProto* {
    for (const auto& n : g.node())
      for (const auto& out : n.output())
        if (out == v) return &n;
    return nullptr;
  };
  auto scalar = [&](const std::string& name) {
    auto t = quant::float_initializer(g, name);
    return t ? t->data<float>()[0] : -1.0f;
  };
  const onnx::NodeProto* concat = nullptr;
  for (const auto& n : g.node())
    if (n.op_type() == "Concat") concat = &n;
  ASSERT_NE(concat, nullptr);
  float out_scale = -1;
  for (const auto& n : g.node())
    if (n.op_type() == "QuantizeLinear" && n.input(0) == concat->output(0)) out_scale = scalar(n.input(1));
  ASSERT_GT(out_scale, 0);
  for (const auto& in : concat->input()) {
    const onnx::NodeProto* dq = producer(in);
    ASSERT_NE(dq, nullptr);
    EXPECT_EQ(dq->op_type(), "DequantizeLinear");
    EXPECT_EQ(scalar(dq->input(1)), out_scale);
  }

  // Optimized: the Concat and the Resize read integers.
  auto graph = onnx_import::load_model(dir / "q.onnx");
  ASSERT_TRUE(graph) << graph.status().message();
  ASSERT_TRUE(passes::optimize(*graph));
  int dequantize = 0;
  for (const ir::Node& n : graph->nodes) {
    dequantize += n.op_type == "DequantizeLinear";
    if (n.op_type == "Resize") {
      const int p = graph->values[static_cast<size_t>(n.inputs[0])].producer;
      ASSERT_GE(p, 0);
      // The moved QuantizeLinear, here fused into Conv a, which writes uint8.
      const ir::Node& producer_node = graph->nodes[static_cast<size_t>(p)];
      EXPECT_TRUE(producer_node.op_type == "QuantizeLinear" ||
                  producer_node.attribute(passes::kQuantOutputAttribute) != nullptr)
          << producer_node.op_type;
    }
    if (n.op_type == "Concat") {
      for (ir::ValueId v : n.inputs) {
        const int p = graph->values[static_cast<size_t>(v)].producer;
        ASSERT_GE(p, 0);
        EXPECT_NE(graph->nodes[static_cast<size_t>(p)].op_type, "DequantizeLinear");
      }
    }
  }
  EXPECT_EQ(dequantize, 0);

  auto fused = Session::load(dir / "q.onnx", {.threads = 1});
  ASSERT_TRUE(fused) << fused.status().message();
  auto plain = Session::load(dir / "q.onnx", {.threads = 1, .optimize = false});
  ASSERT_TRUE(plain) << plain.status().message();
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 4, 8, 8}, 9, -1.0f, 1.0f);
  auto ya = (*fused)->run({{"x", x}});
  ASSERT_TRUE(ya) << ya.status().message();
  auto yb = (*plain)->run({{"x", x}});
  ASSERT_TRUE(yb) << yb.status().message();
  EXPECT_GE(quant::cosine_similarity((*ya)[0].tensor, (*yb)[0].tensor), 0.9999);
  EXPECT_TRUE(close_relative((*ya)[0].tensor, (*yb)[0].tensor, 0.02));
}

}  // namespace
}  // namespace ecoinfer
