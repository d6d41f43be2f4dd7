// Session::run_into on the real PaddleOCR cls and rec models: outputs
// written into the caller's memory equal a plain run's, byte for byte, on
// the first run of a shape (no memory plan yet: copied) and on later ones
// (the last kernel writes there); bad bindings fail clearly and leave the
// memory as it was; the session keeps no pointer to it afterwards.
#include <cstring>

#include <gtest/gtest.h>

#include "test_util.h"

namespace ecoinfer {
namespace {

struct Case {
  const char* file;
  Shape input_shape;
};

std::unique_ptr<Session> load(const char* file) {
  auto session = Session::load(testing::models_dir() / file, SessionOptions{.threads = 1});
  EXPECT_TRUE(session) << session.status().message();
  return session ? std::move(*session) : nullptr;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

class RunInto : public ::testing::TestWithParam<Case> {};

TEST_P(RunInto, OutputsInCallerMemoryEqualAPlainRun) {
  // The expected outputs come from another session, so that the tested
  // one's first run_into is the shape's first run (no memory plan: copied).
  auto session = load(GetParam().file), reference = load(GetParam().file);
  ASSERT_TRUE(session && reference);
  const std::vector<NamedTensor> inputs = {
      {session->inputs()[0].name, testing::random_tensor(DataType::kFloat32, GetParam().input_shape, 7)}};
  auto expected = reference->run(inputs);
  ASSERT_TRUE(expected) << expected.status().message();
  const std::string name = session->outputs()[0].name;
  const size_t bytes = (*expected)[0].tensor.nbytes();

  for (int round = 0; round < 3; ++round) {  // round 0 is the shape's first run; later ones use its plan
    SCOPED_TRACE(round);
    std::vector<std::byte> memory(bytes + 64, std::byte{0x5a});
    auto got = session->run_into(inputs, {{name, memory.data(), memory.size(), DataType::kFloat32}});
    ASSERT_TRUE(got) << got.status().message();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].name, name);
    EXPECT_EQ((*got)[0].tensor.raw_data(), memory.data()) << "the returned tensor must view the caller's memory";
    EXPECT_TRUE(same_bytes((*got)[0].tensor, (*expected)[0].tensor));
    EXPECT_EQ(memory[bytes], std::byte{0x5a}) << "written past the output";
  }
  // The caller's memory is gone: later runs must not touch it (the test
  // would crash or differ under a sanitizer if the session kept it).
  auto again = session->run(inputs);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_TRUE(same_bytes((*again)[0].tensor, (*expected)[0].tensor));
}

INSTANTIATE_TEST_SUITE_P(RealModels, RunInto,
                         ::testing::Values(Case{"ch_ppocr_mobile_v2.0_cls_infer.onnx", {1, 3, 48, 192}},
                                           Case{"ch_PP-OCRv4_rec_infer.onnx", {1, 3, 48, 320}}),
                         [](const auto& info) { return info.index == 0 ? std::string("cls") : std::string("rec"); });

TEST(RunIntoErrors, BadBindingsFailClearlyAndWriteNothing) {
  auto session = load("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  ASSERT_TRUE(session);
  const std::vector<NamedTensor> inputs = {{"x", testing::random_tensor(DataType::kFloat32, {1, 3, 48, 192}, 3)}};
  const std::string name = session->outputs()[0].name;  // 1x2 float32: 8 bytes
  std::vector<std::byte> small(4, std::byte{0x5a});
  for (int round = 0; round < 2; ++round) {  // without and with a memory plan
    auto r = session->run_into(inputs, {{name, small.data(), small.size()}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("needs 8 bytes"), std::string::npos) << r.status().message();
    EXPECT_EQ(small, std::vector<std::byte>(4, std::byte{0x5a}));
  }
  std::vector<std::byte> memory(64);
  auto wrong_type = session->run_into(inputs, {{name, memory.data(), memory.size(), DataType::kInt64}});
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.status().message().find("is float, but its memory is bound as int64"), std::string::npos)
      << wrong_type.status().message();
  auto unknown = session->run_into(inputs, {{"logits", memory.data(), memory.size()}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("no output named 'logits'; its outputs are: " + name), std::string::npos)
      << unknown.status().message();
  auto twice = session->run_into(inputs, {{name, memory.data(), 32}, {name, memory.data() + 32, 32}});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.status().message().find("bound twice"), std::string::npos) << twice.status().message();
  auto null = session->run_into(inputs, {{name, nullptr, 64}});
  ASSERT_FALSE(null);
  EXPECT_NE(null.status().message().find("null pointer"), std::string::npos) << null.status().message();
}

}  // namespace
}  // namespace ecoinfer
