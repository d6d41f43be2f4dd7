// The structure quantize_model writes on a small Conv/MatMul model (and a
// ConvTranspose one): int8 weights per output channel, int32 bias at s_x * s_w, uint8 activations in
// Q -> DQ pairs, excluded nodes left fp32, dynamic MatMulInteger; and the
// errors a user gets for bad input.
#include <random>

#include <gtest/gtest.h>

#include "model_builder.h"
#include "quant/model_proto.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace ecoinfer::quant {
namespace {
namespace fs = std::filesystem;

std::vector<float> values(size_t n, uint32_t seed, float scale = 0.5f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// x[?,3,8,8] -> Conv a (3x3, bias) -> Relu -> Conv b (1x1) -> GlobalAveragePool
// -> Flatten -> MatMul fc [4,5] -> y[?,5]
fs::path small_model(const fs::path& dir) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3, 8, 8});
  b.initializer("wa", {4, 3, 3, 3}, values(108, 1));
  b.initializer("ba", {4}, values(4, 2, 0.1f));
  b.initializer("wb", {4, 4, 1, 1}, values(16, 3));
  b.initializer("wfc", {4, 5}, values(20, 4));
  auto* conv_a = b.node("Conv", {"x", "wa", "ba"}, {"a"});
  conv_a->set_name("conv_a");
  auto* pads = conv_a->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  b.node("Relu", {"a"}, {"r"});
  b.node("Conv", {"r", "wb"}, {"c"})->set_name("conv_b");
  b.node("GlobalAveragePool", {"c"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  b.node("MatMul", {"f", "wfc"}, {"y"})->set_name("fc");
  b.output("y", onnx::TensorProto::FLOAT, {-1, 5});
  const fs::path path = dir / "small.onnx";
  b.save(path);
  return path;
}

QuantizeOptions random_options() {
  QuantizeOptions o;
  o.calibration.random_count = 4;
  o.calibration.shapes = {{"x", {1, 3, 8, 8}}};
  o.threads = 1;
  return o;
}

const onnx::NodeProto* producer(const onnx::GraphProto& g, const std::string& value) {
  for (const auto& n : g.node())
    for (const auto& o : n.output())
      if (o == value) return &n;
  return nullptr;
}

const onnx::NodeProto* node_named(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& n : g.node())
    if (n.name() == name) return &n;
  return nullptr;
}

int64_t axis_of(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.name() == "axis") return a.i();
  return 1;
}

TEST(QdqRewrite, PerChannelWeightsInt32BiasUint8ActivationsAndExcludedStaysFp32) {
  const fs::path dir = testing::temp_dir("qdq_structure");
  QuantizeOptions o = random_options();
  o.per_channel = true;
  o.exclude = {"conv_b"};
  auto report = quantize_model(small_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->quantized_nodes, 2);
  EXPECT_EQ(report->excluded_nodes, 1);
  EXPECT_TRUE(report->passed) << report->failure_message();
  ASSERT_EQ(report->outputs.size(), 1u);
  EXPECT_GT(report->outputs[0].cosine, 0.99);

  auto model = load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(model);
  const onnx::GraphProto& g = model->graph();
  const onnx::NodeProto* conv_a = node_named(g, "conv_a");
  ASSERT_NE(conv_a, nullptr);
  // Weight: int8 [4,3,3,3], one scale per output channel, zero points 0.
  const onnx::NodeProto* wdq = producer(g, conv_a->input(1));
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(wdq->op_type(), "DequantizeLinear");
  EXPECT_EQ(axis_of(*wdq), 0);
  const onnx::TensorProto* wq = find_initializer(g, wdq->input(0));
  ASSERT_NE(wq, nullptr);
  EXPECT_EQ(wq->data_type(), onnx::TensorProto::INT8);
  EXPECT_EQ(wq->dims_size(), 4);
  EXPECT_EQ(find_initializer(g, wdq->input(1))->dims(0), 4);
  // Bias: int32, scale s_x * s_w per channel.
  const onnx::NodeProto* bdq = producer(g, conv_a->input(2));
  ASSERT_NE(bdq, nullptr);
  EXPECT_EQ(find_initializer(g, bdq->input(0))->data_type(), onnx::TensorProto::INT32);
  // Activation: x -> QuantizeLinear (uint8 zero point) -> DequantizeLinear -> conv_a.
  const onnx::NodeProto* adq = producer(g, conv_a->input(0));
  ASSERT_NE(adq, nullptr);
  EXPECT_EQ(adq->op_type(), "DequantizeLinear");
  const onnx::NodeProto* aq = producer(g, adq->input(0));
  ASSERT_NE(aq, nullptr);
  EXPECT_EQ(aq->op_type(), "QuantizeLinear");
  EXPECT_EQ(aq->input(0), "x");
  EXPECT_EQ(find_initializer(g, aq->input(2))->data_type(), onnx::TensorProto::UINT8);
  {
    auto s_x = float_initializer(g, adq->input(1));
    auto s_w = float_initializer(g, wdq->input(1));
    auto s_b = float_initializer(g, bdq->input(1));
    ASSERT_TRUE(s_x && s_w && s_b);
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(s_b->data<float>()[c], s_x->data<float>()[0] * s_w->data<float>()[c], 1e-9);
  }
  // Excluded: conv_b reads its float weight and an fp32 activation.
  const onnx::NodeProto* conv_b = node_named(g, "conv_b");
  ASSERT_NE(conv_b, nullptr);
  EXPECT_EQ(conv_b->input(0), "r");
  ASSERT_NE(find_initializer(g, "wb"), nullptr);
  EXPECT_EQ(find_initializer(g, "wb")->data_type(), onnx::TensorProto::FLOAT);
  // MatMul weight [K, N]: one scale per column, axis 1.
  const onnx::NodeProto* fdq = producer(g, node_named(g, "fc")->input(1));
  ASSERT_NE(fdq, nullptr);
  EXPECT_EQ(axis_of(*fdq), 1);
  EXPECT_EQ(find_initializer(g, fdq->input(1))->dims(0), 5);
  // The float weights that were quantized are gone.
  EXPECT_EQ(find_initializer(g, "wa"), nullptr);
  EXPECT_EQ(find_initializer(g, "wfc"), nullptr);
}

// x[?,4,6,6] -> ConvTranspose t (2x2 stride 2, bias) -> Relu -> ConvTranspose
// g (2x2 stride 2, group 3) -> y: det's head, plus a grouped one.
fs::path deconv_model(const fs::path& dir) {
  testing::ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 4, 6, 6});
  b.initializer("wt", {4, 3, 2, 2}, values(48, 5));
  b.initializer("bt", {3}, values(3, 6, 0.1f));
  b.initializer("wg", {3, 1, 2, 2}, values(12, 7));
  auto* t = b.node("ConvTranspose", {"x", "wt", "bt"}, {"t"});
  t->set_name("t");
  testing::set_ints(t, "strides", {2, 2});
  b.node("Relu", {"t"}, {"r"});
  auto* grouped = b.node("ConvTranspose", {"r", "wg"}, {"y"});
  grouped->set_name("g");
  testing::set_ints(grouped, "strides", {2, 2});
  testing::set_int(grouped, "group", 3);
  b.output("y", onnx::TensorProto::FLOAT, {-1, 3, 24, 24});
  const fs::path path = dir / "deconv.onnx";
  b.save(path);
  return path;
}

// ConvTranspose's weight is [C, M/group, k...]: one scale per output
// channel on axis 1, an int32 bias at s_x * s_w[m]. A grouped one stays
// fp32 (axis 1 would hold one group's channels).
TEST(QdqRewrite, ConvTransposeWeightsPerOutputChannelOnAxis1) {
  const fs::path dir = testing::temp_dir("qdq_deconv");
  QuantizeOptions o = random_options();
  o.calibration.shapes = {{"x", {1, 4, 6, 6}}};
  o.per_channel = true;
  auto report = quantize_model(deconv_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->quantized_nodes, 1);
  EXPECT_EQ(report->quantized_by_op["ConvTranspose"], 1);
  EXPECT_TRUE(report->passed) << report->failure_message();
  ASSERT_EQ(report->outputs.size(), 1u);
  EXPECT_GT(report->outputs[0].cosine, 0.99);  // run by ecoinfer's int8 ConvTranspose

  auto model = load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(model);
  const onnx::GraphProto& g = model->graph();
  const onnx::NodeProto* t = node_named(g, "t");
  ASSERT_NE(t, nullptr);
  const onnx::NodeProto* wdq = producer(g, t->input(1));
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(wdq->op_type(), "DequantizeLinear");
  EXPECT_EQ(axis_of(*wdq), 1);
  EXPECT_EQ(find_initializer(g, wdq->input(1))->dims(0), 3);
  EXPECT_EQ(find_initializer(g, wdq->input(0))->data_type(), onnx::TensorProto::INT8);
  const onnx::NodeProto* bdq = producer(g, t->input(2));
  ASSERT_NE(bdq, nullptr);
  EXPECT_EQ(find_initializer(g, bdq->input(0))->data_type(), onnx::TensorProto::INT32);
  auto s_x = float_initializer(g, producer(g, t->input(0))->input(1));
  auto s_w = float_initializer(g, wdq->input(1));
  auto s_b = float_initializer(g, bdq->input(1));
  ASSERT_TRUE(s_x && s_w && s_b);
  for (int m = 0; m < 3; ++m) EXPECT_NEAR(s_b->data<float>()[m], s_x->data<float>()[0] * s_w->data<float>()[m], 1e-9);
  // The grouped one reads its float weight and the fp32 activation.
  const onnx::NodeProto* grouped = node_named(g, "g");
  ASSERT_NE(grouped, nullptr);
  EXPECT_EQ(grouped->input(0), "r");
  EXPECT_EQ(grouped->input(1), "wg");
}

TEST(QdqRewrite, PerTensorHasOneScalePerWeight) {
  const fs::path dir = testing::temp_dir("qdq_per_tensor");
  QuantizeOptions o = random_options();
  o.exclude = {"MatMul"};  // an op type excludes every node of that type
  o.method = RangeMethod::kEntropy;
  auto report = quantize_model(small_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->quantized_nodes, 2);
  EXPECT_EQ(report->excluded_nodes, 1);
  auto model = load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(model);
  const onnx::GraphProto& g = model->graph();
  const onnx::NodeProto* wdq = producer(g, node_named(g, "conv_b")->input(1));
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(find_initializer(g, wdq->input(1))->dims_size(), 0);
  EXPECT_EQ(node_named(g, "fc")->input(1), "wfc");
}

TEST(QdqRewrite, DynamicModeUsesMatMulInteger) {
  const fs::path dir = testing::temp_dir("qdq_dynamic");
  QuantizeOptions o = random_options();
  o.mode = QuantMode::kDynamic;
  auto report = quantize_model(small_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->quantized_nodes, 1);
  EXPECT_GT(report->outputs[0].cosine, 0.99);
  auto model = load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(model);
  const onnx::GraphProto& g = model->graph();
  int dql = 0, mmi = 0;
  for (const auto& n : g.node()) {
    dql += n.op_type() == "DynamicQuantizeLinear";
    mmi += n.op_type() == "MatMulInteger";
  }
  EXPECT_EQ(dql, 1);
  EXPECT_EQ(mmi, 1);
  EXPECT_EQ(producer(g, "y")->op_type(), "Mul");
}

TEST(QdqRewrite, FidelityUnderMinCosineNamesTheWorstLayers) {
  const fs::path dir = testing::temp_dir("qdq_min_cosine");
  QuantizeOptions o = random_options();
  o.min_cosine = 0.9999999;  // int8 cannot be this close
  auto report = quantize_model(small_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_FALSE(report->passed);
  const std::string message = report->failure_message();
  EXPECT_NE(message.find("output 'y'"), std::string::npos) << message;
  EXPECT_NE(message.find("worst layers"), std::string::npos) << message;
  EXPECT_NE(message.find(report->layers.at(0).node), std::string::npos) << message;
  EXPECT_LE(report->layers.front().cosine, report->layers.back().cosine);
}

TEST(QdqRewrite, CalibrationFolderSplitsHeldOut) {
  const fs::path dir = testing::temp_dir("qdq_folder");
  fs::create_directories(dir / "calib" / "x");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(write_npy(dir / "calib" / "x" / (std::to_string(i) + ".npy"),
                          testing::random_tensor(DataType::kFloat32, {1, 3, 8, 8}, 10 + i)).is_ok());
  QuantizeOptions o;
  o.calibration.folder = dir / "calib";
  o.calibration.held_out = 2;
  auto report = quantize_model(small_model(dir), dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->calibration_samples, 3);
  EXPECT_EQ(report->held_out_samples, 2);
}

void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void set_float(onnx::NodeProto* n, const std::string& name, float value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

// An opset-9 model whose ops changed form by opset 13: per-channel raises it,
// and the fidelity run (ecoinfer, both models) proves the meaning was kept.
TEST(QdqRewrite, Opset9ModelIsRaisedTo13WithTheSameMeaning) {
  const fs::path dir = testing::temp_dir("qdq_opset9");
  testing::ModelBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {1, 3, 8, 8});
  b.initializer("w", {4, 3, 1, 1}, values(12, 5));
  b.node("Conv", {"x", "w"}, {"c"})->set_name("conv");
  auto* clip = b.node("Clip", {"c"}, {"k"});
  set_float(clip, "min", -0.2f);
  set_float(clip, "max", 0.3f);
  auto* pad = b.node("Pad", {"k"}, {"p"});
  set_ints(pad, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  auto* unsq = b.node("Unsqueeze", {"p"}, {"u"});
  set_ints(unsq, "axes", {0});
  auto* sq = b.node("Squeeze", {"u"}, {"s"});
  set_ints(sq, "axes", {0});
  auto* slice = b.node("Slice", {"s"}, {"l"});
  set_ints(slice, "starts", {1});
  set_ints(slice, "ends", {9});
  set_ints(slice, "axes", {3});
  b.node("Flatten", {"l"}, {"f"});
  auto* softmax = b.node("Softmax", {"f"}, {"y"});
  auto* axis = softmax->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);  // the last axis of a rank-2 tensor: same meaning in opset 13
  b.output("y", onnx::TensorProto::FLOAT, {1, 4 * 10 * 8});
  b.save(dir / "m9.onnx");
  QuantizeOptions o = random_options();
  o.per_channel = true;
  auto report = quantize_model(dir / "m9.onnx", dir / "q.onnx", o);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_GT(report->outputs.at(0).cosine, 0.99);
  auto model = load_model_proto(dir / "q.onnx");
  ASSERT_TRUE(model);
  EXPECT_EQ(default_opset(*model), 13);
  for (const auto& n : model->graph().node()) {
    if (n.op_type() == "Slice" || n.op_type() == "Squeeze" || n.op_type() == "Unsqueeze" || n.op_type() == "Pad" ||
        n.op_type() == "Clip") {
      EXPECT_EQ(n.attribute_size(), 0) << n.op_type() << " kept attributes that became inputs";
    }
  }
}

TEST(QdqRewrite, BadInputsGiveClearErrors) {
  const fs::path dir = testing::temp_dir("qdq_errors");
  const fs::path model = small_model(dir);
  auto expect_error = [&](const fs::path& in, const fs::path& out, const QuantizeOptions& o, const std::string& says) {
    auto r = quantize_model(in, out, o);
    ASSERT_FALSE(r) << "expected an error saying " << says;
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  };
  expect_error(dir / "missing.onnx", dir / "q.onnx", random_options(), "missing.onnx");
  expect_error(model, model, random_options(), "is the input model");
  QuantizeOptions no_shape = random_options();
  no_shape.calibration.shapes.clear();
  expect_error(model, dir / "q.onnx", no_shape, "--shape x=");
  QuantizeOptions no_data;
  expect_error(model, dir / "q.onnx", no_data, "--calibration");
  QuantizeOptions folder;
  folder.calibration.folder = dir / "nowhere";
  expect_error(model, dir / "q.onnx", folder, "nowhere");
  QuantizeOptions empty_folder;
  fs::create_directories(dir / "empty");
  empty_folder.calibration.folder = dir / "empty";
  expect_error(model, dir / "q.onnx", empty_folder, "x/*.npy");
  QuantizeOptions all_excluded = random_options();
  all_excluded.exclude = {"Conv", "MatMul"};
  expect_error(model, dir / "q.onnx", all_excluded, "nothing to quantize");
  std::ofstream(dir / "junk.onnx") << "not a model";
  expect_error(dir / "junk.onnx", dir / "q.onnx", random_options(), "junk.onnx");
  EXPECT_FALSE(parse_method("kl"));
  EXPECT_FALSE(parse_mode("int4"));
}

}  // namespace
}  // namespace ecoinfer::quant
