#include "pipeline/executor.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace ecoinfer::pipeline {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct ItemState {
  std::vector<std::optional<Value>> slots;  // by value id
  std::vector<std::string> hashes;          // by value id, when caching
  Status status;                            // the first failure
  nlohmann::json lineage = nlohmann::json::array();
};

struct Task {
  size_t batch = 0;
  size_t stage = 0;
  Clock::time_point ready;
};

// What a task computed, applied to the shared state under the lock.
struct TaskOutcome {
  std::vector<size_t> items;
  std::vector<Status> errors;
  std::vector<nlohmann::json> lineage;
  StageProfile profile;
};

Status check_outputs(const Stage& stage, const Values& outputs) {
  for (const Port& p : stage.outputs) {
    auto it = outputs.find(p.name);
    if (it == outputs.end())
      return internal_error("stage '" + stage.name + "' did not produce its output '" + p.name + "'");
    if (value_type(it->second) != p.type)
      return internal_error("stage '" + stage.name + "' produced '" + p.name + "' as " +
                            value_type_name(value_type(it->second)) + ", declared " + value_type_name(p.type));
  }
  return Status::ok();
}

class Executor {
 public:
  Executor(const Pipeline& p, const std::vector<Values>& items, const RunOptions& o);
  RunResult run();

 private:
  void worker();
  TaskOutcome run_task(const Task& t, const std::vector<size_t>& alive);
  BatchResults call_stage(const Stage& stage, const std::vector<const Values*>& batch);
  void commit(const Task& t, TaskOutcome& outcome);
  void admit_batches();
  void finish_batch(size_t b);
  size_t batch_begin(size_t b) const { return b * options_.batch_size; }
  size_t batch_end(size_t b) const { return std::min(items_.size(), (b + 1) * options_.batch_size); }

  const Pipeline& p_;
  const std::vector<Values>& items_;
  RunOptions options_;
  size_t batches_ = 0;
  std::map<std::string, size_t> ids_;
  std::vector<std::vector<size_t>> in_ids_, out_ids_, users_;
  std::vector<ItemState> states_;
  RunResult result_;

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Task> ready_;
  std::vector<std::vector<size_t>> pending_;  // [batch][stage]: unfinished dependencies
  std::vector<size_t> remaining_;            // [batch]: unfinished tasks
  std::vector<std::vector<double>> span_;    // [batch][stage]: longest chain of task times ending there
  size_t next_batch_ = 0, in_flight_ = 0, done_batches_ = 0;
  int active_ = 0;
  Clock::time_point idle_since_;
};

Executor::Executor(const Pipeline& p, const std::vector<Values>& items, const RunOptions& o)
    : p_(p), items_(items), options_(o) {
  options_.workers = std::max(1, options_.workers);
  options_.batch_size = std::max<size_t>(1, options_.batch_size);
  batches_ = (items.size() + options_.batch_size - 1) / options_.batch_size;
  for (const Port& port : p.inputs()) ids_.emplace(port.name, ids_.size());
  const auto& stages = p.stages();
  in_ids_.resize(stages.size());
  out_ids_.resize(stages.size());
  users_.resize(stages.size());
  for (size_t s = 0; s < stages.size(); ++s) {
    for (const Port& port : stages[s].outputs) out_ids_[s].push_back(ids_.emplace(port.name, ids_.size()).first->second);
    for (size_t d : p.dependencies(s)) users_[d].push_back(s);
  }
  for (size_t s = 0; s < stages.size(); ++s)
    for (const Port& port : stages[s].inputs) in_ids_[s].push_back(ids_.at(port.name));
  pending_.resize(batches_);
  for (auto& row : pending_)
    for (size_t s = 0; s < stages.size(); ++s) row.push_back(p.dependencies(s).size());
  remaining_.assign(batches_, stages.size());
  span_.assign(batches_, std::vector<double>(stages.size(), 0.0));
  states_.resize(items.size());
  result_.items.resize(items.size(), internal_error("item not run"));
  for (const Stage& s : stages) result_.profile.stages.push_back({.name = s.name, .is_model = s.is_model});
}

RunResult Executor::run() {
  const auto start = Clock::now();
  // Pipeline inputs: checked and hashed up front, so a bad item fails alone.
  for (size_t i = 0; i < items_.size(); ++i) {
    ItemState& st = states_[i];
    st.slots.resize(ids_.size());
    st.hashes.resize(ids_.size());
    for (const Port& port : p_.inputs()) {
      auto it = items_[i].find(port.name);
      if (it == items_[i].end()) {
        st.status = invalid_argument("item " + std::to_string(i) + " lacks the pipeline input '" + port.name + "'");
      } else if (value_type(it->second) != port.type) {
        st.status = invalid_argument("item " + std::to_string(i) + ": pipeline input '" + port.name + "' must be " +
                                     value_type_name(port.type));
      } else {
        st.slots[ids_[port.name]] = it->second;
        if (options_.cache) st.hashes[ids_[port.name]] = value_hash(it->second);
      }
    }
  }
  {
    std::lock_guard lock(m_);
    idle_since_ = Clock::now();
    admit_batches();
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < options_.workers; ++w) threads.emplace_back([this] { worker(); });
  for (auto& t : threads) t.join();

  RunProfile& prof = result_.profile;
  prof.wall_seconds = seconds_between(start, Clock::now());
  prof.idle_seconds += seconds_between(idle_since_, Clock::now());
  prof.workers = options_.workers;
  prof.batch_size = options_.batch_size;
  prof.items = items_.size();
  prof.micro_batches = batches_;
  if (options_.cache) {
    result_.lineage["items"] = nlohmann::json::array();
    for (size_t i = 0; i < items_.size(); ++i)
      result_.lineage["items"].push_back(
          {{"item", i < options_.item_names.size() ? options_.item_names[i] : std::to_string(i)},
           {"ok", states_[i].status.is_ok()},
           {"stages", std::move(states_[i].lineage)}});
  }
  return std::move(result_);
}

void Executor::admit_batches() {
  while (next_batch_ < batches_ && in_flight_ < static_cast<size_t>(options_.workers) + 1) {
    const size_t b = next_batch_++;
    ++in_flight_;
    for (size_t s = 0; s < p_.stages().size(); ++s)
      if (pending_[b][s] == 0) ready_.push_back({b, s, Clock::now()});
    if (p_.stages().empty()) finish_batch(b);
  }
}

void Executor::worker() {
  std::unique_lock lock(m_);
  for (;;) {
    cv_.wait(lock, [&] { return !ready_.empty() || done_batches_ == batches_; });
    if (ready_.empty()) return;
    // Earliest micro-batch first: items stream through rather than pile up.
    auto it = std::min_element(ready_.begin(), ready_.end(), [](const Task& a, const Task& b) {
      return std::tie(a.batch, a.stage) < std::tie(b.batch, b.stage);
    });
    const Task task = *it;
    ready_.erase(it);
    std::vector<size_t> alive;
    for (size_t i = batch_begin(task.batch); i < batch_end(task.batch); ++i)
      if (states_[i].status.is_ok()) alive.push_back(i);
    if (active_++ == 0) result_.profile.idle_seconds += seconds_between(idle_since_, Clock::now());
    lock.unlock();
    TaskOutcome outcome = run_task(task, alive);
    lock.lock();
    commit(task, outcome);
    if (--active_ == 0) idle_since_ = Clock::now();
    cv_.notify_all();
  }
}

BatchResults Executor::call_stage(const Stage& stage, const std::vector<const Values*>& batch) {
  BatchResults results;
  try {
    results = stage.run(batch);
  } catch (const std::exception& e) {
    results.assign(batch.size(), internal_error("stage '" + stage.name + "' threw: " + e.what()));
  }
  if (results.size() != batch.size())
    results.assign(batch.size(), internal_error("stage '" + stage.name + "' returned " +
                                                std::to_string(results.size()) + " results for " +
                                                std::to_string(batch.size()) + " items"));
  return results;
}

TaskOutcome Executor::run_task(const Task& t, const std::vector<size_t>& alive) {
  const Stage& stage = p_.stages()[t.stage];
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  TaskOutcome out;
  out.items = alive;
  out.errors.resize(alive.size());
  out.lineage.resize(alive.size());
  StageProfile& prof = out.profile;
  prof.wait_seconds = seconds_between(t.ready, start);
  const bool caching = options_.cache && stage.cacheable;

  std::vector<Values> inputs(alive.size());
  std::vector<std::optional<Values>> outputs(alive.size());
  std::vector<std::string> keys(alive.size());
  std::vector<size_t> todo;
  for (size_t k = 0; k < alive.size(); ++k) {
    ItemState& item = states_[alive[k]];
    std::vector<std::string> hashes;
    for (size_t j = 0; j < stage.inputs.size(); ++j) {
      const Value& v = *item.slots[in_ids_[t.stage][j]];
      prof.bytes_in += payload_bytes(v);
      inputs[k].emplace(stage.inputs[j].name, v);
      hashes.push_back(item.hashes[in_ids_[t.stage][j]]);
    }
    if (caching) {
      keys[k] = StageCache::key(stage, hashes);
      outputs[k] = options_.cache->get(keys[k]);
      if (outputs[k] && !check_outputs(stage, *outputs[k]).is_ok()) outputs[k].reset();
    }
    if (outputs[k]) ++prof.cache_hits;
    else todo.push_back(k);
    if (options_.cache) {
      nlohmann::json inputs_json = nlohmann::json::object();
      for (size_t j = 0; j < stage.inputs.size(); ++j) inputs_json[stage.inputs[j].name] = hashes[j];
      out.lineage[k] = {{"stage", stage.name}, {"inputs", std::move(inputs_json)}, {"cached", bool(outputs[k])}};
      if (caching) out.lineage[k]["key"] = keys[k];
      if (!stage.model_hash.empty()) out.lineage[k]["model_hash"] = stage.model_hash;
    }
  }
  if (!todo.empty()) {
    std::vector<const Values*> batch;
    for (size_t k : todo) batch.push_back(&inputs[k]);
    BatchResults results = call_stage(stage, batch);
    ++prof.calls;
    prof.executed_items += todo.size();
    for (size_t r = 0; r < todo.size(); ++r) {
      const size_t k = todo[r];
      Status ok = results[r] ? check_outputs(stage, *results[r]) : results[r].status();
      if (!ok.is_ok()) {
        out.errors[k] = ok;
        continue;
      }
      outputs[k] = std::move(*results[r]);
      if (caching) (void)options_.cache->put(keys[k], *outputs[k]);  // a full disk only costs a re-run later
    }
  }
  for (size_t k = 0; k < alive.size(); ++k) {
    if (!outputs[k]) continue;
    ItemState& item = states_[alive[k]];
    nlohmann::json outputs_json = nlohmann::json::object();
    for (size_t j = 0; j < stage.outputs.size(); ++j) {
      Value& v = outputs[k]->at(stage.outputs[j].name);
      prof.bytes_out += payload_bytes(v);
      if (options_.cache) {
        item.hashes[out_ids_[t.stage][j]] = value_hash(v);
        outputs_json[stage.outputs[j].name] = item.hashes[out_ids_[t.stage][j]];
      }
      item.slots[out_ids_[t.stage][j]] = std::move(v);
    }
    if (options_.cache) out.lineage[k]["outputs"] = std::move(outputs_json);
  }
  prof.items = alive.size();
  prof.cpu_seconds = thread_cpu_seconds() - cpu_start;
  prof.wall_seconds = seconds_between(start, Clock::now());
  return out;
}

void Executor::commit(const Task& t, TaskOutcome& outcome) {
  StageProfile& prof = result_.profile.stages[t.stage];
  const StageProfile& d = outcome.profile;
  prof.wall_seconds += d.wall_seconds;
  prof.cpu_seconds += d.cpu_seconds;
  prof.wait_seconds += d.wait_seconds;
  prof.bytes_in += d.bytes_in;
  prof.bytes_out += d.bytes_out;
  prof.items += d.items;
  prof.executed_items += d.executed_items;
  prof.cache_hits += d.cache_hits;
  prof.calls += d.calls;
  for (size_t k = 0; k < outcome.items.size(); ++k) {
    ItemState& item = states_[outcome.items[k]];
    if (options_.cache) item.lineage.push_back(std::move(outcome.lineage[k]));
    if (outcome.errors[k].is_ok()) continue;
    ++prof.failures;
    if (item.status.is_ok()) item.status = outcome.errors[k];
  }
  double longest_before = 0;
  for (size_t dep : p_.dependencies(t.stage)) longest_before = std::max(longest_before, span_[t.batch][dep]);
  span_[t.batch][t.stage] = longest_before + d.wall_seconds;
  result_.profile.span_seconds = std::max(result_.profile.span_seconds, span_[t.batch][t.stage]);
  for (size_t u : users_[t.stage])
    if (--pending_[t.batch][u] == 0) ready_.push_back({t.batch, u, Clock::now()});
  if (--remaining_[t.batch] == 0) finish_batch(t.batch);
}

void Executor::finish_batch(size_t b) {
  for (size_t i = batch_begin(b); i < batch_end(b); ++i) {
    ItemState& item = states_[i];
    if (item.status.is_ok()) {
      Values out;
      for (const std::string& name : p_.outputs()) out.emplace(name, *item.slots[ids_.at(name)]);
      result_.items[i] = std::move(out);
    } else {
      result_.items[i] = item.status;
    }
    item.slots.clear();  // the micro-batch is done: free its intermediate values
  }
  --in_flight_;
  ++done_batches_;
  admit_batches();
}

}  // namespace

double RunProfile::busy_seconds() const {
  double s = 0;
  for (const StageProfile& st : stages) s += st.wall_seconds;
  return s;
}

RunResult run_pipeline(const Pipeline& pipeline, const std::vector<Values>& items, const RunOptions& options) {
  return Executor(pipeline, items, options).run();
}

}  // namespace ecoinfer::pipeline
