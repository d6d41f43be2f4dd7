// The generic pipeline layer on small C++ stages: validation errors, the
// executor (micro-batches, parallel workers, a failing item fails alone),
// the content-addressed stage cache and its lineage, the Amdahl report.
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/amdahl.h"
#include "pipeline/executor.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage_cache.h"
#include "test_util.h"

namespace ecoinfer::pipeline {
namespace {

const ValueType kT = ValueType::kTensor;
const ValueType kText = ValueType::kText;

float first(const Value& v) { return std::get<Tensor>(v).data<float>()[0]; }
Value scalar_tensor(float x) { return Tensor::from_vector<float>({1}, {x}); }

// y = x * factor; fails for negative x; counts its executions.
Stage scale_stage(std::string name, std::string in, std::string out, float factor, std::atomic<int>* runs) {
  Stage s = function_stage(std::move(name), {{in, kT}}, {{out, kT}}, [=](const Values& v) -> Expected<Values> {
    if (runs) ++*runs;
    const float x = first(v.at(in));
    if (x < 0) return invalid_argument("negative input " + std::to_string(x));
    return Values{{out, scalar_tensor(x * factor)}};
  });
  s.parameters = "factor=" + std::to_string(factor);
  return s;
}

Stage sum_stage(std::atomic<int>* runs) {
  return function_stage("sum", {{"a", kT}, {"b", kT}}, {{"sum", kT}}, [=](const Values& v) -> Expected<Values> {
    if (runs) ++*runs;
    return Values{{"sum", scalar_tensor(first(v.at("a")) + first(v.at("b")))}};
  });
}

// x -> a = 2x, b = 3x (independent) -> sum = a + b = 5x
Expected<Pipeline> diamond(float a_factor, std::atomic<int>* a_runs, std::atomic<int>* b_runs,
                           std::atomic<int>* sum_runs) {
  std::vector<Stage> stages;
  stages.push_back(sum_stage(sum_runs));  // listed first on purpose: the pipeline orders them
  stages.push_back(scale_stage("double", "x", "a", a_factor, a_runs));
  stages.push_back(scale_stage("triple", "x", "b", 3, b_runs));
  return Pipeline::create({{"x", kT}}, std::move(stages), {"sum"});
}

std::vector<Values> numbers(int n, int start = 0) {
  std::vector<Values> items;
  for (int i = start; i < start + n; ++i) items.push_back({{"x", scalar_tensor(static_cast<float>(i))}});
  return items;
}

TEST(PipelineValidation, OrdersStagesAndFindsDependencies) {
  auto p = diamond(2, nullptr, nullptr, nullptr);
  ASSERT_TRUE(p) << p.status().message();
  EXPECT_EQ(p->stages().back().name, "sum");
  EXPECT_EQ(p->dependencies(2).size(), 2u);
}

TEST(PipelineValidation, MissingInputIsNamed) {
  std::vector<Stage> stages;
  stages.push_back(scale_stage("double", "z", "a", 2, nullptr));
  auto p = Pipeline::create({{"x", kT}}, std::move(stages), {"a"});
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("stage 'double' reads 'z', which no stage produces"), std::string::npos)
      << p.status().message();
}

TEST(PipelineValidation, TypeMismatchIsNamed) {
  std::vector<Stage> stages;
  stages.push_back(scale_stage("double", "x", "a", 2, nullptr));
  auto p = Pipeline::create({{"x", kText}}, std::move(stages), {"a"});
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("reads 'x' as tensor, but it is a text"), std::string::npos)
      << p.status().message();
}

TEST(PipelineValidation, CycleIsNamed) {
  std::vector<Stage> stages;
  stages.push_back(scale_stage("ping", "b", "a", 2, nullptr));
  stages.push_back(scale_stage("pong", "a", "b", 2, nullptr));
  auto p = Pipeline::create({}, std::move(stages), {"a"});
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("cycle through stages 'ping', 'pong'"), std::string::npos)
      << p.status().message();
}

TEST(PipelineValidation, TwoProducersAndDuplicateNames) {
  std::vector<Stage> stages;
  stages.push_back(scale_stage("one", "x", "a", 2, nullptr));
  stages.push_back(scale_stage("two", "x", "a", 3, nullptr));
  auto p = Pipeline::create({{"x", kT}}, std::move(stages), {"a"});
  ASSERT_FALSE(p);
  EXPECT_NE(p.status().message().find("produced by stage 'two' and by stage 'one'"), std::string::npos)
      << p.status().message();
}

TEST(PipelineExecutor, ComputesEveryItemInMicroBatchesWithParallelWorkers) {
  std::atomic<int> a = 0, b = 0, s = 0;
  auto p = diamond(2, &a, &b, &s);
  ASSERT_TRUE(p);
  const RunResult r = run_pipeline(*p, numbers(50), {.workers = 2, .batch_size = 8});
  ASSERT_EQ(r.items.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(r.items[i]) << r.items[i].status().message();
    EXPECT_EQ(first(r.items[i]->at("sum")), 5.0f * i);
  }
  EXPECT_EQ(a + b + s, 150);
  EXPECT_EQ(r.profile.micro_batches, 7u);
  EXPECT_EQ(r.profile.stages.back().calls, 7u);  // one call per micro-batch: the stage saw batches
  EXPECT_EQ(r.profile.stages.back().items, 50u);
  EXPECT_GT(r.profile.stages.back().bytes_in, 0u);
}

TEST(PipelineExecutor, FailingItemFailsAloneWithItsError) {
  auto p = diamond(2, nullptr, nullptr, nullptr);
  ASSERT_TRUE(p);
  std::vector<Values> items = numbers(10);
  items[3] = {{"x", scalar_tensor(-1)}};
  items[7] = {{"y", scalar_tensor(1)}};  // lacks the input
  const RunResult r = run_pipeline(*p, items, {.workers = 2, .batch_size = 4});
  for (int i = 0; i < 10; ++i) {
    if (i == 3) {
      ASSERT_FALSE(r.items[i]);
      EXPECT_NE(r.items[i].status().message().find("negative input"), std::string::npos);
    } else if (i == 7) {
      ASSERT_FALSE(r.items[i]);
      EXPECT_NE(r.items[i].status().message().find("lacks the pipeline input 'x'"), std::string::npos);
    } else {
      ASSERT_TRUE(r.items[i]) << r.items[i].status().message();
      EXPECT_EQ(first(r.items[i]->at("sum")), 5.0f * i);
    }
  }
}

TEST(PipelineExecutor, IndependentStagesOverlapWithTwoWorkers) {
  // Two sleeping branches of 50 ms per item: one worker needs ~200 ms for
  // the micro-batch of two items, two workers run the branches at once.
  auto sleeper = [](std::string name, std::string out) {
    return function_stage(name, {{"x", kT}}, {{out, kT}}, [out](const Values& v) -> Expected<Values> {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return Values{{out, v.at("x")}};
    });
  };
  std::vector<Stage> stages;
  stages.push_back(sleeper("left", "l"));
  stages.push_back(sleeper("right", "r"));
  auto p = Pipeline::create({{"x", kT}}, std::move(stages), {"l", "r"});
  ASSERT_TRUE(p);
  const RunResult one = run_pipeline(*p, numbers(2), {.workers = 1, .batch_size = 2});
  const RunResult two = run_pipeline(*p, numbers(2), {.workers = 2, .batch_size = 2});
  EXPECT_GT(one.profile.wall_seconds, 0.195);
  EXPECT_LT(two.profile.wall_seconds, 0.17);
  // One branch is the critical path: half the work cannot be shared.
  EXPECT_NEAR(one.profile.span_seconds, 0.1, 0.03);
  const AmdahlReport report = amdahl_report(one.profile, &two.profile);
  EXPECT_NEAR(report.serial_fraction, 0.5, 0.1);
  ASSERT_EQ(report.predicted.size(), 4u);
  EXPECT_NEAR(report.predicted[0].amdahl, 1.33, 0.1);   // 1 / (0.5 + 0.5 / 2)
  EXPECT_NEAR(report.predicted[3].at_most, 2.0, 0.3);   // 1 / f: the two branches side by side
  ASSERT_TRUE(report.measured_speedup);
  EXPECT_GT(*report.measured_speedup, 1.4);
  EXPECT_EQ(report.limiting_stage.empty(), false);
  EXPECT_FALSE(format_amdahl(report).empty());
}

TEST(StageCacheTest, SecondRunSkipsEveryStageAndParameterChangeRerunsOnlyItsStage) {
  const auto dir = testing::temp_dir("pipeline_cache");
  auto cache = StageCache::open(dir, 1 << 20);
  ASSERT_TRUE(cache) << cache.status().message();
  std::atomic<int> a = 0, b = 0, s = 0;
  auto p = diamond(2, &a, &b, &s);
  ASSERT_TRUE(p);
  const RunOptions options{.workers = 2, .batch_size = 4, .cache = cache->get()};
  // From 1: x = 0 gives a = 0 whatever the factor, a cache hit for 'sum' below.
  const RunResult first_run = run_pipeline(*p, numbers(12, 1), options);
  EXPECT_EQ(a + b + s, 36);
  const RunResult second_run = run_pipeline(*p, numbers(12, 1), options);
  EXPECT_EQ(a + b + s, 36) << "a re-run over the same data ran stages again";
  for (int i = 0; i < 12; ++i) EXPECT_EQ(first(second_run.items[i]->at("sum")), first(first_run.items[i]->at("sum")));
  for (const StageProfile& st : second_run.profile.stages) EXPECT_EQ(st.cache_hits, 12u) << st.name;

  // double's factor changes: double reruns, triple does not, sum reruns (its input changed).
  auto changed = diamond(4, &a, &b, &s);
  ASSERT_TRUE(changed);
  const RunResult third_run = run_pipeline(*changed, numbers(12, 1), options);
  EXPECT_EQ(a.load(), 24);
  EXPECT_EQ(b.load(), 12);
  EXPECT_EQ(s.load(), 24);
  EXPECT_EQ(first(third_run.items[5]->at("sum")), 42.0f);  // x = 6: 4x + 3x

  // Lineage: per item and stage, the key and the input and output hashes.
  const auto& stages = third_run.lineage["items"][5]["stages"];
  ASSERT_EQ(stages.size(), 3u);
  for (const auto& st : stages) {
    EXPECT_TRUE(st.contains("key"));
    EXPECT_TRUE(st["inputs"].contains("x") || st["inputs"].contains("a"));
    EXPECT_FALSE(st["outputs"].empty());
    EXPECT_EQ(st["cached"].get<bool>(), st["stage"] == "triple");
  }
}

TEST(StageCacheTest, BoundedSizeEvictsTheOldestAndCorruptEntriesAreMisses) {
  const auto dir = testing::temp_dir("pipeline_cache_bound");
  auto cache = StageCache::open(dir, 64 * 1024);
  ASSERT_TRUE(cache);
  Stage stage = scale_stage("s", "x", "y", 1, nullptr);
  for (int i = 0; i < 40; ++i) {
    // Incompressible-ish 4 kB values.
    std::vector<float> data(1024);
    for (size_t j = 0; j < data.size(); ++j) data[j] = static_cast<float>((j * 2654435761u + i * 97) % 1000003);
    ASSERT_TRUE((*cache)->put(StageCache::key(stage, {std::to_string(i)}),
                              {{"y", Tensor::from_vector<float>({1024}, data)}}).is_ok());
  }
  EXPECT_LE((*cache)->size_bytes(), 64u * 1024);
  EXPECT_FALSE((*cache)->get(StageCache::key(stage, {"0"})));
  EXPECT_TRUE((*cache)->get(StageCache::key(stage, {"39"})));
  // A damaged entry reads as a miss.
  const std::string key = StageCache::key(stage, {"39"});
  std::ofstream(dir / "objects" / key.substr(0, 2) / (key + ".zst"), std::ios::trunc) << "garbage";
  EXPECT_FALSE((*cache)->get(key));
}

TEST(ValueTest, RoundTripsEveryKind) {
  Values v{{"t", Tensor::from_vector<uint8_t>({2, 2}, {1, 2, 3, 4})},
           {"l", TensorList{Tensor::from_vector<float>({1}, {1.5f}), Tensor::from_vector<int64_t>({0}, {})}},
           {"s", std::string("text\0bytes", 10)}};
  auto back = deserialize_values(serialize_values(v));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(value_hash(back->at("t")), value_hash(v.at("t")));
  EXPECT_EQ(value_hash(back->at("l")), value_hash(v.at("l")));
  EXPECT_EQ(std::get<std::string>(back->at("s")), std::string("text\0bytes", 10));
  EXPECT_FALSE(deserialize_values(serialize_values(v).substr(0, 20)));
}

}  // namespace
}  // namespace ecoinfer::pipeline
