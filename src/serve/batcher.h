// Dynamic batcher: one per loaded model version. A bounded queue of requests
// and `instance_count` worker threads that each take a batch, run it through
// the model's backend (an ONNX Session or a pipeline) and answer every
// request of it.
//
// With dynamic batching, a worker merges queued requests along dimension 0
// (only requests whose inputs have the same names, types and non-batch
// dimensions) until the batch is full, or a preferred size is reached, or the
// oldest request has waited max_queue_delay; then it runs the batch once and
// splits every output back along dimension 0. Energy of the batch (from the
// energy meter) is shared among its requests by their item counts.
//
// With run_on_caller_thread (models without dynamic batching), a request
// that finds the queue empty and an instance free runs on the thread that
// submits it (an HTTP I/O thread) instead of waking a worker: that wake-up
// cost 40-200 us per request on these shared cores. At most one such run at
// a time in the whole process, so that with two or more I/O threads one is
// always free to read other connections. The server does not use it (since
// branch srvomp): each thread that runs compute grows its own OpenMP team, and
// once libgomp manages more threads than CPUs it sleeps at every barrier,
// which cost rec 5-13 ms per request, far more than the wake-up it saves.
//
// With `lanes` set, the batcher has no threads of its own: its instances are
// lanes of a ComputeLanes shared with the server's other models, so the
// process keeps one OpenMP team per lane instead of one per model instance
// (serve/compute_lanes.h says why that matters).
//
//   Batcher b(session, {.model = "cls", .max_batch_size = 8, .dynamic_batching = true});
//   b.submit(std::move(request), [](InferenceOutcome o) { ... });  // never blocks
//   b.shutdown();  // refuses new requests, finishes the queued ones, joins
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ecoinfer/energy.h"
#include "ecoinfer/session.h"
#include "serve/backend/model_backend.h"
#include "serve/compute_lanes.h"
#include "serve/inference_request.h"

namespace ecoinfer::serve {

// One executed batch, for metrics.
struct ExecutionStats {
  int64_t batch_size = 0;  // items
  int requests = 0;
  double compute_seconds = 0;
  energy::EnergyReading energy;  // method "" when no meter could be made
};

struct BatcherOptions {
  std::string model;  // for messages
  int max_batch_size = 0;
  bool dynamic_batching = false;
  std::vector<int> preferred_batch_sizes;
  std::chrono::microseconds max_queue_delay{0};
  size_t max_queue_size = 256;
  std::chrono::microseconds default_timeout{0};
  int instance_count = 1;
  int threads = 1;  // cores one run keeps busy (for the energy estimate)
  bool run_on_caller_thread = false;  // see above; ignored with dynamic batching or lanes
  ComputeLanes* lanes = nullptr;      // see above; must outlive the batcher
  std::function<void(const ExecutionStats&)> on_execution;  // called by workers
};

class Batcher : private ComputeLanes::Source {
 public:
  Batcher(std::shared_ptr<const ModelBackend> backend, BatcherOptions options);
  Batcher(std::shared_ptr<const Session> session, BatcherOptions options)
      : Batcher(make_session_backend(std::move(session)), std::move(options)) {}
  ~Batcher() override;
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues the request, or answers at once when the queue is full or the
  // batcher is stopping. `done` is called exactly once, possibly on a worker
  // thread; it must not block.
  void submit(InferenceRequest request, InferenceCallback done);
  // Runs queued requests at once from now on, without waiting for fuller
  // batches (still accepting new ones); for a server that is stopping.
  void flush();
  // Refuses new requests, runs every queued one, joins the workers. Idempotent.
  void shutdown();
  size_t queued() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    InferenceRequest request;
    InferenceCallback done;
    Clock::time_point enqueued;
    Clock::time_point deadline;  // Clock::time_point::max() when no timeout
    int64_t items = 1;
  };
  using Batch = std::vector<Pending>;

  void worker_loop();
  Batch next_batch(std::unique_lock<std::mutex>& lock);
  bool run_one(int lane, Clock::time_point& wake) override;
  Batch take(const std::vector<size_t>& chosen);
  void answer_expired(std::vector<Pending>& expired, Clock::time_point now);
  // The queue positions of the batch to run now, or none when it should wait.
  std::vector<size_t> choose_batch(Clock::time_point now) const;
  Clock::time_point wake_time() const;
  std::vector<Pending> take_expired(Clock::time_point now);
  void execute(Batch batch, energy::Meter* meter, bool& answering_started);
  void execute_safely(Batch batch, energy::Meter* meter);
  void answer_all(Batch& batch, ErrorKind kind, const std::string& message);
  bool try_run_on_caller(Pending& p);
  std::unique_ptr<energy::Meter> make_meter() const;

  std::shared_ptr<const ModelBackend> backend_;
  BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool flushing_ = false;
  int busy_ = 0;  // batches running, on workers and callers: at most instance_count
  std::vector<std::unique_ptr<energy::Meter>> caller_meters_;  // idle meters for runs on callers
  std::vector<std::thread> workers_;
  std::map<int, std::unique_ptr<energy::Meter>> lane_meters_;  // by lane number, with `lanes`
};

// True when two requests may run in one batch: same input names and types,
// same dimensions after the first, no BYTES inputs (those are not merged).
bool batchable_together(const InferenceRequest& a, const InferenceRequest& b);

}  // namespace ecoinfer::serve
