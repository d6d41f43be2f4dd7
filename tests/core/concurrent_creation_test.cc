// Sessions are documented as safe to run from several threads at once; the
// OCR pipeline's two workers run det, cls and rec together, and nearly every
// run there is the first of its input shape, so oneDNN primitives are
// created on one thread while another thread creates its own. oneDNN 2.6
// keeps state in a static while it creates a brgemm convolution
// (brg_blocking_t::last_ic_block_size, the weights' VNNI granularity: 4 for
// int8, 1 for f32), so a float32 convolution created while an int8 one is
// created elsewhere can be configured with int8's value (its input-channel
// tail rounded up to 4, reading channels that are not there) and compute
// wrong results for good, since the plan is cached per shape: OCR read no
// lines for the images of one det input shape. The engine now creates
// primitives one at a time in the process (onednn::creation_mutex()).
//
// Here: a float32 model of two 3x3 Convs (the second on oneDNN's brgemm
// convolution with 403 input channels: 25 blocks of 16 and a tail of 3) and
// an int8 QDQ model of one 1x1 Conv (an int8 brgemm convolution). Every run
// has a new width, so every run creates primitives. References come from
// sessions run one at a time; then one thread runs the float32 model from
// fresh sessions while another keeps running the int8 one, and every output
// must match its reference bit for bit. oneDNN's own primitive cache is
// turned off (before oneDNN starts), or the concurrent runs would reuse the
// references' primitives instead of creating them. Without the lock, 4 to 12
// of the 960 float32 runs differed in each of 3 runs (and 3 to 8 of 720 in
// each of 7 runs at 30 rounds); with it, none. The stem alone (the second
// Conv at 16 channels, no tail) still differed in 1 to 13 of 960.
#include <atomic>
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
using testing::raw_initializer;

constexpr int64_t kFloatChannels = 403;  // more than one channel block, tail 403 % 16 = 3
constexpr int64_t kInputChannels = 67;  // the int8 model's
constexpr int64_t kStemChannels = 3;
constexpr int kWidths = 24;

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

// x (3 channels) -> Conv 3x3 stride 2 (float32, 403 filters) -> Conv 3x3
// (float32, 16 filters) -> y: det's stem (3 input channels) and a Conv with
// 403 input channels (25 blocks of 16 and a tail of 3), both on oneDNN's
// brgemm convolution (channels-last between them); neither channel count
// is a multiple of 4.
std::filesystem::path float_model() {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, kStemChannels, -1, -1});
  b.initializer("aw", {kFloatChannels, kStemChannels, 3, 3}, random_floats(kFloatChannels * kStemChannels * 9, 4));
  onnx::NodeProto* stem = b.node("Conv", {"x", "aw"}, {"a"});
  conv_attributes(stem);
  testing::set_ints(stem, "strides", {2, 2});
  b.initializer("fw", {16, kFloatChannels, 3, 3}, random_floats(16 * kFloatChannels * 9, 1));
  b.initializer("fb", {16}, random_floats(16, 2));
  conv_attributes(b.node("Conv", {"a", "fw", "fb"}, {"y"}));
  b.output("y", onnx::TensorProto::FLOAT, {1, 16, -1, -1});
  const auto path = testing::temp_dir("concurrent_creation_f32") / "model.onnx";
  b.save(path);
  return path;
}

// x -> QuantizeLinear -> DequantizeLinear -> Conv 1x1 (int8 weights) ->
// QuantizeLinear -> DequantizeLinear -> y: one int8 brgemm convolution.
std::filesystem::path int8_model() {
  ModelBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {1, kInputChannels, -1, -1});
  const float sx = 0.01f, sy = 0.05f;
  const uint8_t zx = 128, zy = 100;
  b.initializer("sx", {}, {sx});
  raw_initializer(b, "zx", onnx::TensorProto::UINT8, {}, &zx, 1);
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xdq"});
  const int64_t oc = 64;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> wv(-127, 127);
  std::vector<int8_t> w(static_cast<size_t>(oc * kInputChannels)), wz(static_cast<size_t>(oc), 0);
  for (auto& v : w) v = static_cast<int8_t>(wv(rng));
  std::vector<float> ws(static_cast<size_t>(oc), 0.003f);
  raw_initializer(b, "w", onnx::TensorProto::INT8, {oc, kInputChannels, 1, 1}, w.data(), w.size());
  b.initializer("ws", {oc}, ws);
  raw_initializer(b, "wz", onnx::TensorProto::INT8, {oc}, wz.data(), wz.size());
  testing::set_int(b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wdq"}), "axis", 0);
  b.node("Conv", {"xdq", "wdq"}, {"c"});
  b.initializer("sy", {}, {sy});
  raw_initializer(b, "zy", onnx::TensorProto::UINT8, {}, &zy, 1);
  b.node("QuantizeLinear", {"c", "sy", "zy"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "sy", "zy"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {1, oc, -1, -1});
  const auto path = testing::temp_dir("concurrent_creation_int8") / "model.onnx";
  b.save(path);
  return path;
}

struct Case {
  Tensor input;
  std::vector<NamedTensor> reference;  // y and z, computed alone
};

// One input per width (each a new shape, so each run creates primitives).
std::vector<Case> cases(int64_t channels, int64_t height, int64_t first_width, uint32_t seed) {
  std::vector<Case> out;
  for (int i = 0; i < kWidths; ++i)
    out.push_back({testing::random_tensor(DataType::kFloat32, {1, channels, height, first_width + i}, seed + i), {}});
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
  const auto f32_path = float_model(), int8_path = int8_model();
  std::vector<Case> f32_cases = cases(kStemChannels, 12, 40, 100),
                    int8_cases = cases(kInputChannels, 1, 2, 500);
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
  // The float32 thread creates its two brgemm convolutions per width; the
  // int8 thread keeps creating its int8 one meanwhile, from fresh sessions.
  int f32_bad = 0, int8_bad = 0, int8_runs = 0;
  constexpr int kRounds = 40;
  std::atomic<bool> done{false};
  std::thread int8_thread([&] {
    while (!done) {
      auto int8 = load(int8_path);
      if (!int8) return;
      int8_bad += mismatches(*int8, int8_cases);
      int8_runs += kWidths;
    }
  });
  for (int round = 0; round < kRounds; ++round) {
    auto f32 = load(f32_path);
    ASSERT_TRUE(f32);
    f32_bad += mismatches(*f32, f32_cases);
  }
  done = true;
  int8_thread.join();
  EXPECT_EQ(f32_bad, 0) << "float32 runs that differ from the same run alone, of " << kRounds * kWidths;
  EXPECT_EQ(int8_bad, 0) << "int8 runs that differ from the same run alone, of " << int8_runs;
  for (const auto& u : onednn_implementations_used())
    std::cout << "[ impl     ] " << u.kind << ": " << u.implementation << " x" << u.count << "\n";
}

}  // namespace
}  // namespace ecoinfer
