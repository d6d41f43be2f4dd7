// channels_last_convs: tensors that only flow between Convs (as X or as a
// fused residual) are marked channels-last; one read by another op, used
// as weights, or exported stays plain. The marked graph gives the same
// outputs (the kernels honour the marks). A per-tensor QuantizeLinear read
// only by int8 Convs writes channels-last too.
#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

bool output_marked(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes)
    if (!n.outputs.empty() && n.outputs[0] != ir::kNoValue && g.name_of(n.outputs[0]) == output) {
      return passes::channels_last_output(n);
    }
  ADD_FAILURE() << "no node writes " << output;
  return false;
}

TEST(ChannelsLastConvs, MarksConvToConvEdgesOnly) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, 8, 9, 7});
  b.input("v", onnx::TensorProto::FLOAT, {1, 4, 5, 5});
  random_initializer(b, "w0", {16, 8, 3, 3}, 1);
  random_initializer(b, "w1", {32, 16, 1, 1}, 2);
  random_initializer(b, "w2", {32, 1, 3, 3}, 3);
  random_initializer(b, "w3", {16, 32, 1, 1}, 4);
  random_initializer(b, "w4", {16, 16, 3, 3}, 5);
  set_ints(b.node("Conv", {"x", "w0"}, {"a"}), "pads", {1, 1, 1, 1});
  b.node("Conv", {"a", "w1"}, {"e"});
  b.node("Relu", {"e"}, {"er"});
  onnx::NodeProto* dw = b.node("Conv", {"er", "w2"}, {"d"});
  set_int(dw, "group", 32);
  set_ints(dw, "pads", {1, 1, 1, 1});
  b.node("Conv", {"d", "w3"}, {"p"});
  b.node("Add", {"a", "p"}, {"s"});
  set_ints(b.node("Conv", {"s", "w4"}, {"f"}), "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"f"}, {"y0"});
  set_ints(b.node("Conv", {"s", "w4"}, {"y1"}), "strides", {2, 2});  // a graph output
  // A conv output used as another conv's weights stays plain.
  random_initializer(b, "wv", {4, 4, 3, 3}, 6);
  b.node("Conv", {"v", "wv"}, {"kw"});
  b.node("Conv", {"v", "kw"}, {"y2"});
  for (const char* y : {"y0", "y1", "y2"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "channels_last",
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                           &passes::channels_last_convs_pass},
                          {{"x", random_tensor(DataType::kFloat32, {1, 8, 9, 7}, 7)},
                           {"v", random_tensor(DataType::kFloat32, {1, 4, 5, 5}, 8)}});
  expect_same_outputs(r);
  for (const char* v : {"a", "er", "d", "s"}) EXPECT_TRUE(output_marked(r.optimized, v)) << v;
  for (const char* v : {"f", "y1", "kw", "y2"}) EXPECT_FALSE(output_marked(r.optimized, v)) << v;
  // The projection reads both its X and the residual channels-last.
  for (const ir::Node& n : r.optimized.nodes) {
    if (r.optimized.name_of(n.outputs[0]) == "s") {
      EXPECT_EQ(passes::channels_last_inputs(n), (std::vector<int64_t>{0, 3}));
    }
  }
}

template <class T>
void raw_initializer(ModelBuilder& b, const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                     const std::vector<T>& values) {
  onnx::TensorProto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

// x -> QuantizeLinear -> DequantizeLinear -> Conv (int8 weights through
// DequantizeLinear) writing `y`; `extra_reader`: a float Relu also reads the
// dequantized x.
void add_quantized_conv(ModelBuilder& b, const std::string& x, const std::string& y, bool extra_reader, uint32_t seed) {
  b.initializer(x + "_s", {}, {0.03f});
  raw_initializer<uint8_t>(b, x + "_z", onnx::TensorProto::UINT8, {}, {120});
  b.node("QuantizeLinear", {x, x + "_s", x + "_z"}, {x + "_q"});
  b.node("DequantizeLinear", {x + "_q", x + "_s", x + "_z"}, {x + "_dq"});
  std::vector<int8_t> w(16 * 8 * 9);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>((i * 37 + seed) % 255 - 127);
  raw_initializer(b, y + "_w", onnx::TensorProto::INT8, {16, 8, 3, 3}, w);
  b.initializer(y + "_ws", {16}, std::vector<float>(16, 0.004f));
  raw_initializer(b, y + "_wz", onnx::TensorProto::INT8, {16}, std::vector<int8_t>(16, 0));
  set_int(b.node("DequantizeLinear", {y + "_w", y + "_ws", y + "_wz"}, {y + "_wdq"}), "axis", 0);
  set_ints(b.node("Conv", {x + "_dq", y + "_wdq"}, {y}), "pads", {1, 1, 1, 1});
  if (extra_reader) b.node("Relu", {x + "_dq"}, {y + "_relu"});
}

TEST(ChannelsLastConvs, QuantizeLinearReadOnlyByInt8ConvsWritesChannelsLast) {
  ModelBuilder b(13);
  for (const char* x : {"x", "u"}) b.input(x, onnx::TensorProto::FLOAT, {1, 8, 9, 7});
  add_quantized_conv(b, "x", "y", false, 1);
  add_quantized_conv(b, "u", "v", true, 2);
  for (const char* y : {"y", "v", "v_relu"}) b.output(y, onnx::TensorProto::FLOAT, {});
  PassRun r = run_fused(b, "channels_last_quantize",
                        {&passes::fuse_qdq_inputs_pass, &passes::remove_dead_nodes_pass, &passes::channels_last_convs_pass},
                        {{"x", random_tensor(DataType::kFloat32, {1, 8, 9, 7}, 3, -2.0f, 2.0f)},
                         {"u", random_tensor(DataType::kFloat32, {1, 8, 9, 7}, 4, -2.0f, 2.0f)}});
  expect_same_outputs(r);
  EXPECT_TRUE(output_marked(r.optimized, "x_q"));
  EXPECT_FALSE(output_marked(r.optimized, "u_q"));  // the Relu's DequantizeLinear reads it plain
}

}  // namespace
}  // namespace ecoinfer::testing
