// Sessions are documented as safe to run from several threads at once; the
// OCR pipeline's two workers run det, cls and rec together, and nearly every
// run there is the first of its input shape, so oneDNN primitives are
// created on one thread while another thread creates its own. oneDNN 2.6
// keeps state in statics while it creates a brgemm convolution
// (brg_blocking_t::last_ic_block_size, the weights' VNNI granularity: 4 for
// int8, 1 for f32), so a float32 convolution created while an int8 one is
// created elsewhere could be configured with the other's value and compute
// wrong results for good (the primitive is cached per shape): OCR read no
// lines for every image of one det input shape. The engine creates
// primitives one at a time in the process (onednn::creation_lock()).
//
// Here: a float32 Conv model and an int8 (QDQ) Conv model, each with input
// channels that leave a tail which is not a multiple of 4; every run has a
// new width, so every run creates primitives. References come from separate
// sessions run one at a time; then two threads run the two models at once
// and every output must match its reference bit for bit. oneDNN's own
// primitive cache is turned off (before oneDNN starts), or the concurrent
// runs would reuse the references' primitives instead of creating them.
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ecoinfer/session.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using testing::ModelBuilder;

constexpr int64_t kFloatChannels = 403;  // more than one channel block, tail 403 % 16 = 3
constexpr int64_t kInt8Channels = 67;
constexpr int kWidths = 24;

void add_raw(ModelBuilder& b, const std::string& name, int32_t type, const std::vector<int64_t>& dims,
             const void* data, size_t bytes) {
  onnx::TensorProto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-0.5f, 0.5f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void conv_attributes(onnx::NodeProto* conv) {
  testing::set_ints(conv, "pads", {1, 1, 1, 1});
  testing::set_ints(conv, "kernel_shape", {3, 3});
}

// Two branches from x, one run after the other in each session run:
//  x -> Conv 3x3 (float32, 403 filters) -> Conv 3x3 (float32, 16 filters)
//    -> y: the second reads the first's channels-last output, oneDNN's brgemm
//    convolution, with 403 input channels (a tail that is not a multiple of 4);
//  x -> QuantizeLinear -> DequantizeLinear -> Conv 1x1 (int8 weights) ->
//    QuantizeLinear -> DequantizeLinear -> z: one int8 brgemm convolution.
std::filesystem::path mixed_model() {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, kInt8Channels, -1, -1});
  b.initializer("aw", {kFloatChannels, kInt8Channels, 3, 3}, random_floats(kFloatChannels * kInt8Channels * 9, 4));
  conv_attributes(b.node("Conv", {"x", "aw"}, {"a"}));
  b.initializer("fw", {16, kFloatChannels, 3, 3}, random_floats(16 * kFloatChannels * 9, 1));
  b.initializer("fb", {16}, random_floats(16, 2));
  conv_attributes(b.node("Conv", {"a", "fw", "fb"}, {"y"}));

  const float sx = 0.01f, sz = 0.05f;
  const uint8_t zx = 128, zz = 100;
  b.initializer("sx", {}, {sx});
  add_raw(b, "zx", onnx::TensorProto::UINT8, {}, &zx, 1);
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xdq"});
  const int64_t oc = 64;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> wv(-127, 127);
  std::vector<int8_t> w(static_cast<size_t>(oc * kInt8Channels)), wz(static_cast<size_t>(oc), 0);
  for (auto& v : w) v = static_cast<int8_t>(wv(rng));
  std::vector<float> ws(static_cast<size_t>(oc), 0.003f);
  add_raw(b, "w", onnx::TensorProto::INT8, {oc, kInt8Channels, 1, 1}, w.data(), w.size());
  b.initializer("ws", {oc}, ws);
  add_raw(b, "wz", onnx::TensorProto::INT8, {oc}, wz.data(), wz.size());
  testing::set_int(b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wdq"}), "axis", 0);
  b.node("Conv", {"xdq", "wdq"}, {"c"});
  b.initializer("sz", {}, {sz});
  add_raw(b, "zz", onnx::TensorProto::UINT8, {}, &zz, 1);
  b.node("QuantizeLinear", {"c", "sz", "zz"}, {"zq"});
  b.node("DequantizeLinear", {"zq", "sz", "zz"}, {"z"});
  b.output("y", onnx::TensorProto::FLOAT, {1, 16, -1, -1});
  b.output("z", onnx::TensorProto::FLOAT, {1, oc, -1, -1});
  const auto path = testing::temp_dir("concurrent_creation") / "model.onnx";
  b.save(path);
  return path;
}

struct Case {
  Tensor input;
  std::vector<NamedTensor> reference;  // y and z, computed alone
};

// One input per width (each a new shape, so each run creates primitives).
std::vector<Case> cases(int64_t channels, int64_t first_width, uint32_t seed) {
  std::vector<Case> out;
  for (int i = 0; i < kWidths; ++i)
    out.push_back({testing::random_tensor(DataType::kFloat32, {1, channels, 6, first_width + i}, seed + i), {}});
  return out;
}

std::unique_ptr<Session> load(const std::filesystem::path& path) {
  auto s = Session::load(path, {.threads = 1});
  EXPECT_TRUE(s) << s.status().message();
  return s ? std::move(*s) : nullptr;
}

bool same_bits(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor &x = a[i].tensor, &y = b[i].tensor;
    if (x.shape() != y.shape() || x.nbytes() != y.nbytes() || std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) != 0)
      return false;
  }
  return true;
}

// Runs every case on `session` in order; returns how many differ from their reference.
int mismatches(const Session& session, const std::vector<Case>& work) {
  int bad = 0;
  for (const Case& c : work) {
    auto out = session.run({{"x", c.input}});
    bad += !out || !same_bits(*out, c.reference);
  }
  return bad;
}

TEST(ConcurrentCreation, Int8AndFloatConvolutionsCreatedAtOnceComputeAsAlone) {
  // Before oneDNN's first use in this process (one gtest program per file).
  ASSERT_EQ(setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0", 1), 0);
  const auto f32_path = mixed_model(), int8_path = f32_path;
  std::vector<Case> f32_cases = cases(kInt8Channels, 40, 100), int8_cases = cases(kInt8Channels, 80, 500);
  {
    auto f32 = load(f32_path), int8 = load(int8_path);
    ASSERT_TRUE(f32 && int8);
    for (auto [s, work] : {std::pair{f32.get(), &f32_cases}, std::pair{int8.get(), &int8_cases}}) {
      for (Case& c : *work) {
        auto out = s->run({{"x", c.input}});
        ASSERT_TRUE(out) << out.status().message();
        c.reference = std::move(*out);
      }
    }
  }
  int f32_bad = 0, int8_bad = 0;
  constexpr int kRounds = 40;  // fresh sessions each round: every run creates its primitives again
  for (int round = 0; round < kRounds; ++round) {
    auto f32 = load(f32_path), int8 = load(int8_path);
    ASSERT_TRUE(f32 && int8);
    std::thread a([&] { f32_bad += mismatches(*f32, f32_cases); });
    std::thread b([&] { int8_bad += mismatches(*int8, int8_cases); });
    a.join();
    b.join();
  }
  EXPECT_EQ(f32_bad, 0) << "float32 runs that differ from the same run alone, of " << kRounds * kWidths;
  EXPECT_EQ(int8_bad, 0) << "int8 runs that differ from the same run alone, of " << kRounds * kWidths;
  for (const auto& u : onednn_implementations_used())
    std::cout << "[ impl     ] " << u.kind << ": " << u.implementation << " x" << u.count << "\n";
}

}  // namespace
}  // namespace ecoinfer
