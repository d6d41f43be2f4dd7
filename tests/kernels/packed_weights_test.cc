// Constant MatMul/Gemm weights exist once, packed (kernels/cpu/
// primitive_cache.h PackedWeights, kernels/cpu/matmul.cc): the session drops
// the plain tensor, the kernel lets go of its own after packing, and every
// later shape (including plans re-created after the per-kernel plan cache
// evicted them) runs on the packed copy. Checked here:
//  - PackedWeights itself: a second layout derived from the packed one
//    (fp32, bf16, and int8 with oneDNN's zero-point compensation) holds the
//    original values;
//  - many shapes, past the plan cache's 128 entries and back, for fp32
//    MatMul, Gemm (transB, alpha), bf16 and int8 MatMulInteger, against plain
//    reference loops, plus the path where a fused operand keeps A's batch
//    dims (the primitive then reads B plain, made from the packed copy);
//  - a weight that a Gather also reads stays plain for it;
//  - memory: a session running four 16 MiB weights peaks at one weight above
//    its loaded size, not at twice the weights (VmHWM from /proc/self/status).
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/onednn_context.h"
#include "kernels/cpu/primitive_cache.h"
#include "model_builder.h"
#include "onednn_test_util.h"
#include "passes/pass.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

using dnnl::memory;
using onednn_test::Input;

// ------------------------------------------------------------ PackedWeights

// `m`'s contents reordered into a dense row-major buffer of `type`.
std::vector<char> unpack(const memory& m, const memory::desc& dense) {
  memory out(dense, kernels::onednn::cpu_engine());
  memory::desc data_only = m.get_desc();
  data_only.data.extra = dnnl_memory_extra_desc_t{};  // compensation is not data
  memory src(data_only, kernels::onednn::cpu_engine(), m.get_data_handle());
  dnnl::reorder(src, out).execute(kernels::onednn::thread_stream(), src, out);
  kernels::onednn::thread_stream().wait();
  const char* p = static_cast<const char*>(out.get_data_handle());
  return std::vector<char>(p, p + dense.get_size());
}

memory::desc dense(int64_t k, int64_t n, memory::data_type t) { return memory::desc({k, n}, t, memory::format_tag::ab); }

TEST(PackedWeights, ReleasesThePlainTensorAndDerivesLayoutsFromThePackedCopy) {
  const int64_t k = 48, n = 80;
  const Tensor w = testing::random_tensor(DataType::kFloat32, {k, n}, 7);
  kernels::onednn::PackedWeights packed;
  packed.hold(w.clone(), dense(k, n, memory::data_type::f32));
  ASSERT_TRUE(packed.holds());
  const memory::desc blocked({k, n}, memory::data_type::f32, memory::format_tag::BA16a64b);
  packed.get(blocked);
  EXPECT_FALSE(packed.keeps_plain());
  EXPECT_EQ(packed.preferred(), blocked);
  // Another blocked layout, the transposed plain one and the plain one: all
  // from the packed copy, all with the original values.
  for (auto tag : {memory::format_tag::BA16a48b, memory::format_tag::ba, memory::format_tag::ab}) {
    const memory m = packed.get(memory::desc({k, n}, memory::data_type::f32, tag));
    const std::vector<char> back = unpack(m, dense(k, n, memory::data_type::f32));
    EXPECT_EQ(0, std::memcmp(back.data(), w.raw_data(), w.nbytes())) << "layout " << static_cast<int>(tag);
  }
  EXPECT_EQ(packed.layouts(), 4u);
}

TEST(PackedWeights, AdoptsThePlainTensorWhenItIsTheLayout) {
  const Tensor w = testing::random_tensor(DataType::kFloat32, {8, 8}, 3);
  kernels::onednn::PackedWeights packed;
  packed.hold(w, dense(8, 8, memory::data_type::f32));
  const memory m = packed.get(dense(8, 8, memory::data_type::f32));
  EXPECT_EQ(m.get_data_handle(), w.raw_data()) << "no copy when the packed layout is the plain one";
  EXPECT_TRUE(packed.keeps_plain());
}

TEST(PackedWeights, Bf16LayoutsKeepTheRoundedValues) {
  const int64_t k = 32, n = 64;
  const Tensor w = testing::random_tensor(DataType::kFloat32, {k, n}, 11);
  kernels::onednn::PackedWeights packed;
  packed.hold(w.clone(), dense(k, n, memory::data_type::f32));
  const memory first = packed.get(memory::desc({k, n}, memory::data_type::bf16, memory::format_tag::BA16a64b2a));
  const memory second = packed.get(memory::desc({k, n}, memory::data_type::bf16, memory::format_tag::BA16a32b2a));
  EXPECT_EQ(unpack(first, dense(k, n, memory::data_type::f32)), unpack(second, dense(k, n, memory::data_type::f32)));
  // And as plain float32 (the fused-operand path of a bf16 MatMul).
  const memory as_f32 = packed.get(dense(k, n, memory::data_type::f32));
  const float* p = static_cast<const float*>(as_f32.get_data_handle());
  for (int64_t i = 0; i < k * n; ++i) ASSERT_NEAR(p[i], w.data<float>()[i], 1e-2) << i;
}

TEST(PackedWeights, Int8WeightsWithCompensationDeriveExactly) {
  const int64_t m = 4, k = 64, n = 48;
  Tensor w = Tensor::zeros(DataType::kInt8, {k, n});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>((i * 37) % 255 - 127);
  // The layout an int8 matmul with a source zero point asks for carries
  // the compensation oneDNN computes at packing.
  dnnl::primitive_attr attr;
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::matmul::desc d(memory::desc({m, k}, memory::data_type::u8, memory::format_tag::ab),
                             memory::desc({k, n}, memory::data_type::s8, memory::format_tag::any),
                             memory::desc({m, n}, memory::data_type::s32, memory::format_tag::ab));
  const dnnl::matmul::primitive_desc pd(d, attr, kernels::onednn::cpu_engine());
  kernels::onednn::PackedWeights packed;
  packed.hold(w.clone(), dense(k, n, memory::data_type::s8));
  packed.get(pd.weights_desc());
  EXPECT_FALSE(packed.keeps_plain());
  const memory plain = packed.get(dense(k, n, memory::data_type::s8));
  EXPECT_EQ(0, std::memcmp(plain.get_data_handle(), w.raw_data(), w.nbytes()));
}

// ------------------------------------------------------------ many shapes

// More distinct shapes than a kernel's plan cache keeps (ShapeCache's 128),
// then the first ones again, which re-creates their evicted plans after
// the plain weights are gone.
std::vector<int64_t> many_rows() {
  std::vector<int64_t> rows;
  for (int64_t m = 1; m <= 140; ++m) rows.push_back(m);
  for (int64_t m = 1; m <= 6; ++m) rows.push_back(m);
  return rows;
}

TEST(PackedWeightsSession, MatMulRunsManyShapesAfterEviction) {
  const Tensor w = testing::random_tensor(DataType::kFloat32, {40, 24}, 5);
  const Tensor a0 = testing::random_tensor(DataType::kFloat32, {1, 40}, 1);
  auto session = onednn_test::make_session("MatMul", {{a0, false}, {w.clone(), true}}, {});
  ASSERT_TRUE(session) << session.status().message();
  for (int64_t m : many_rows()) {
    const Tensor a = testing::random_tensor(DataType::kFloat32, {m, 40}, static_cast<uint32_t>(m));
    auto y = (*session)->run({{"in0", a}});
    ASSERT_TRUE(y) << y.status().message();
    ASSERT_TRUE(testing::tensors_close((*y)[0].tensor, onednn_test::ref_matmul(a, w), 1e-4, 1e-4)) << "M=" << m;
  }
}

TEST(PackedWeightsSession, GemmWithTransposedScaledWeightsRunsManyShapes) {
  const Tensor w = testing::random_tensor(DataType::kFloat32, {24, 40}, 6);  // [N, K]: transB
  const Tensor c = testing::random_tensor(DataType::kFloat32, {24}, 8);
  const Tensor a0 = testing::random_tensor(DataType::kFloat32, {1, 40}, 1);
  auto session = onednn_test::make_session("Gemm", {{a0, false}, {w.clone(), true}, {c, true}},
                                           {{"transB", onednn_test::int_attr(1)},
                                            {"alpha", onednn_test::float_attr(0.5f)},
                                            {"beta", onednn_test::float_attr(2.0f)}});
  ASSERT_TRUE(session) << session.status().message();
  for (int64_t m : many_rows()) {
    const Tensor a = testing::random_tensor(DataType::kFloat32, {m, 40}, static_cast<uint32_t>(m));
    auto y = (*session)->run({{"in0", a}});
    ASSERT_TRUE(y) << y.status().message();
    const Tensor want = onednn_test::ref_gemm(a, w, &c, false, true, 0.5f, 2.0f);
    ASSERT_TRUE(testing::tensors_close((*y)[0].tensor, want, 1e-4, 1e-4)) << "M=" << m;
  }
}

TEST(PackedWeightsSession, Bf16MatMulRunsManyShapes) {
  const Tensor w = testing::random_tensor(DataType::kFloat32, {64, 32}, 9);
  const Tensor a0 = testing::random_tensor(DataType::kFloat32, {1, 64}, 1);
  auto session = onednn_test::make_session("MatMul", {{a0, false}, {w.clone(), true}},
                                           {{passes::kComputeBf16Attribute, onednn_test::int_attr(1)}});
  ASSERT_TRUE(session) << session.status().message();
  for (int64_t m : many_rows()) {
    const Tensor a = testing::random_tensor(DataType::kFloat32, {m, 64}, static_cast<uint32_t>(m));
    auto y = (*session)->run({{"in0", a}});
    ASSERT_TRUE(y) << y.status().message();
    ASSERT_TRUE(testing::tensors_close((*y)[0].tensor, onednn_test::ref_matmul(a, w), 3e-2, 3e-2)) << "M=" << m;
  }
}

// Exact integer reference: sum over k of (a - zero) * b.
Tensor ref_matmul_integer(const Tensor& a, uint8_t zero, const Tensor& b) {
  const int64_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  Tensor y = Tensor::zeros(DataType::kInt32, {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t q = 0; q < k; ++q)
        acc += (static_cast<int32_t>(a.data<uint8_t>()[i * k + q]) - zero) * b.data<int8_t>()[q * n + j];
      y.data<int32_t>()[i * n + j] = acc;
    }
  return y;
}

TEST(PackedWeightsSession, Int8MatMulIntegerRunsManyShapes) {
  const int64_t k = 36, n = 20;
  Tensor w = Tensor::zeros(DataType::kInt8, {k, n});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>((i * 53) % 251 - 125);
  const Tensor zero = Tensor::from_vector<uint8_t>({}, {131});
  Tensor a0 = Tensor::zeros(DataType::kUInt8, {1, k});
  auto session = onednn_test::make_session("MatMulInteger", {{a0, false}, {w.clone(), true}, {zero, false}}, {});
  ASSERT_TRUE(session) << session.status().message();
  for (int64_t m : many_rows()) {
    Tensor a = Tensor::zeros(DataType::kUInt8, {m, k});
    for (int64_t i = 0; i < a.numel(); ++i) a.data<uint8_t>()[i] = static_cast<uint8_t>((i * 29 + m) % 256);
    auto y = (*session)->run({{"in0", a}, {"in2", zero}});
    ASSERT_TRUE(y) << y.status().message();
    const Tensor want = ref_matmul_integer(a, 131, w);
    ASSERT_EQ(0, std::memcmp((*y)[0].tensor.raw_data(), want.raw_data(), want.nbytes())) << "M=" << m;
  }
}

TEST(PackedWeightsSession, FusedOperandWithBatchDimsReadsBFromThePackedCopy) {
  // Y = A[2,3,K] x B[K,N] + R[2,1,N]: R keeps A's batch dim but not M, so
  // the primitive cannot fold the batch into M and reads B plain.
  const int64_t k = 16, n = 24;
  const Tensor w = testing::random_tensor(DataType::kFloat32, {k, n}, 12);
  const Tensor a = testing::random_tensor(DataType::kFloat32, {2, 3, k}, 13);
  const Tensor r = testing::random_tensor(DataType::kFloat32, {2, 1, n}, 14);
  ir::Attribute post_ops;
  post_ops.kind = ir::Attribute::Kind::kStrings;
  post_ops.strings = {"binary:add:2"};
  auto session = onednn_test::make_session("MatMul", {{a, false}, {w.clone(), true}, {r, false}},
                                           {{passes::kPostOpsAttribute, post_ops}});
  ASSERT_TRUE(session) << session.status().message();
  Tensor want = onednn_test::ref_matmul(a, w);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < n; ++j) want.data<float>()[(b * 3 + i) * n + j] += r.data<float>()[b * n + j];
  // A first run with a foldable shape packs B; the batched one comes after.
  const Tensor a_flat = testing::random_tensor(DataType::kFloat32, {2, 3, k}, 15);
  const Tensor r_row = testing::random_tensor(DataType::kFloat32, {1, 1, n}, 16);
  ASSERT_TRUE((*session)->run({{"in0", a_flat}, {"in2", r_row}}));
  auto y = (*session)->run({{"in0", a}, {"in2", r}});
  ASSERT_TRUE(y) << y.status().message();
  EXPECT_TRUE(testing::tensors_close((*y)[0].tensor, want, 1e-4, 1e-4));
}

TEST(PackedWeightsSession, WeightAlsoReadByGatherStaysPlainForIt) {
  // Tied embeddings: one constant is a Gather's table and a MatMul's B.
  testing::ModelBuilder b(13);
  const Tensor e = testing::random_tensor(DataType::kFloat32, {8, 8}, 21);
  b.initializer("e", {8, 8}, std::vector<float>(e.data<float>(), e.data<float>() + 64));
  b.input("ids", onnx::TensorProto::INT64, {3});
  b.input("h", onnx::TensorProto::FLOAT, {3, 8});
  b.node("Gather", {"e", "ids"}, {"rows"});
  b.node("MatMul", {"h", "e"}, {"logits"});
  b.output("rows", onnx::TensorProto::FLOAT, {3, 8});
  b.output("logits", onnx::TensorProto::FLOAT, {3, 8});
  auto s = testing::save_and_load(b, "packed_weights_tied");
  ASSERT_TRUE(s) << s.status().message();
  const Tensor ids = Tensor::from_vector<int64_t>({3}, {5, 0, 7});
  const Tensor h = testing::random_tensor(DataType::kFloat32, {3, 8}, 22);
  auto y = (*s)->run({{"ids", ids}, {"h", h}});
  ASSERT_TRUE(y) << y.status().message();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 8; ++j)
      EXPECT_EQ((*y)[0].tensor.data<float>()[i * 8 + j], e.data<float>()[ids.data<int64_t>()[i] * 8 + j]);
  EXPECT_TRUE(testing::tensors_close((*y)[1].tensor, onednn_test::ref_matmul(h, e), 1e-4, 1e-4));
}

// ------------------------------------------------------------ memory

int64_t status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux 4.0+), so the peak of one phase
// can be read on its own.
bool reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

TEST(PackedWeightsMemory, FourLargeWeightsPeakAtOneAboveTheirLoadedSize) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan's allocator holds freed blocks in its quarantine and ignores
  // malloc_trim: resident memory says nothing about who still owns what.
  GTEST_SKIP() << "resident memory is not the engine's under AddressSanitizer";
#endif
  constexpr int64_t kDim = 2048;  // 16 MiB of float32 per weight
  constexpr int64_t kWeightKib = kDim * kDim * 4 / 1024;
  const auto path = testing::temp_dir("packed_weights_memory") / "model.onnx";
  {
    testing::ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {-1, kDim});
    std::vector<float> values(static_cast<size_t>(kDim * kDim));
    std::string prev = "x";
    for (int i = 0; i < 4; ++i) {
      for (size_t j = 0; j < values.size(); ++j) values[j] = static_cast<float>((j * 7 + i) % 13) * 1e-3f;
      testing::raw_initializer(b, "w" + std::to_string(i), onnx::TensorProto::FLOAT, {kDim, kDim}, values);
      const std::string out = i == 3 ? "y" : "h" + std::to_string(i);
      b.node("MatMul", {prev, "w" + std::to_string(i)}, {out});
      prev = out;
    }
    b.output("y", onnx::TensorProto::FLOAT, {-1, kDim});
    b.save(path);
  }
  auto s = Session::load(path, {.threads = 1});
  ASSERT_TRUE(s) << s.status().message();
  const int64_t loaded = status_kib("VmRSS");
  if (!reset_peak()) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
  for (int64_t m : {4, 9, 4}) {
    auto y = (*s)->run({{"x", testing::random_tensor(DataType::kFloat32, {m, kDim}, 1)}});
    ASSERT_TRUE(y) << y.status().message();
  }
  const int64_t peak = status_kib("VmHWM"), after = status_kib("VmRSS");
  // Plain and packed side by side would add all four weights (64 MiB); one
  // weight is packed at a time, and its plain copy goes at once.
  EXPECT_LT(peak - loaded, kWeightKib * 3 / 2) << "peak " << peak << " KiB, loaded " << loaded << " KiB";
  EXPECT_LT(after - loaded, kWeightKib / 2) << "after " << after << " KiB, loaded " << loaded << " KiB";
}

}  // namespace
}  // namespace ecoinfer
