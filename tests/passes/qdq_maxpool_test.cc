// fuse_qdq_maxpool: a quantized ResNet's stem (int8 Conv -> Relu -> MaxPool
// -> QuantizeLinear) pools uint8/int8: the QuantizeLinear moves before the
// MaxPool (exact: quantization keeps order) and joins the Conv, which then
// writes int8. Fused and unfused (optimize=false) agree to within a
// rounding tie of the int8 intermediates. Between int8 convolutions the
// pool runs channels-last (passes/channels_last_convs.cc), on its own
// kernel: several window geometries check it.
#include <algorithm>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "onnx/model_loader.h"
#include "passes/pass.h"
#include "passes/post_ops.h"
#include "qdq_test_util.h"
#include "quant/fidelity.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::add_quant_conv;
using testing::close_relative;
using testing::count_op;
using testing::ModelBuilder;
using testing::raw_initializer;
using testing::set_int;
using testing::set_ints;

struct PoolSpec {
  int64_t kernel = 3, stride = 2, dilation = 1;
  std::vector<int64_t> pads = {1, 1, 1, 1};
  bool ceil_mode = false;
};

std::filesystem::path build_stem(const std::string& name, bool signed_activations, bool pool_output_read_twice,
                                 const PoolSpec& spec) {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, 3, 30, 26});
  const int32_t qtype = signed_activations ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  auto quantize = [&](const std::string& v, float scale, int zero) {
    b.initializer(v + "_s", {}, {scale});
    if (signed_activations) raw_initializer(b, v + "_z", qtype, {}, std::vector<int8_t>{static_cast<int8_t>(zero)});
    else raw_initializer(b, v + "_z", qtype, {}, std::vector<uint8_t>{static_cast<uint8_t>(zero)});
    b.node("QuantizeLinear", {v, v + "_s", v + "_z"}, {v + "_q"});
    b.node("DequantizeLinear", {v + "_q", v + "_s", v + "_z"}, {v + "_dq"});
    return v + "_dq";
  };
  add_quant_conv(b, "stem", quantize("x", 0.02f, signed_activations ? 0 : 128), 0.02f, {3, 16, 7, 2, 1}, "stem_out", 1);
  b.node("Relu", {"stem_out"}, {"r"});
  auto* pool = b.node("MaxPool", {"r"}, {"p"});
  set_ints(pool, "kernel_shape", {spec.kernel, spec.kernel});
  set_ints(pool, "strides", {spec.stride, spec.stride});
  set_ints(pool, "dilations", {spec.dilation, spec.dilation});
  set_ints(pool, "pads", spec.pads);
  set_int(pool, "ceil_mode", spec.ceil_mode);
  const std::string p_dq = quantize("p", 0.03f, signed_activations ? -128 : 0);
  add_quant_conv(b, "c1", p_dq, 0.03f, {16, 8, 1, 1, 1}, "out", 2);
  b.output("out", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  if (pool_output_read_twice) b.output("p", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  const auto path = testing::temp_dir("qdq_maxpool_" + name) / "model.onnx";
  b.save(path);
  return path;
}

// True when the optimized graph's MaxPool reads and writes channels-last.
bool pool_runs_channels_last(const std::filesystem::path& model) {
  auto g = onnx_import::load_model(model);
  EXPECT_TRUE(g) << g.status().message();
  if (!g || !passes::optimize(*g)) return false;
  return std::any_of(g->nodes.begin(), g->nodes.end(), [](const ir::Node& n) {
    return n.op_type == "MaxPool" && passes::channels_last_output(n) && passes::channels_last_inputs(n).size() == 1;
  });
}

void check(const std::string& name, bool signed_activations, bool pool_output_read_twice, int quantize_left,
           const PoolSpec& spec = {}) {
  const auto model = build_stem(name, signed_activations, pool_output_read_twice, spec);
  EXPECT_EQ(pool_runs_channels_last(model), !pool_output_read_twice);
  auto fused = Session::load(model, {.threads = 1});
  ASSERT_TRUE(fused) << fused.status().message();
  auto plain = Session::load(model, {.threads = 1, .optimize = false});
  ASSERT_TRUE(plain) << plain.status().message();
  EXPECT_EQ(count_op(**fused, "QuantizeLinear"), quantize_left);
  EXPECT_EQ(count_op(**fused, "MaxPool"), 1);
  const Tensor x = testing::random_tensor(DataType::kFloat32, {2, 3, 30, 26}, 3, -2.0f, 2.0f);
  auto a = (*fused)->run({{"x", x}});
  ASSERT_TRUE(a) << a.status().message();
  auto b = (*plain)->run({{"x", x}});
  ASSERT_TRUE(b) << b.status().message();
  for (size_t i = 0; i < a->size(); ++i) {
    ASSERT_EQ((*a)[i].tensor.shape(), (*b)[i].tensor.shape());
    EXPECT_GE(quant::cosine_similarity((*a)[i].tensor, (*b)[i].tensor), 0.9999) << (*a)[i].name;
    EXPECT_TRUE(close_relative((*a)[i].tensor, (*b)[i].tensor, 0.02)) << (*a)[i].name;
  }
}

// The graph input's QuantizeLinear is all that is left: the stem's moved
// before the MaxPool and into the Conv.
TEST(QdqMaxPool, UnsignedStemPoolsInt8AndMatchesUnfused) { check("u8", false, false, 1); }
TEST(QdqMaxPool, SignedStemPoolsInt8AndMatchesUnfused) { check("s8", true, false, 1); }
// The float pool output is a graph output too: nothing moves.
TEST(QdqMaxPool, PoolOutputReadElsewhereStaysFloat) { check("u8_read_twice", false, true, 2); }
TEST(QdqMaxPool, OtherWindowsMatchUnfused) {
  check("k2s1", false, false, 1, {2, 1, 1, {0, 1, 1, 0}, false});
  check("k3s2_ceil_dilated", true, false, 1, {3, 2, 2, {2, 1, 0, 2}, true});
  check("k3s3_nopad", false, false, 1, {3, 3, 1, {0, 0, 0, 0}, false});
}

}  // namespace
}  // namespace ecoinfer
