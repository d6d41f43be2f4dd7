#include "serve/batcher.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace ecoinfer::serve {
namespace {

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Concatenates the k-th input of every request along dimension 0. C order
// makes that a concatenation of their bytes.
Tensor concatenate_input(const std::vector<const InferenceRequest*>& requests, size_t k, int64_t total) {
  const Tensor& first = requests[0]->inputs[k].tensor;
  Shape shape = first.shape();
  shape[0] = total;
  Tensor merged = Tensor::zeros(first.dtype(), shape);
  auto* out = static_cast<std::byte*>(merged.raw_data());
  for (const InferenceRequest* r : requests) {
    const Tensor& t = r->inputs[k].tensor;
    if (t.nbytes() > 0) std::memcpy(out, t.raw_data(), t.nbytes());
    out += t.nbytes();
  }
  return merged;
}

// Rows [begin, begin + count) of `t` along dimension 0, as a new tensor.
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t count) {
  Shape shape = t.shape();
  const size_t row_bytes = shape[0] == 0 ? 0 : t.nbytes() / static_cast<size_t>(shape[0]);
  shape[0] = count;
  Tensor part = Tensor::zeros(t.dtype(), shape);
  if (part.nbytes() > 0)
    std::memcpy(part.raw_data(), static_cast<const std::byte*>(t.raw_data()) + begin * row_bytes, part.nbytes());
  return part;
}

}  // namespace

bool batchable_together(const InferenceRequest& a, const InferenceRequest& b) {
  if (a.inputs.size() != b.inputs.size() || !a.bytes_inputs.empty() || !b.bytes_inputs.empty()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const Tensor& x = a.inputs[i].tensor;
    const Tensor& y = b.inputs[i].tensor;
    if (a.inputs[i].name != b.inputs[i].name || x.dtype() != y.dtype() || x.rank() != y.rank() || x.rank() == 0)
      return false;
    if (!std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) return false;
  }
  return true;
}

Batcher::Batcher(std::shared_ptr<const ModelBackend> backend, BatcherOptions options)
    : backend_(std::move(backend)), options_(std::move(options)) {
  std::sort(options_.preferred_batch_sizes.begin(), options_.preferred_batch_sizes.end());
  if (options_.lanes) {
    // Meters first: a lane may look at this batcher as soon as it is attached.
    std::lock_guard lock(mutex_);
    for (int lane : options_.lanes->attach(this, options_.instance_count, options_.threads))
      lane_meters_[lane] = make_meter();
    return;
  }
  for (int i = 0; i < std::max(1, options_.instance_count); ++i) workers_.emplace_back([this] { worker_loop(); });
}

Batcher::~Batcher() { shutdown(); }

void Batcher::submit(InferenceRequest request, InferenceCallback done) {
  Pending p;
  p.enqueued = Clock::now();
  const auto timeout = request.timeout.value_or(options_.default_timeout);
  p.deadline = timeout.count() > 0 ? p.enqueued + timeout : Clock::time_point::max();
  if (options_.max_batch_size > 0 && !request.inputs.empty() && request.inputs[0].tensor.rank() > 0)
    p.items = request.inputs[0].tensor.dim(0);
  if (options_.max_batch_size > 0 && p.items > options_.max_batch_size) {
    done(InferenceOutcome::failure(
        ErrorKind::kBadRequest, fmt::format("model '{}': batch of {} is above its max_batch_size {}; send at most {} "
                                            "items per request", options_.model, p.items, options_.max_batch_size,
                                            options_.max_batch_size)));
    return;
  }
  p.request = std::move(request);
  p.done = std::move(done);
  if (try_run_on_caller(p)) return;
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_queue_size) {
      queue_.push_back(std::move(p));
      queued = true;
    }
  }
  if (queued) {
    changed_.notify_all();
    if (options_.lanes) options_.lanes->poke(this);
    return;
  }
  const bool stopping = [this] { std::lock_guard lock(mutex_); return stopping_; }();
  p.done(InferenceOutcome::failure(
      ErrorKind::kUnavailable,
      stopping ? fmt::format("model '{}' is shutting down; retry on another replica", options_.model)
               : fmt::format("model '{}': queue is full ({} requests waiting); retry later, or raise "
                             "max_queue_size in its config.json", options_.model, options_.max_queue_size)));
}

namespace {
std::atomic<int> caller_runs{0};  // process-wide: runs on front-end threads now
}  // namespace

bool Batcher::try_run_on_caller(Pending& p) {
  if (!options_.run_on_caller_thread || options_.lanes || (options_.dynamic_batching && options_.max_batch_size > 0))
    return false;
  std::unique_ptr<energy::Meter> meter;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !queue_.empty() || busy_ >= std::max(1, options_.instance_count)) return false;
    int expected = 0;
    if (!caller_runs.compare_exchange_strong(expected, 1)) return false;
    ++busy_;
    if (!caller_meters_.empty()) {
      meter = std::move(caller_meters_.back());
      caller_meters_.pop_back();
    }
  }
  if (!meter) meter = make_meter();
  Batch batch;
  batch.push_back(std::move(p));
  execute_safely(std::move(batch), meter.get());
  caller_runs = 0;
  {
    std::lock_guard lock(mutex_);
    --busy_;
    if (meter) caller_meters_.push_back(std::move(meter));
  }
  changed_.notify_all();  // a worker may wait for the instance, shutdown for the run
  return true;
}

std::unique_ptr<energy::Meter> Batcher::make_meter() const {
  energy::EnergyOptions eo;
  eo.threads = std::max(1, options_.threads);
  auto meter = energy::probe_meter(eo);
  if (!meter) {
    spdlog::warn("model '{}': no energy meter ({}); energy figures will be 0", options_.model, meter.status().message());
    return nullptr;
  }
  return std::move(*meter);
}

void Batcher::flush() {
  {
    std::lock_guard lock(mutex_);
    flushing_ = true;
  }
  changed_.notify_all();
  if (options_.lanes) options_.lanes->poke(this);
}

void Batcher::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (options_.lanes) {  // the lanes run what is queued, then let go of this batcher
    options_.lanes->poke(this);
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
    }
    options_.lanes->detach(this);
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return busy_ == 0; });  // a run on a caller's thread uses this batcher
}

size_t Batcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Batcher::worker_loop() {
  std::unique_ptr<energy::Meter> meter = make_meter();
  std::unique_lock lock(mutex_);
  for (;;) {
    Batch batch = next_batch(lock);
    if (batch.empty()) return;  // stopping and nothing left
    ++busy_;
    lock.unlock();
    execute_safely(std::move(batch), meter.get());
    lock.lock();
    --busy_;
  }
}

std::vector<Batcher::Pending> Batcher::take_expired(Clock::time_point now) {
  std::vector<Pending> expired;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline <= now) {
      expired.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

void Batcher::answer_expired(std::vector<Pending>& expired, Clock::time_point now) {
  for (Pending& p : expired) {
    p.done(InferenceOutcome::failure(
        ErrorKind::kTimeout, fmt::format("model '{}': request timed out after waiting {:.0f} us in the queue; raise "
                                         "its timeout or reduce load", options_.model,
                                         seconds_between(p.enqueued, now) * 1e6)));
  }
}

Batcher::Batch Batcher::take(const std::vector<size_t>& chosen) {
  Batch batch;
  for (size_t i : chosen) batch.push_back(std::move(queue_[i]));
  for (auto it = chosen.rbegin(); it != chosen.rend(); ++it) queue_.erase(queue_.begin() + *it);
  return batch;
}

// One step of a lane (compute_lanes.h): answer timed-out requests, or run
// one ready batch, or say when to look again.
bool Batcher::run_one(int lane, Clock::time_point& wake) {
  std::unique_lock lock(mutex_);
  const auto now = Clock::now();
  if (std::vector<Pending> expired = take_expired(now); !expired.empty()) {
    lock.unlock();
    answer_expired(expired, now);
    changed_.notify_all();  // shutdown waits for an empty queue
    return true;
  }
  if (queue_.empty()) return false;
  std::vector<size_t> chosen = choose_batch(now);
  if (chosen.empty()) {
    wake = wake_time();
    return false;
  }
  Batch batch = take(chosen);
  ++busy_;
  energy::Meter* meter = lane_meters_[lane].get();
  lock.unlock();
  execute_safely(std::move(batch), meter);
  lock.lock();
  --busy_;
  lock.unlock();
  changed_.notify_all();
  return true;
}

Batcher::Batch Batcher::next_batch(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    const auto now = Clock::now();
    if (std::vector<Pending> expired = take_expired(now); !expired.empty()) {
      lock.unlock();
      answer_expired(expired, now);
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      if (stopping_) return {};
      changed_.wait(lock);
      continue;
    }
    if (busy_ >= std::max(1, options_.instance_count)) {  // a caller's thread runs on the last free instance
      changed_.wait(lock);
      continue;
    }
    std::vector<size_t> chosen = choose_batch(now);
    if (chosen.empty()) {
      changed_.wait_until(lock, wake_time());
      continue;
    }
    return take(chosen);
  }
}

std::vector<size_t> Batcher::choose_batch(Clock::time_point now) const {
  if (!options_.dynamic_batching || options_.max_batch_size == 0) return {0};
  // Compatible requests in arrival order, while they fit.
  std::vector<size_t> chosen;
  std::vector<int64_t> sizes;  // batch size after each chosen request
  int64_t total = 0;
  for (size_t i = 0; i < queue_.size() && total < options_.max_batch_size; ++i) {
    if (i > 0 && !batchable_together(queue_[0].request, queue_[i].request)) continue;
    if (total + queue_[i].items > options_.max_batch_size) continue;
    total += queue_[i].items;
    chosen.push_back(i);
    sizes.push_back(total);
  }
  const auto& preferred = options_.preferred_batch_sizes;
  const bool full = total == options_.max_batch_size;
  const bool past_largest_preferred = !preferred.empty() && total >= preferred.back();
  const bool waited_enough = now >= queue_[0].enqueued + options_.max_queue_delay;
  if (full) return chosen;
  if (!past_largest_preferred && !waited_enough && !stopping_ && !flushing_) return {};
  // Run the largest preferred size we can make, else all we have.
  for (size_t k = sizes.size(); k-- > 0;) {
    if (std::binary_search(preferred.begin(), preferred.end(), static_cast<int>(sizes[k]))) {
      chosen.resize(k + 1);
      break;
    }
  }
  return chosen;
}

Batcher::Clock::time_point Batcher::wake_time() const {
  Clock::time_point wake = queue_.front().enqueued + options_.max_queue_delay;
  for (const Pending& p : queue_) wake = std::min(wake, p.deadline);
  return wake;
}

// An exception (out of memory) must not end the worker thread: the batch's
// requests get an error and the worker goes on.
void Batcher::execute_safely(Batch batch, energy::Meter* meter) {
  std::vector<InferenceCallback> callbacks;
  for (Pending& p : batch) callbacks.push_back(p.done);
  bool answering_started = false;
  try {
    execute(std::move(batch), meter, answering_started);
  } catch (const std::exception& e) {
    spdlog::error("model '{}': batch failed: {}", options_.model, e.what());
    if (answering_started) return;  // some requests were answered; answering again would break "exactly once"
    for (auto& done : callbacks) {
      done(InferenceOutcome::failure(ErrorKind::kInternal, fmt::format("model '{}': {}", options_.model, e.what())));
    }
  }
}

void Batcher::answer_all(Batch& batch, ErrorKind kind, const std::string& message) {
  for (Pending& p : batch) p.done(InferenceOutcome::failure(kind, message));
}

void Batcher::execute(Batch batch, energy::Meter* meter, bool& answering_started) {
  const auto start = Clock::now();
  int64_t total = 0;
  std::vector<const InferenceRequest*> requests;
  for (const Pending& p : batch) {
    total += p.items;
    requests.push_back(&p.request);
  }
  ModelValues inputs;
  if (batch.size() == 1) {
    inputs.tensors = batch[0].request.inputs;  // handles: no copy
    inputs.bytes = batch[0].request.bytes_inputs;
    // Outputs asked for in shared memory are written there by the model
    // itself, which saves copying them (1 MB for rec) after the run.
    for (const RequestedOutput& o : batch[0].request.outputs)
      if (o.shared_memory) inputs.output_memory.push_back({o.name, o.shared_memory->data(), o.shared_memory->size});
  } else {
    for (size_t k = 0; k < requests[0]->inputs.size(); ++k)
      inputs.tensors.push_back({requests[0]->inputs[k].name, concatenate_input(requests, k, total)});
  }
  if (meter && !meter->start().is_ok()) meter = nullptr;
  auto outputs = backend_->run(inputs);
  ExecutionStats exec;
  if (meter) {
    if (auto reading = meter->stop()) exec.energy = *reading;
  }
  exec.compute_seconds = seconds_between(start, Clock::now());
  exec.batch_size = total;
  exec.requests = static_cast<int>(batch.size());
  if (!outputs) {
    const auto& s = outputs.status();
    answering_started = true;
    answer_all(batch, s.code() == StatusCode::kInvalidArgument ? ErrorKind::kBadRequest : ErrorKind::kInternal,
               fmt::format("model '{}': {}", options_.model, s.message()));
    return;
  }
  if (batch.size() > 1) {
    if (!outputs->bytes.empty()) {  // never merged: batchable_together refuses BYTES inputs
      answering_started = true;
      answer_all(batch, ErrorKind::kInternal,
                 fmt::format("model '{}': BYTES outputs cannot be split per request; set max_batch_size 0 in its "
                             "config.json", options_.model));
      return;
    }
    for (const NamedTensor& out : outputs->tensors) {
      if (out.tensor.rank() == 0 || out.tensor.dim(0) != total) {
        answering_started = true;
        answer_all(batch, ErrorKind::kInternal,
                   fmt::format("model '{}': output '{}' has shape {}, not a batch of {} along dimension 0, so it "
                               "cannot be split per request; set max_batch_size 0 in its config.json",
                               options_.model, out.name, shape_to_string(out.tensor.shape()), total));
        return;
      }
    }
  }
  if (options_.on_execution) options_.on_execution(exec);  // before the answers, so metrics include them
  std::vector<InferenceOutcome> outcomes;  // built first: anything that throws does so before any answer
  int64_t row = 0;
  for (Pending& p : batch) {
    InferenceOutcome o;
    o.response.id = p.request.id;
    o.response.model = p.request.model;
    o.response.version = p.request.version;
    for (const NamedTensor& out : outputs->tensors)
      o.response.outputs.push_back({out.name, batch.size() == 1 ? out.tensor : slice_rows(out.tensor, row, p.items)});
    if (batch.size() == 1) o.response.bytes_outputs = outputs->bytes;
    row += p.items;
    InferenceStats& s = o.response.stats;
    s.queue_seconds = seconds_between(p.enqueued, start);
    s.compute_seconds = exec.compute_seconds;
    s.batch_size = total;
    s.energy_joules = total > 0 ? exec.energy.joules * static_cast<double>(p.items) / static_cast<double>(total) : 0;
    s.energy_method = exec.energy.method;
    outcomes.push_back(std::move(o));
  }
  answering_started = true;
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
}

}  // namespace ecoinfer::serve
