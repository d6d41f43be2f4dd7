// config.json parsing and the defaults a model without one gets.
#include "serve/model_config.h"

#include <gtest/gtest.h>

namespace ecoinfer::serve {
namespace {

TEST(ModelConfig, ReadsEveryKey) {
  auto c = parse_model_config(R"({"max_batch_size": 16,
      "dynamic_batching": {"preferred_batch_sizes": [8, 4], "max_queue_delay_microseconds": 1500},
      "max_queue_size": 10, "default_timeout_microseconds": 5000, "precision": "int8",
      "instance_count": 2, "threads": 1, "response_cache": true})", "cfg");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->max_batch_size, 16);
  EXPECT_TRUE(c->dynamic_batching);
  EXPECT_EQ(c->preferred_batch_sizes, (std::vector<int>{8, 4}));
  EXPECT_EQ(c->max_queue_delay.count(), 1500);
  EXPECT_EQ(c->max_queue_size, 10u);
  EXPECT_EQ(c->default_timeout.count(), 5000);
  EXPECT_EQ(c->precision, Precision::kInt8);
  EXPECT_EQ(c->instance_count, 2);
  EXPECT_EQ(c->threads, 1);
  EXPECT_TRUE(c->response_cache);
}

TEST(ModelConfig, EmptyObjectMeansNoBatching) {
  auto c = parse_model_config("{}", "cfg");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->max_batch_size, 0);
  EXPECT_FALSE(c->dynamic_batching);
  EXPECT_FALSE(c->response_cache);
}

TEST(ModelConfig, MistakesAreNamed) {
  auto expect_error = [](const std::string& text, const std::string& words) {
    auto c = parse_model_config(text, "repo/m/config.json");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.status().message().find(words), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find("repo/m/config.json"), std::string::npos);
  };
  expect_error("{", "not valid JSON");
  expect_error(R"({"max_batch": 4})", "unknown key \"max_batch\"");
  expect_error(R"({"max_batch_size": -1})", "max_batch_size");
  expect_error(R"({"max_batch_size": 4, "dynamic_batching": {"preferred_batch_sizes": [8]}})", "above max_batch_size");
  expect_error(R"({"dynamic_batching": {}})", "needs \"max_batch_size\"");
  expect_error(R"({"precision": "fp8"})", "not fp32, bf16 or int8");
  expect_error(R"({"response_cache": "yes"})", "true or false");
  expect_error(R"({"max_batch_size": 4, "dynamic_batching": {"delay": 3}})", "dynamic_batching.delay");
}

ValueDescription input(std::vector<DimInfo> dims) {
  ValueDescription v;
  v.name = "x";
  v.dtype = DataType::kFloat32;
  v.shape = std::move(dims);
  v.has_shape = true;
  return v;
}

TEST(ModelConfig, DefaultsComeFromTheModel) {
  const DimInfo dynamic{-1, "batch"}, three{3, ""};
  ModelConfig batched = default_model_config({input({dynamic, three})});
  EXPECT_EQ(batched.max_batch_size, 8);
  EXPECT_TRUE(batched.dynamic_batching);
  ModelConfig fixed = default_model_config({input({DimInfo{1, ""}, three})});
  EXPECT_EQ(fixed.max_batch_size, 0);
  EXPECT_FALSE(fixed.dynamic_batching);
}

}  // namespace
}  // namespace ecoinfer::serve
