// Compute lanes: where models are placed, that a lane runs its sources on one
// thread, wakes for a source's deadline, and lets go of a source only when it
// no longer runs it; then real batchers on shared lanes.
#include "serve/compute_lanes.h"

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "model_builder.h"
#include "serve/batcher.h"
#include "test_util.h"

namespace ecoinfer::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A source with `pending` units of work; records the threads it ran on.
class CountingSource : public ComputeLanes::Source {
 public:
  bool run_one(int, Clock::time_point& wake) override {
    std::lock_guard lock(mutex_);
    if (ready_at_ > Clock::now()) {
      wake = ready_at_;
      return false;
    }
    if (pending_ == 0) return false;
    --pending_;
    ++ran_;
    threads_.insert(std::this_thread::get_id());
    return true;
  }
  void add(int n, Clock::time_point ready_at = Clock::time_point::min()) {
    std::lock_guard lock(mutex_);
    pending_ += n;
    ready_at_ = ready_at;
  }
  int ran() const {
    std::lock_guard lock(mutex_);
    return ran_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  mutable std::mutex mutex_;
  int pending_ = 0;
  int ran_ = 0;
  Clock::time_point ready_at_ = Clock::time_point::min();
  std::set<std::thread::id> threads_;
};

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

TEST(ComputeLanes, ModelsShareALaneWhenAnotherTeamWouldNotFitTheCpus) {
  ComputeLanes lanes(2);
  CountingSource a, b, c;
  EXPECT_EQ(lanes.attach(&a, 1, 2), std::vector<int>{0});
  EXPECT_EQ(lanes.attach(&b, 1, 2), std::vector<int>{0});       // 2 + 2 > 2 CPUs: shares
  EXPECT_EQ(lanes.attach(&c, 2, 2), (std::vector<int>{0, 1}));  // two instances need two lanes
  EXPECT_EQ(lanes.lane_count(), 2);
  for (auto* s : {&a, &b, &c}) lanes.detach(s);
}

TEST(ComputeLanes, ModelsGetLanesOfTheirOwnWhileTheTeamsFit) {
  ComputeLanes lanes(4);
  CountingSource a, b, c, d;
  EXPECT_EQ(lanes.attach(&a, 1, 2), std::vector<int>{0});
  EXPECT_EQ(lanes.attach(&b, 1, 2), std::vector<int>{1});  // 2 + 2 <= 4
  EXPECT_EQ(lanes.attach(&c, 1, 2), std::vector<int>{0});  // 6 > 4: the least used lane
  EXPECT_EQ(lanes.attach(&d, 1, 2), std::vector<int>{1});
  for (auto* s : {&a, &b, &c, &d}) lanes.detach(s);
}

TEST(ComputeLanes, SourcesOfOneLaneRunOnItsOneThread) {
  ComputeLanes lanes(1);
  CountingSource a, b;
  lanes.attach(&a, 1, 2);
  lanes.attach(&b, 1, 2);
  a.add(20);
  b.add(20);
  lanes.poke(&a);
  lanes.poke(&b);
  ASSERT_TRUE(eventually([&] { return a.ran() == 20 && b.ran() == 20; }));
  EXPECT_EQ(a.threads().size(), 1u);
  EXPECT_EQ(a.threads(), b.threads());
  EXPECT_NE(*a.threads().begin(), std::this_thread::get_id());
  lanes.detach(&a);
  lanes.detach(&b);
}

TEST(ComputeLanes, ALaneWakesAtTheTimeASourceNamedWithoutAPoke) {
  ComputeLanes lanes(1);
  CountingSource a;
  lanes.attach(&a, 1, 1);
  a.add(1, Clock::now() + 100ms);
  lanes.poke(&a);  // the lane looks once, learns the time, and sleeps until then
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }, 3s)) << "no poke came after the source's time";
  lanes.detach(&a);
}

// A source whose run blocks until released.
class BlockingSource : public ComputeLanes::Source {
 public:
  bool run_one(int, Clock::time_point&) override {
    if (!armed_.exchange(false)) return false;
    entered_.set_value();
    release_.get_future().wait();
    return true;
  }
  std::atomic<bool> armed_{true};
  std::promise<void> entered_;
  std::promise<void> release_;
};

TEST(ComputeLanes, DetachWaitsUntilNoLaneRunsTheSource) {
  ComputeLanes lanes(1);
  BlockingSource s;
  lanes.attach(&s, 1, 1);
  auto entered = s.entered_.get_future();
  lanes.poke(&s);
  ASSERT_EQ(entered.wait_for(5s), std::future_status::ready);
  auto detached = std::async(std::launch::async, [&] { lanes.detach(&s); });
  EXPECT_EQ(detached.wait_for(200ms), std::future_status::timeout) << "detach returned while the lane ran the source";
  s.release_.set_value();
  EXPECT_EQ(detached.wait_for(5s), std::future_status::ready);
}

// Real batchers on shared lanes: y = 2 * x.
std::shared_ptr<const Session> doubling_model() {
  static std::shared_ptr<const Session> session = [] {
    testing::ModelBuilder b(13);
    b.input("x", onnx::TensorProto::FLOAT, {-1, -1});
    b.initializer("two", {}, {2.0f});
    b.node("Mul", {"x", "two"}, {"y"});
    b.output("y", onnx::TensorProto::FLOAT, {-1, -1});
    const auto path = testing::temp_dir("compute_lanes") / "double.onnx";
    b.save(path);
    auto s = Session::load(path, {.threads = 1});
    EXPECT_TRUE(s) << s.status().message();
    return std::shared_ptr<const Session>(std::move(*s));
  }();
  return session;
}

InferenceRequest request_of(int64_t rows, float first) {
  std::vector<float> values(rows * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = first + static_cast<float>(i);
  InferenceRequest r;
  r.model = "double";
  r.inputs.push_back({"x", Tensor::from_vector<float>({rows, 3}, values)});
  return r;
}

std::future<InferenceOutcome> submit(Batcher& b, InferenceRequest r) {
  auto promise = std::make_shared<std::promise<InferenceOutcome>>();
  auto future = promise->get_future();
  b.submit(std::move(r), [promise](InferenceOutcome o) { promise->set_value(std::move(o)); });
  return future;
}

// The threads that executed batches, from on_execution (called by the runner).
struct Runners {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  std::vector<int64_t> sizes;
  std::function<void(const ExecutionStats&)> observer() {
    return [this](const ExecutionStats& s) {
      std::lock_guard l(mutex);
      ids.insert(std::this_thread::get_id());
      sizes.push_back(s.batch_size);
    };
  }
};

BatcherOptions on_lanes(ComputeLanes& lanes, Runners& runners) {
  BatcherOptions o;
  o.model = "double";
  o.threads = 2;
  o.lanes = &lanes;
  o.on_execution = runners.observer();
  return o;
}

TEST(ComputeLanesBatchers, TwoModelsRunOnOneThreadAndAnswerEveryRequest) {
  ComputeLanes lanes(2);
  Runners runners;
  Batcher first(doubling_model(), on_lanes(lanes, runners));
  Batcher second(doubling_model(), on_lanes(lanes, runners));
  std::vector<std::future<InferenceOutcome>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(submit(i % 2 ? first : second, request_of(1, static_cast<float>(i))));
  for (int i = 0; i < 20; ++i) {
    InferenceOutcome o = futures[i].get();
    ASSERT_TRUE(o.ok()) << o.error->message;
    EXPECT_EQ(o.response.outputs[0].tensor.data<float>()[0], 2.0f * static_cast<float>(i));
  }
  EXPECT_EQ(runners.ids.size(), 1u) << "two 2-thread models on 2 CPUs must share one thread (one OpenMP team)";
  EXPECT_EQ(lanes.lane_count(), 1);
}

TEST(ComputeLanesBatchers, DynamicBatchingWaitsForTheDelayThenMerges) {
  ComputeLanes lanes(2);
  Runners runners;
  BatcherOptions o = on_lanes(lanes, runners);
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  o.max_queue_delay = 200ms;
  Batcher b(doubling_model(), o);
  const auto start = Clock::now();
  auto f1 = submit(b, request_of(1, 0));
  auto f2 = submit(b, request_of(2, 10));
  InferenceOutcome o1 = f1.get();
  ASSERT_TRUE(o1.ok()) << o1.error->message;
  ASSERT_TRUE(f2.get().ok());
  EXPECT_GE(Clock::now() - start, 190ms) << "ran before the queue delay: the lane did not wait for the batch";
  EXPECT_EQ(o1.response.stats.batch_size, 3);
  EXPECT_EQ(runners.sizes, std::vector<int64_t>{3});
}

TEST(ComputeLanesBatchers, ARequestTimesOutInTheQueue) {
  ComputeLanes lanes(2);
  Runners runners;
  BatcherOptions o = on_lanes(lanes, runners);
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  o.max_queue_delay = 10s;  // would wait this long; the 50 ms timeout comes first
  Batcher b(doubling_model(), o);
  InferenceRequest r = request_of(1, 0);
  r.timeout = 50ms;
  auto f = submit(b, std::move(r));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  InferenceOutcome out = f.get();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error->kind, ErrorKind::kTimeout);
}

TEST(ComputeLanesBatchers, ShutdownRunsWhatIsQueuedThenLetsGoOfTheLanes) {
  ComputeLanes lanes(2);
  Runners runners;
  BatcherOptions o = on_lanes(lanes, runners);
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  o.max_queue_delay = 10s;
  auto b = std::make_unique<Batcher>(doubling_model(), o);
  auto f = submit(*b, request_of(1, 5));
  b->shutdown();  // runs the queued request at once instead of waiting 10 s
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  b.reset();
  Batcher other(doubling_model(), on_lanes(lanes, runners));  // the lane still serves others
  EXPECT_TRUE(submit(other, request_of(1, 1)).get().ok());
}


TEST(ComputeLanesBatchers, ClientsOnSeveralThreadsAndAShutdownLoseNoRequest) {
  ComputeLanes lanes(2);
  Runners runners;
  BatcherOptions batched = on_lanes(lanes, runners);
  batched.max_batch_size = 4;
  batched.dynamic_batching = true;
  batched.max_queue_delay = 1ms;
  Batcher kept(doubling_model(), batched);
  auto stopped = std::make_unique<Batcher>(doubling_model(), on_lanes(lanes, runners));
  constexpr int kClients = 4, kEach = 100;
  std::vector<std::vector<std::future<InferenceOutcome>>> futures(kClients);
  std::vector<std::thread> clients;
  std::atomic<bool> stop_sent{false};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        const bool to_kept = i % 2 == 0 || stop_sent;
        futures[c].push_back(submit(to_kept ? kept : *stopped, request_of(1, static_cast<float>(i))));
      }
    });
  }
  std::this_thread::sleep_for(2ms);
  stopped->shutdown();  // requests sent to it afterwards are refused, none is lost
  stop_sent = true;
  for (auto& t : clients) t.join();
  int answered = 0;
  for (auto& mine : futures) {
    for (auto& f : mine) {
      ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "a request was never answered";
      InferenceOutcome o = f.get();
      if (!o.ok()) {
        EXPECT_EQ(o.error->kind, ErrorKind::kUnavailable) << o.error->message;
      }
      ++answered;
    }
  }
  EXPECT_EQ(answered, kClients * kEach);
}

}  // namespace
}  // namespace ecoinfer::serve
