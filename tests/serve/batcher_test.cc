// Dynamic batcher on a real (small) ONNX model: y = 2 * x, x of shape ?x?.
#include "serve/batcher.h"

#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::shared_ptr<const Session> doubling_model() {
  static std::shared_ptr<const Session> session = [] {
    testing::ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {-1, -1});
    b.initializer("two", {}, {2.0f});
    b.node("Mul", {"x", "two"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1});
    const auto path = testing::temp_dir("batcher") / "double.onnx";
    b.save(path);
    auto s = Session::load(path, {.threads = 1});
    EXPECT_TRUE(s) << s.status().message();
    return std::shared_ptr<const Session>(std::move(*s));
  }();
  return session;
}

InferenceRequest request_of(int64_t rows, int64_t cols, float first) {
  std::vector<float> values(rows * cols);
  for (size_t i = 0; i < values.size(); ++i) values[i] = first + static_cast<float>(i);
  InferenceRequest r;
  r.model = "double";
  r.inputs.push_back({"x", Tensor::from_vector<float>({rows, cols}, values)});
  return r;
}

// Records every executed batch's size.
struct Executions {
  std::mutex mutex;
  std::vector<int64_t> sizes;
  std::function<void(const ExecutionStats&)> observer() {
    return [this](const ExecutionStats& s) { std::lock_guard l(mutex); sizes.push_back(s.batch_size); };
  }
  std::vector<int64_t> get() { std::lock_guard l(mutex); return sizes; }
};

std::future<InferenceOutcome> submit(Batcher& b, InferenceRequest r) {
  auto promise = std::make_shared<std::promise<InferenceOutcome>>();
  auto future = promise->get_future();
  b.submit(std::move(r), [promise](InferenceOutcome o) { promise->set_value(std::move(o)); });
  return future;
}

void expect_doubled(const InferenceOutcome& o, const InferenceRequest& sent) {
  ASSERT_TRUE(o.ok()) << o.error->message;
  ASSERT_EQ(o.response.outputs.size(), 1u);
  const Tensor& x = sent.inputs[0].tensor;
  const Tensor& y = o.response.outputs[0].tensor;
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y.data<float>()[i], 2 * x.data<float>()[i]);
}

BatcherOptions batching(int max_batch, std::chrono::microseconds delay, Executions& ex) {
  BatcherOptions o;
  o.model = "double";
  o.max_batch_size = max_batch;
  o.dynamic_batching = true;
  o.max_queue_delay = delay;
  o.on_execution = ex.observer();
  return o;
}

TEST(Batcher, MergesWaitingRequestsAndSplitsOutputsBack) {
  Executions ex;
  Batcher b(doubling_model(), batching(8, 300ms, ex));
  std::vector<InferenceRequest> sent = {request_of(1, 3, 0), request_of(2, 3, 100), request_of(1, 3, 200)};
  std::vector<std::future<InferenceOutcome>> futures;
  for (const auto& r : sent) futures.push_back(submit(b, r));
  for (size_t i = 0; i < sent.size(); ++i) {
    InferenceOutcome o = futures[i].get();
    expect_doubled(o, sent[i]);
    EXPECT_EQ(o.response.stats.batch_size, 4);
  }
  EXPECT_EQ(ex.get(), std::vector<int64_t>{4});
}

TEST(Batcher, FullBatchRunsWithoutWaitingForTheDelay) {
  Executions ex;
  Batcher b(doubling_model(), batching(2, 10s, ex));
  const auto start = Clock::now();
  auto f1 = submit(b, request_of(1, 3, 0));
  auto f2 = submit(b, request_of(1, 3, 10));
  ASSERT_TRUE(f1.get().ok());
  ASSERT_TRUE(f2.get().ok());
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(ex.get(), std::vector<int64_t>{2});
}

TEST(Batcher, PreferredSizeRunsAtOnceAndTheRestWaitsForTheDelay) {
  Executions ex;
  BatcherOptions o = batching(8, 1s, ex);
  o.preferred_batch_sizes = {2};
  Batcher b(doubling_model(), o);
  const auto start = Clock::now();
  auto f1 = submit(b, request_of(1, 3, 0));
  auto f2 = submit(b, request_of(1, 3, 10));
  auto f3 = submit(b, request_of(1, 3, 20));
  ASSERT_TRUE(f1.get().ok());
  ASSERT_TRUE(f2.get().ok());
  const auto pair_done = Clock::now() - start;
  InferenceOutcome third = f3.get();
  ASSERT_TRUE(third.ok());
  const auto third_done = Clock::now() - start;
  EXPECT_LT(pair_done, 700ms);  // generous: the machine running tests may be busy
  EXPECT_GE(third_done, 950ms);
  EXPECT_EQ(ex.get(), (std::vector<int64_t>{2, 1}));
}

TEST(Batcher, LoneRequestWaitsAtMostTheQueueDelay) {
  Executions ex;
  Batcher b(doubling_model(), batching(8, 50ms, ex));
  const auto start = Clock::now();
  InferenceOutcome o = submit(b, request_of(1, 3, 0)).get();
  const auto elapsed = Clock::now() - start;
  ASSERT_TRUE(o.ok());
  EXPECT_GE(o.response.stats.queue_seconds, 0.045);
  EXPECT_LT(elapsed, 1s);
}

TEST(Batcher, DifferentNonBatchShapesAreNotMerged) {
  Executions ex;
  Batcher b(doubling_model(), batching(8, 200ms, ex));
  InferenceRequest a = request_of(1, 3, 0), c = request_of(1, 5, 0), d = request_of(1, 3, 50);
  auto fa = submit(b, a), fc = submit(b, c), fd = submit(b, d);
  expect_doubled(fa.get(), a);
  expect_doubled(fc.get(), c);
  expect_doubled(fd.get(), d);
  auto sizes = ex.get();
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 2}));
}

TEST(Batcher, FullQueueAnswersUnavailableAtOnce) {
  Executions ex;
  BatcherOptions o = batching(8, 10s, ex);
  o.max_queue_size = 2;
  Batcher b(doubling_model(), o);
  auto f1 = submit(b, request_of(1, 3, 0));
  auto f2 = submit(b, request_of(1, 3, 0));
  auto f3 = submit(b, request_of(1, 3, 0));
  ASSERT_EQ(f3.wait_for(0s), std::future_status::ready);
  InferenceOutcome rejected = f3.get();
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error->kind, ErrorKind::kUnavailable);
  EXPECT_NE(rejected.error->message.find("queue is full"), std::string::npos) << rejected.error->message;
  b.shutdown();  // runs the two queued requests without waiting out the delay
  EXPECT_TRUE(f1.get().ok());
  EXPECT_TRUE(f2.get().ok());
}

TEST(Batcher, RequestTimesOutInTheQueue) {
  Executions ex;
  Batcher b(doubling_model(), batching(8, 10s, ex));
  InferenceRequest r = request_of(1, 3, 0);
  r.timeout = 30ms;
  const auto start = Clock::now();
  InferenceOutcome o = submit(b, r).get();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error->kind, ErrorKind::kTimeout);
  EXPECT_GE(Clock::now() - start, 25ms);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(ex.get().empty());
}

TEST(Batcher, WithoutDynamicBatchingEveryRequestRunsAlone) {
  Executions ex;
  BatcherOptions o = batching(8, 0us, ex);
  o.dynamic_batching = false;
  Batcher b(doubling_model(), o);
  std::vector<std::future<InferenceOutcome>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(submit(b, request_of(1, 3, i)));
  for (auto& f : fs) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(ex.get(), (std::vector<int64_t>{1, 1, 1, 1}));
}

// A model without dynamic batching runs a request that finds the queue
// empty on the submitting thread (no worker to wake), but never more runs at
// once than its instance_count, whichever threads they are on.
TEST(Batcher, LoneRequestRunsOnTheCallersThreadWithinTheInstanceLimit) {
  std::mutex mutex;
  int running = 0, most_running = 0;
  BatcherOptions o;
  o.model = "double";
  o.instance_count = 1;
  o.run_on_caller_thread = true;
  o.on_execution = [&](const ExecutionStats&) {  // runs inside each execution: hold the instance a while
    {
      std::lock_guard l(mutex);
      most_running = std::max(most_running, ++running);
    }
    std::this_thread::sleep_for(30ms);
    std::lock_guard l(mutex);
    --running;
  };
  Batcher b(doubling_model(), o);
  const InferenceRequest alone = request_of(1, 3, 0);
  std::thread::id answered_on;
  b.submit(alone, [&](InferenceOutcome out) {
    answered_on = std::this_thread::get_id();
    expect_doubled(out, alone);
  });
  EXPECT_EQ(answered_on, std::this_thread::get_id()) << "answered before submit returned, on the caller's thread";

  std::vector<std::thread> callers;
  std::vector<InferenceOutcome> outcomes(4);
  for (int i = 0; i < 4; ++i)
    callers.emplace_back([&, i] { outcomes[static_cast<size_t>(i)] = submit(b, request_of(1, 3, static_cast<float>(i))).get(); });
  for (auto& t : callers) t.join();
  for (int i = 0; i < 4; ++i) expect_doubled(outcomes[static_cast<size_t>(i)], request_of(1, 3, static_cast<float>(i)));
  EXPECT_EQ(most_running, 1);
  b.shutdown();
}

TEST(Batcher, BatchAboveMaxIsRefused) {
  Executions ex;
  Batcher b(doubling_model(), batching(2, 0us, ex));
  InferenceOutcome o = submit(b, request_of(3, 3, 0)).get();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error->kind, ErrorKind::kBadRequest);
}

TEST(Batcher, EnergyOfABatchIsSharedByItems) {
  Executions ex;
  Batcher b(doubling_model(), batching(8, 200ms, ex));
  auto f1 = submit(b, request_of(1, 3, 0));
  auto f2 = submit(b, request_of(3, 3, 0));
  InferenceOutcome o1 = f1.get(), o2 = f2.get();
  ASSERT_TRUE(o1.ok() && o2.ok());
  EXPECT_FALSE(o1.response.stats.energy_method.empty());
  EXPECT_GT(o1.response.stats.energy_joules, 0);
  EXPECT_NEAR(o2.response.stats.energy_joules, 3 * o1.response.stats.energy_joules, 1e-12);
}

}  // namespace
}  // namespace ecoinfer::serve
