// accumulate_in_place: a Conv whose fused residual add reads a
// channels-last tensor that no later node reads takes over the residual's
// buffer (kAccumulateInput, a oneDNN sum post-op); a residual read later,
// read twice by the Conv, or kept plain stays a binary add. Outputs equal
// the graph as written, on the first run of a shape (buffers recorded) and
// on the planned runs after it (the output aliases the residual's region).
#include <algorithm>

#include "fusion_test_util.h"

namespace ecoinfer::testing {
namespace {

int64_t accumulate_input(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes) {
    if (n.outputs.empty() || n.outputs[0] == ir::kNoValue || g.name_of(n.outputs[0]) != output) continue;
    const ir::Attribute* a = n.attribute(passes::kAccumulateInput);
    return a != nullptr ? a->i : -1;
  }
  ADD_FAILURE() << "no node writes " << output;
  return -1;
}

// stem -> [expand -> relu -> depthwise -> project] + stem (MobileNet's
// inverted residual, whose residual the project reads last), then a second
// block whose projection adds and applies Relu (ResNet's bottleneck end),
// then "t", a conv whose residual "bsum" a later conv ("w") reads again,
// and "v", a conv adding its own input.
ModelBuilder residual_model(int64_t batch) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {batch, 8, 12, 10});
  random_initializer(b, "w0", {16, 8, 3, 3}, 1);
  set_ints(b.node("Conv", {"x", "w0"}, {"s"}), "pads", {1, 1, 1, 1});
  random_initializer(b, "we", {48, 16, 1, 1}, 2);
  b.node("Conv", {"s", "we"}, {"e"});
  b.node("Relu", {"e"}, {"er"});
  random_initializer(b, "wd", {48, 1, 3, 3}, 3);
  onnx::NodeProto* dw = b.node("Conv", {"er", "wd"}, {"d"});
  set_int(dw, "group", 48);
  set_ints(dw, "pads", {1, 1, 1, 1});
  random_initializer(b, "wp", {16, 48, 1, 1}, 4);
  random_initializer(b, "bp", {16}, 5);
  b.node("Conv", {"d", "wp", "bp"}, {"p"});
  b.node("Add", {"p", "s"}, {"a"});
  random_initializer(b, "w1", {16, 16, 1, 1}, 16);
  b.node("Conv", {"a", "w1"}, {"q1"});
  random_initializer(b, "w2", {16, 16, 3, 3}, 6);
  set_ints(b.node("Conv", {"q1", "w2"}, {"q"}), "pads", {1, 1, 1, 1});
  b.node("Add", {"a", "q"}, {"qa"});
  b.node("Relu", {"qa"}, {"bsum"});
  random_initializer(b, "w3", {16, 16, 3, 3}, 7);
  random_initializer(b, "w7", {16, 16, 1, 1}, 11);
  b.node("Conv", {"bsum", "w7"}, {"b1"});
  set_ints(b.node("Conv", {"b1", "w3"}, {"t0"}), "pads", {1, 1, 1, 1});
  b.node("Add", {"t0", "bsum"}, {"t"});
  random_initializer(b, "w4", {16, 16, 1, 1}, 8);
  b.node("Conv", {"t", "w4"}, {"wc"});
  b.node("Add", {"wc", "bsum"}, {"w"});  // reads bsum after t's conv, as its last reader
  random_initializer(b, "w6", {16, 16, 1, 1}, 10);
  b.node("Conv", {"w", "w6"}, {"v0"});
  b.node("Add", {"v0", "w"}, {"v"});  // reads w as X and as the residual
  random_initializer(b, "w5", {8, 16, 1, 1}, 9);
  b.node("Conv", {"v", "w5"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {});
  return b;
}

TEST(AccumulateInPlace, ResidualsReadLastAreAccumulatedInPlace) {
  for (int64_t batch : {1, 2}) {
    const Tensor x = random_tensor(DataType::kFloat32, {batch, 8, 12, 10}, 9);
    PassRun r = run_fused(residual_model(batch), "accumulate_in_place_" + std::to_string(batch),
                          {&passes::fuse_conv_activation_pass, &passes::fuse_conv_residual_pass,
                           &passes::channels_last_convs_pass, &passes::accumulate_in_place_pass},
                          {{"x", x}});
    expect_same_outputs(r, 1e-4, 1e-4);
    EXPECT_EQ(accumulate_input(r.optimized, "a"), 3);     // p + s: s read last here
    EXPECT_EQ(accumulate_input(r.optimized, "bsum"), 3);  // relu(q + a)
    EXPECT_EQ(accumulate_input(r.optimized, "t"), -1);    // bsum is read again by w's conv
    EXPECT_EQ(accumulate_input(r.optimized, "w"), 3);
    EXPECT_EQ(accumulate_input(r.optimized, "v"), -1);    // the conv's X is its residual
    // The planned runs (the output placed on the residual's region) agree with the first.
    SessionOptions options;
    options.threads = 1;
    options.optimize = false;
    auto session = runtime::SessionImpl::create(r.optimized, options);
    ASSERT_TRUE(session.has_value()) << session.status().message();
    for (int run = 0; run < 3; ++run) {
      auto out = (*session)->run({{"x", x}}, nullptr);
      ASSERT_TRUE(out.has_value()) << out.status().message();
      EXPECT_TRUE(tensors_close(out->at(0).tensor, r.reference.at(0).tensor, 1e-4, 1e-4)) << "run " << run;
    }
  }
}

// The full pipeline on the same model, twice through one session: the
// residual's buffer is overwritten only where nothing reads it later.
TEST(AccumulateInPlace, FullPipelineMatchesUnoptimizedOverRepeatedRuns) {
  const auto path = temp_dir("accumulate_in_place_pipeline") / "m.onnx";
  residual_model(1).save(path);
  const Tensor x = random_tensor(DataType::kFloat32, {1, 8, 12, 10}, 9);
  const std::vector<NamedTensor> inputs = {{"x", x}};
  auto graph = onnx_import::load_model(path);
  ASSERT_TRUE(graph.has_value()) << graph.status().message();
  const std::vector<NamedTensor> reference = run_graph(*graph, inputs, /*optimize=*/false);
  SessionOptions options;
  options.threads = 2;
  auto session = runtime::SessionImpl::create(std::move(*graph), options);
  ASSERT_TRUE(session.has_value()) << session.status().message();
  for (int run = 0; run < 3; ++run) {
    auto out = (*session)->run(inputs, nullptr);
    ASSERT_TRUE(out.has_value()) << out.status().message();
    EXPECT_TRUE(tensors_close(out->at(0).tensor, reference.at(0).tensor, 1e-4, 1e-4)) << "run " << run;
  }
}

}  // namespace
}  // namespace ecoinfer::testing
