// The Session behind the public API: a loaded graph, one kernel per node,
// and a pool of run contexts (working memory) so concurrent run() calls do
// not share buffers and repeated runs of one shape reuse them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ecoinfer/session.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "runtime/memory_plan.h"

namespace ecoinfer::runtime {

// Working memory of one run: a tensor slot per graph value, and the memory
// plans learned for the input shapes seen so far, sharing one arena (a
// context runs one call at a time).
struct RunContext {
  std::vector<Tensor> values;
  std::vector<std::vector<Tensor>> unused_outputs;  // per node, for outputs the graph drops
  std::vector<ir::ValueId> aliased;                 // slots that share another slot's buffer
  std::map<std::vector<Shape>, MemoryPlan> plans;   // by input shapes (+ types)
  Tensor arena;
  // Per-node argument lists, reused so a steady-state run allocates nothing.
  std::vector<const Tensor*> node_inputs;
  std::vector<Tensor*> node_outputs;
  std::vector<bool> node_may_alias;
};

class SessionImpl final : public Session {
 public:
  static Expected<std::unique_ptr<Session>> create(ir::Graph graph, const SessionOptions& options);

  const std::vector<ValueDescription>& inputs() const override { return inputs_; }
  const std::vector<ValueDescription>& outputs() const override { return outputs_; }
  const ModelSummary& summary() const override { return summary_; }
  const SessionOptions& options() const override { return options_; }
  Expected<std::vector<NamedTensor>> run(const std::vector<NamedTensor>& inputs,
                                         std::vector<NodeTrace>* trace) const override;
  Expected<std::vector<NamedTensor>> run_into(const std::vector<NamedTensor>& inputs,
                                              const std::vector<OutputBinding>& outputs) const override;

 private:
  SessionImpl(ir::Graph graph, const SessionOptions& options);
  Status create_kernels();
  void summarize();
  void release_owned_constants();
  const Shape& shape_of(ir::ValueId v, const RunContext& ctx) const;
  Expected<std::vector<NamedTensor>> run_bound(const std::vector<NamedTensor>& inputs, std::vector<NodeTrace>* trace,
                                               const std::vector<const OutputBinding*>& bound) const;
  Status bind_inputs(const std::vector<NamedTensor>& given, RunContext& ctx) const;
  Expected<std::vector<const OutputBinding*>> match_outputs(const std::vector<OutputBinding>& outputs) const;
  Status execute_node(size_t index, RunContext& ctx, const MemoryPlan* plan, std::vector<ValueUse>* record,
                      std::vector<NodeTrace>* trace) const;
  std::vector<Shape> plan_key(const RunContext& ctx) const;
  void bind_plan(const MemoryPlan& plan, RunContext& ctx) const;
  void learn_plan(std::vector<Shape> key, std::vector<ValueUse> uses, RunContext& ctx) const;
  std::unique_ptr<RunContext> acquire_context() const;
  void release_context(std::unique_ptr<RunContext> ctx) const;

  ir::Graph graph_;
  SessionOptions options_;
  int threads_ = 1;
  std::vector<std::unique_ptr<kernels::Kernel>> kernels_;
  std::vector<ValueDescription> inputs_;
  std::vector<ValueDescription> outputs_;
  ModelSummary summary_;
  std::vector<int> last_reader_;  // per value: the last node that reads it (-1: none)
  // Constants whose plain tensor was dropped (their kernels hold them
  // packed): their shapes, for traces and FLOP counts.
  std::unordered_map<ir::ValueId, Shape> released_shapes_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<RunContext>> idle_contexts_;
};

}  // namespace ecoinfer::runtime
