// The cache key (what changes it, what does not) and the tensor codec (round
// trip of every type, clean errors on truncated and corrupt bytes).
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "serve/cache/cache_key.h"
#include "serve/cache/tensor_codec.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

std::vector<NamedTensor> sample_inputs() {
  return {{"x", testing::random_tensor(DataType::kFloat32, {1, 3, 4, 4}, 1)},
          {"ids", Tensor::from_vector<int64_t>({2}, {5, 9})}};
}

TEST(CacheKey, SameRequestSameKey) {
  EXPECT_EQ(response_cache_key("cls", "1", {"y"}, sample_inputs()),
            response_cache_key("cls", "1", {"y"}, sample_inputs()));
}

TEST(CacheKey, InputOrderDoesNotMatter) {
  auto inputs = sample_inputs();
  std::swap(inputs[0], inputs[1]);
  EXPECT_EQ(response_cache_key("cls", "1", {}, inputs), response_cache_key("cls", "1", {}, sample_inputs()));
}

TEST(CacheKey, EveryFieldChangesTheKey) {
  const uint64_t base = response_cache_key("cls", "1", {"y"}, sample_inputs());
  EXPECT_NE(base, response_cache_key("det", "1", {"y"}, sample_inputs()));
  EXPECT_NE(base, response_cache_key("cls", "2", {"y"}, sample_inputs()));
  EXPECT_NE(base, response_cache_key("cls", "1", {"z"}, sample_inputs()));
  EXPECT_NE(base, response_cache_key("cls", "1", {}, sample_inputs()));
  EXPECT_NE(response_cache_key("ab", "c", {}, {}), response_cache_key("a", "bc", {}, {}));  // length-prefixed

  auto renamed = sample_inputs();
  renamed[0].name = "x2";
  EXPECT_NE(base, response_cache_key("cls", "1", {"y"}, renamed));

  auto one_byte = sample_inputs();
  one_byte[0].tensor = one_byte[0].tensor.clone();
  static_cast<unsigned char*>(one_byte[0].tensor.raw_data())[17] ^= 1;
  EXPECT_NE(base, response_cache_key("cls", "1", {"y"}, one_byte));

  auto reshaped = sample_inputs();
  reshaped[0].tensor = reshaped[0].tensor.reshaped({1, 3, 16});  // same bytes, other shape
  EXPECT_NE(base, response_cache_key("cls", "1", {"y"}, reshaped));

  auto retyped = sample_inputs();  // same bytes, other type
  Tensor as_int = Tensor::zeros(DataType::kInt32, {1, 3, 4, 4});
  std::memcpy(as_int.raw_data(), retyped[0].tensor.raw_data(), as_int.nbytes());
  retyped[0].tensor = as_int;
  EXPECT_NE(base, response_cache_key("cls", "1", {"y"}, retyped));
}

TEST(TensorCodec, RoundTripsEveryTypeAndShape) {
  std::vector<NamedTensor> tensors;
  const DataType types[] = {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16,
                            DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,   DataType::kInt64,
                            DataType::kBool};
  int seed = 0;
  for (DataType t : types) tensors.push_back({fmt::format("t{}", seed), testing::random_tensor(t, {2, 3}, ++seed)});
  tensors.push_back({"scalar", Tensor::scalar<float>(3.5f)});
  tensors.push_back({"empty", Tensor::zeros(DataType::kFloat32, {0, 4})});
  tensors.push_back({"", Tensor::from_vector<int32_t>({1}, {42})});
  auto back = decode_tensors(encode_tensors(tensors));
  ASSERT_TRUE(back) << back.status().message();
  ASSERT_EQ(back->size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ((*back)[i].name, tensors[i].name);
    EXPECT_EQ((*back)[i].tensor.dtype(), tensors[i].tensor.dtype());
    EXPECT_EQ((*back)[i].tensor.shape(), tensors[i].tensor.shape());
    EXPECT_TRUE(testing::tensors_close((*back)[i].tensor, tensors[i].tensor, 0, 0)) << tensors[i].name;
  }
}

TEST(TensorCodec, EmptyListRoundTrips) {
  auto back = decode_tensors(encode_tensors({}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

TEST(TensorCodec, EveryTruncationFailsCleanly) {
  const std::string bytes = encode_tensors(sample_inputs());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_tensors(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r) << "truncated to " << n << " of " << bytes.size() << " bytes";
    EXPECT_NE(r.status().message().find("cached tensors"), std::string::npos);
  }
  EXPECT_FALSE(decode_tensors(bytes + "x")) << "trailing bytes";
}

TEST(TensorCodec, RandomCorruptionNeverCrashes) {
  const std::string bytes = encode_tensors(sample_inputs());
  std::mt19937 rng(3);
  int failures = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string corrupt = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) corrupt[rng() % std::min<size_t>(corrupt.size(), 80)] = static_cast<char>(rng());
    auto r = decode_tensors(corrupt);
    failures += r ? 0 : 1;
    if (r) {  // a flip in the data bytes still decodes, with the same structure
      EXPECT_EQ(r->size(), 2u);
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(TensorCodec, HugeDeclaredSizesAreRejectedWithoutAllocating) {
  std::string bytes = encode_tensors({{"x", Tensor::from_vector<float>({1}, {1.0f})}});
  // Rewrite the single dimension (after magic, count, name length, "x", dtype, rank) to 2^40.
  const size_t dim_offset = 4 + 4 + 4 + 1 + 4 + 4;
  const int64_t huge = int64_t{1} << 40;
  std::memcpy(bytes.data() + dim_offset, &huge, sizeof huge);
  auto r = decode_tensors(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("data bytes"), std::string::npos) << r.status().message();

  std::string many = encode_tensors({});
  const uint32_t count = 0xffffffffu;
  std::memcpy(many.data() + 4, &count, sizeof count);
  EXPECT_FALSE(decode_tensors(many));
}

std::vector<BytesTensor> sample_bytes() {
  return {{"image", {2}, {std::string("\x89PNG\0raw", 8), "second"}}};
}

TEST(CacheKey, BytesInputsKeyOnEveryElement) {
  const uint64_t base = response_cache_key("ocr", "1", {}, {}, sample_bytes());
  EXPECT_EQ(base, response_cache_key("ocr", "1", {}, {}, sample_bytes()));
  EXPECT_NE(base, response_cache_key("ocr", "1", {}, {}));
  auto changed = sample_bytes();
  changed[0].elements[1] = "Second";
  EXPECT_NE(base, response_cache_key("ocr", "1", {}, {}, changed));
  // Element boundaries count: ["ab", "c"] is not ["a", "bc"].
  EXPECT_NE(response_cache_key("ocr", "1", {}, {}, {{"image", {2}, {"ab", "c"}}}),
            response_cache_key("ocr", "1", {}, {}, {{"image", {2}, {"a", "bc"}}}));
  EXPECT_NE(response_cache_key("ocr", "1", {}, {}, {{"image", {2}, {"a", "b"}}}),
            response_cache_key("ocr", "1", {}, {}, {{"image", {1, 2}, {"a", "b"}}}));
  // A numeric-only request keeps the key it had before BYTES existed.
  EXPECT_EQ(response_cache_key("cls", "1", {"y"}, sample_inputs(), {}),
            response_cache_key("cls", "1", {"y"}, sample_inputs()));
}

TEST(TensorCodec, BytesTensorsRoundTripBesideNumericOnes) {
  const ModelValues values{sample_inputs(), {{"text", {2}, {"", "line one\nline two"}}, {"lines", {0}, {}}}};
  const std::string encoded = encode_values(values);
  auto back = decode_values(encoded);
  ASSERT_TRUE(back) << back.status().message();
  ASSERT_EQ(back->tensors.size(), 2u);
  ASSERT_EQ(back->bytes.size(), 2u);
  EXPECT_EQ(back->bytes[0].name, "text");
  EXPECT_EQ(back->bytes[0].shape, Shape({2}));
  EXPECT_EQ(back->bytes[0].elements, values.bytes[0].elements);
  EXPECT_TRUE(back->bytes[1].elements.empty());
  EXPECT_FALSE(decode_tensors(encoded)) << "the numeric-only reader refuses BYTES instead of dropping them";
  for (size_t n = 0; n < encoded.size(); ++n) EXPECT_FALSE(decode_values(encoded.substr(0, n))) << n;
}

}  // namespace
}  // namespace ecoinfer::serve
