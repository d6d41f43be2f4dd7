// A pipeline: a DAG of stages joined by named values. Every stage declares
// typed input and output ports; an input port reads the value of the same
// name, produced by exactly one earlier stage or given as a pipeline input.
// Pipeline::create checks the graph (a missing producer, two producers, a
// type mismatch, a cycle) and orders it; the executor (executor.h) runs it.
//
//   std::vector<Stage> stages;
//   stages.push_back(function_stage("double", {{"x", ValueType::kTensor}}, {{"y", ValueType::kTensor}},
//       [](const Values& in) -> Expected<Values> { ... return Values{{"y", y}}; }));
//   auto p = Pipeline::create({{"x", ValueType::kTensor}}, std::move(stages), {"y"});
//   if (!p) std::cerr << p.status().message();   // e.g. "stage 'double' reads 'z', which nothing produces"
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ecoinfer/status.h"
#include "pipeline/value.h"

namespace ecoinfer::pipeline {

struct Port {
  std::string name;
  ValueType type;
};

// One result per item of the batch, in order: a failing item fails alone.
using BatchResults = std::vector<Expected<Values>>;
using BatchFunction = std::function<BatchResults(const std::vector<const Values*>& batch)>;
using ItemFunction = std::function<Expected<Values>(const Values& inputs)>;

struct Stage {
  std::string name;
  std::vector<Port> inputs;
  std::vector<Port> outputs;
  BatchFunction run;        // gets up to the executor's batch size of items
  // Part of the cache key: change either and cached results are not reused.
  std::string version = "1";
  std::string parameters;   // canonical text of the settings that change the output
  bool is_model = false;    // a model stage (reported as such)
  bool cacheable = true;    // false for stages that read the outside world (files)
  std::string model_hash;   // XXH3 of the model file, for the lineage manifest
};

// A stage from a per-item function; the executor still hands it batches.
Stage function_stage(std::string name, std::vector<Port> inputs, std::vector<Port> outputs, ItemFunction fn);

class Pipeline {
 public:
  // `outputs`: the values each item's result keeps (the others are dropped
  // once the item is done).
  static Expected<Pipeline> create(std::vector<Port> inputs, std::vector<Stage> stages,
                                   std::vector<std::string> outputs);

  const std::vector<Port>& inputs() const { return inputs_; }
  const std::vector<Stage>& stages() const { return stages_; }  // in a topological order
  const std::vector<std::string>& outputs() const { return outputs_; }
  // Indices (into stages()) of the stages whose outputs stage `s` reads.
  const std::vector<size_t>& dependencies(size_t s) const { return deps_[s]; }
  // Stage by name, or nullptr.
  const Stage* find(const std::string& name) const;

 private:
  std::vector<Port> inputs_;
  std::vector<Stage> stages_;
  std::vector<std::string> outputs_;
  std::vector<std::vector<size_t>> deps_;
};

}  // namespace ecoinfer::pipeline
