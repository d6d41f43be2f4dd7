#include <fstream>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

TEST(Npy, RoundTripsEverySupportedType) {
  const auto dir = testing::temp_dir("npy_roundtrip");
  for (DataType t : {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kInt64, DataType::kInt32,
                     DataType::kInt8, DataType::kUInt8, DataType::kBool}) {
    Tensor x = testing::random_tensor(t, {2, 3, 5}, 7);
    const auto path = dir / (std::string(dtype_name(t)) + ".npy");
    ASSERT_TRUE(write_npy(path, x).is_ok());
    Expected<Tensor> y = read_npy(path);
    ASSERT_TRUE(y) << y.status().message();
    EXPECT_TRUE(testing::tensors_close(*y, x, 0, 0)) << dtype_name(t);
  }
}

TEST(Npy, ScalarAndOneDimensional) {
  const auto dir = testing::temp_dir("npy_small");
  ASSERT_TRUE(write_npy(dir / "s.npy", Tensor::scalar<float>(2.5f)).is_ok());
  auto s = read_npy(dir / "s.npy");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rank(), 0u);
  EXPECT_EQ(s->data<float>()[0], 2.5f);
  ASSERT_TRUE(write_npy(dir / "v.npy", Tensor::from_vector<int64_t>({3}, {1, 2, 3})).is_ok());
  auto v = read_npy(dir / "v.npy");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->shape(), Shape({3}));
}

TEST(Npy, RefusesAFileThatLiesAboutItsSize) {
  const auto dir = testing::temp_dir("npy_lies");
  ASSERT_TRUE(write_npy(dir / "x.npy", Tensor::zeros(DataType::kFloat32, {4, 4})).is_ok());
  std::filesystem::resize_file(dir / "x.npy", std::filesystem::file_size(dir / "x.npy") - 8);
  auto r = read_npy(dir / "x.npy");
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("truncated or corrupt"), std::string::npos) << r.status().message();
}

TEST(Npy, RefusesANonNpyFile) {
  const auto dir = testing::temp_dir("npy_garbage");
  std::ofstream(dir / "x.npy") << "hello, not numpy";
  auto r = read_npy(dir / "x.npy");
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("not a NumPy .npy file"), std::string::npos);
}

}  // namespace
}  // namespace ecoinfer
