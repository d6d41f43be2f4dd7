// Compute lanes: the threads on which a server's models run their batches,
// shared between models so that the process keeps few OpenMP teams.
//
// Why: libgomp gives every thread that opens a parallel region a team of its
// own (`threads` - 1 helpers that stay for the life of that thread), and once
// it manages more threads than the machine has CPUs it stops spinning at
// barriers and sleeps on a futex at each of a run's hundreds of them. With a
// worker thread per model, two 2-thread models on 2 CPUs were enough for
// that: rec computed in 12 ms instead of 7 (docs/PERFORMANCE.md, "Compute
// lanes"), even while the other model sat idle.
// A lane is one thread, hence one team, that runs batches of every model
// attached to it, one at a time.
//
// Placement (attach): a model with `instances` instances gets that many
// distinct lanes. A new lane is started when fewer lanes exist than the model
// needs, or when the new team fits beside the existing ones within the CPUs
// (so a large machine still runs different models in parallel); otherwise
// the model shares the least used lanes.
//
// A source (a model's batcher) is driven by the lanes: run_one() runs one
// ready batch on the calling lane, or says when it next has work (a dynamic
// batching deadline, a request timeout). poke(source) after queueing work
// wakes only the lanes that source is on.
//
//   ComputeLanes lanes(/*cpus=*/2);
//   lanes.attach(&batcher, /*instances=*/1, /*threads=*/2);
//   lanes.poke(&batcher);    // after batcher queued a request
//   lanes.detach(&batcher);  // waits until no lane is inside it
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ecoinfer::serve {

class ComputeLanes {
 public:
  using Clock = std::chrono::steady_clock;

  class Source {
   public:
    virtual ~Source() = default;
    // Runs one ready batch on this thread (lane number `lane`) and returns
    // true; or returns false and sets `wake` to when it may have work without
    // a poke (Clock::time_point::max() when only a poke can bring any).
    // Must not throw: a batch's failure is its requests' answer.
    virtual bool run_one(int lane, Clock::time_point& wake) = 0;
  };

  // `cpus`: the CPUs teams may use without oversubscribing (0: those this
  // process may run on).
  explicit ComputeLanes(int cpus = 0);
  ~ComputeLanes();  // stops and joins the lanes; sources must be detached first
  ComputeLanes(const ComputeLanes&) = delete;
  ComputeLanes& operator=(const ComputeLanes&) = delete;

  // Gives `source` `instances` distinct lanes; `threads` is its team size.
  // Returns the lane numbers it got.
  std::vector<int> attach(Source* source, int instances, int threads);
  // Removes `source`; returns once no lane runs it.
  void detach(Source* source);
  // `source` may have work now: its idle lanes look.
  void poke(const Source* source);

  int lane_count() const;

 private:
  struct Lane {
    std::vector<Source*> sources;
    Source* running = nullptr;  // the source inside run_one now
    int team = 1;               // the largest `threads` among its sources
    size_t next = 0;            // where the next round robin starts
    uint64_t pokes = 0;         // a lane that was poked while looking looks again
    std::condition_variable work;  // pokes and stop
    std::thread thread;
  };

  void lane_loop(Lane* lane, int index);
  int start_lane(int team);  // with mutex_ held

  const int cpus_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;  // a lane left a source
  std::vector<std::unique_ptr<Lane>> lanes_;
  bool stopping_ = false;
};

}  // namespace ecoinfer::serve
