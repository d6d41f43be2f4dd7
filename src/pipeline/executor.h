// Runs a pipeline over a stream of items on a bounded pool of worker
// threads. Items are grouped in micro-batches (RunOptions::batch_size); a
// task is one stage over one micro-batch, so a model stage sees batches.
// A task becomes ready when the stages it reads from are done for its
// micro-batch; independent stages and different micro-batches run at the
// same time, at most `workers` tasks at once, and at most workers + 1
// micro-batches are in flight, which bounds memory on long streams.
// A failing item (a stage returned an error for it) skips its later stages
// and comes back with that error; the other items complete.
//
//   RunOptions options{.workers = 2, .batch_size = 8, .cache = cache.get()};
//   RunResult r = run_pipeline(pipeline, items, options);
//   for (auto& item : r.items) if (!item) std::cerr << item.status().message();
//   std::cout << r.profile.stages[0].wall_seconds;
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline.h"
#include "pipeline/stage_cache.h"

namespace ecoinfer::pipeline {

struct RunOptions {
  int workers = 1;           // threads running stage tasks
  size_t batch_size = 8;     // items per micro-batch
  StageCache* cache = nullptr;   // null: no caching, no lineage
  std::vector<std::string> item_names = {};  // for the lineage manifest (default: the item's index)
};

// Figures per stage, summed over all its tasks. Wall and CPU time are the
// task's own, including its cache look-ups; CPU time is the worker thread's
// (CLOCK_THREAD_CPUTIME_ID), so work a stage hands to other threads (a
// model's intra-op threads) is not in it: give models one thread each.
struct StageProfile {
  std::string name;
  bool is_model = false;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double wait_seconds = 0;    // ready but waiting for a worker
  uint64_t bytes_in = 0;      // payload bytes of the inputs it read
  uint64_t bytes_out = 0;     // payload bytes of the outputs it produced
  size_t items = 0;           // items it handled (computed or from the cache)
  size_t executed_items = 0;  // items it actually computed
  size_t cache_hits = 0;
  size_t failures = 0;
  size_t calls = 0;           // calls of the stage function (batches it saw)
};

struct RunProfile {
  std::vector<StageProfile> stages;  // pipeline order
  double wall_seconds = 0;           // the whole run
  double idle_seconds = 0;           // time no task was running (scheduling, hand-offs)
  // The longest chain of dependent tasks (stage wall times along the DAG
  // within one micro-batch): no number of workers finishes the run sooner.
  double span_seconds = 0;
  int workers = 1;
  size_t batch_size = 1;
  size_t items = 0;
  size_t micro_batches = 0;
  double busy_seconds() const;       // sum of stage wall times
};

struct RunResult {
  std::vector<Expected<Values>> items;  // per item: the pipeline outputs, or its error
  RunProfile profile;
  // With a cache: {"items": [{"item", "stages": [{"stage", "key", "cached", "inputs": {name: hash},
  //                "outputs": {name: hash}, "model_hash"?}]}]}
  nlohmann::json lineage;
};

RunResult run_pipeline(const Pipeline& pipeline, const std::vector<Values>& items, const RunOptions& options);

}  // namespace ecoinfer::pipeline
