#include "serve/compute_lanes.h"

#include <sched.h>

#include <algorithm>

namespace ecoinfer::serve {
namespace {

// The CPUs this process may run on, as libgomp counts them when it decides
// to throttle (its affinity mask, so `taskset` and container limits count).
int usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

ComputeLanes::ComputeLanes(int cpus) : cpus_(cpus > 0 ? cpus : usable_cpus()) {}

ComputeLanes::~ComputeLanes() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& lane : lanes_) lane->work.notify_all();
  }
  for (auto& lane : lanes_) lane->thread.join();
}

int ComputeLanes::start_lane(int team) {
  auto lane = std::make_unique<Lane>();
  lane->team = team;
  const int index = static_cast<int>(lanes_.size());
  Lane* raw = lane.get();
  lanes_.push_back(std::move(lane));
  raw->thread = std::thread([this, raw, index] { lane_loop(raw, index); });
  return index;
}

std::vector<int> ComputeLanes::attach(Source* source, int instances, int threads) {
  std::lock_guard lock(mutex_);
  std::vector<int> got;
  for (int i = 0; i < std::max(1, instances); ++i) {
    int cpus_in_teams = 0;
    for (const auto& lane : lanes_) cpus_in_teams += lane->team;
    const bool every_lane_taken = got.size() >= lanes_.size();  // instances need distinct lanes
    int pick = -1;
    if (every_lane_taken || cpus_in_teams + threads <= cpus_) {
      pick = start_lane(threads);
    } else {
      for (int k = 0; k < static_cast<int>(lanes_.size()); ++k) {
        if (std::find(got.begin(), got.end(), k) != got.end()) continue;
        if (pick < 0 || lanes_[k]->sources.size() < lanes_[pick]->sources.size()) pick = k;
      }
    }
    Lane& lane = *lanes_[pick];
    lane.sources.push_back(source);
    lane.team = std::max(lane.team, threads);
    got.push_back(pick);
  }
  return got;
}

void ComputeLanes::detach(Source* source) {
  std::unique_lock lock(mutex_);
  for (auto& lane : lanes_) std::erase(lane->sources, source);
  idle_.wait(lock, [&] {
    return std::none_of(lanes_.begin(), lanes_.end(), [&](const auto& lane) { return lane->running == source; });
  });
}

void ComputeLanes::poke(const Source* source) {
  std::lock_guard lock(mutex_);
  for (auto& lane : lanes_) {
    if (std::find(lane->sources.begin(), lane->sources.end(), source) == lane->sources.end()) continue;
    ++lane->pokes;
    lane->work.notify_all();
  }
}

int ComputeLanes::lane_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(lanes_.size());
}

// Looks at the lane's sources round robin, starting after the one that ran
// last, runs the first ready batch, and sleeps when none is ready until a
// poke or the earliest time a source named.
void ComputeLanes::lane_loop(Lane* lane, int index) {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const uint64_t seen = lane->pokes;
    Clock::time_point wake = Clock::time_point::max();
    bool ran = false;
    for (size_t looked = 0; !ran && looked < lane->sources.size(); ++looked) {
      const size_t at = (lane->next + looked) % lane->sources.size();
      Source* source = lane->sources[at];
      lane->running = source;
      lock.unlock();
      Clock::time_point source_wake = Clock::time_point::max();
      ran = source->run_one(index, source_wake);
      lock.lock();
      lane->running = nullptr;
      idle_.notify_all();
      if (ran) lane->next = at + 1;  // sources may have changed meanwhile: the modulo above copes
      wake = std::min(wake, source_wake);
    }
    if (ran || lane->pokes != seen || stopping_) continue;
    if (wake == Clock::time_point::max()) {
      lane->work.wait(lock);
    } else {
      lane->work.wait_until(lock, wake);
    }
  }
}

}  // namespace ecoinfer::serve
