#include "pipeline/pipeline.h"

#include <algorithm>
#include <map>
#include <set>

namespace ecoinfer::pipeline {
namespace {

struct Producer {
  long stage = -1;  // -1: a pipeline input
  ValueType type;
};

Status check_stage(const Stage& s, std::set<std::string>& names) {
  if (s.name.empty()) return invalid_argument("a pipeline stage has no name; give every stage a unique name");
  if (!names.insert(s.name).second)
    return invalid_argument("two pipeline stages are named '" + s.name + "'; stage names must be unique");
  if (!s.run) return invalid_argument("stage '" + s.name + "' has no function to run");
  if (s.outputs.empty()) return invalid_argument("stage '" + s.name + "' declares no outputs");
  return Status::ok();
}

// Kahn's algorithm; whatever is left over lies on a cycle.
Expected<std::vector<size_t>> topological_order(const std::vector<Stage>& stages,
                                                const std::vector<std::vector<size_t>>& deps) {
  std::vector<size_t> pending(stages.size());
  std::vector<std::vector<size_t>> users(stages.size());
  for (size_t s = 0; s < stages.size(); ++s) {
    pending[s] = deps[s].size();
    for (size_t d : deps[s]) users[d].push_back(s);
  }
  std::vector<size_t> order, ready;
  for (size_t s = 0; s < stages.size(); ++s)
    if (!pending[s]) ready.push_back(s);
  while (!ready.empty()) {
    const size_t s = ready.front();
    ready.erase(ready.begin());
    order.push_back(s);
    for (size_t u : users[s])
      if (--pending[u] == 0) ready.push_back(u);
  }
  if (order.size() == stages.size()) return order;
  std::string cycle;
  for (size_t s = 0; s < stages.size(); ++s)
    if (pending[s]) cycle += (cycle.empty() ? "'" : ", '") + stages[s].name + "'";
  return invalid_argument("pipeline has a cycle through stages " + cycle +
                          "; a stage cannot depend on its own outputs");
}

}  // namespace

Stage function_stage(std::string name, std::vector<Port> inputs, std::vector<Port> outputs, ItemFunction fn) {
  Stage s;
  s.name = std::move(name);
  s.inputs = std::move(inputs);
  s.outputs = std::move(outputs);
  s.run = [fn = std::move(fn)](const std::vector<const Values*>& batch) {
    BatchResults results;
    results.reserve(batch.size());
    for (const Values* item : batch) results.push_back(fn(*item));
    return results;
  };
  return s;
}

Expected<Pipeline> Pipeline::create(std::vector<Port> inputs, std::vector<Stage> stages,
                                    std::vector<std::string> outputs) {
  std::map<std::string, Producer> producers;
  for (const Port& p : inputs)
    if (!producers.emplace(p.name, Producer{-1, p.type}).second)
      return invalid_argument("pipeline input '" + p.name + "' is declared twice");
  std::set<std::string> names;
  for (size_t s = 0; s < stages.size(); ++s) {
    ECOINFER_RETURN_IF_ERROR(check_stage(stages[s], names));
    for (const Port& p : stages[s].outputs) {
      auto [it, fresh] = producers.emplace(p.name, Producer{static_cast<long>(s), p.type});
      if (!fresh)
        return invalid_argument("value '" + p.name + "' is produced by stage '" + stages[s].name + "' and by " +
                                (it->second.stage < 0 ? std::string("the pipeline inputs")
                                                      : "stage '" + stages[it->second.stage].name + "'") +
                                "; rename one of them");
    }
  }
  std::vector<std::vector<size_t>> deps(stages.size());
  for (size_t s = 0; s < stages.size(); ++s) {
    for (const Port& p : stages[s].inputs) {
      auto it = producers.find(p.name);
      if (it == producers.end())
        return invalid_argument("stage '" + stages[s].name + "' reads '" + p.name +
                                "', which no stage produces and no pipeline input provides");
      if (it->second.type != p.type)
        return invalid_argument("stage '" + stages[s].name + "' reads '" + p.name + "' as " +
                                value_type_name(p.type) + ", but it is a " + value_type_name(it->second.type));
      if (it->second.stage >= 0) deps[s].push_back(static_cast<size_t>(it->second.stage));
    }
    std::sort(deps[s].begin(), deps[s].end());
    deps[s].erase(std::unique(deps[s].begin(), deps[s].end()), deps[s].end());
  }
  for (const std::string& o : outputs)
    if (!producers.count(o)) return invalid_argument("pipeline output '" + o + "' is not produced by any stage");
  ECOINFER_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(stages, deps));

  // Store the stages in that order, with dependencies renumbered.
  std::vector<size_t> position(stages.size());
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  Pipeline p;
  p.inputs_ = std::move(inputs);
  p.outputs_ = std::move(outputs);
  for (size_t i = 0; i < order.size(); ++i) {
    p.stages_.push_back(std::move(stages[order[i]]));
    std::vector<size_t> d;
    for (size_t dep : deps[order[i]]) d.push_back(position[dep]);
    p.deps_.push_back(std::move(d));
  }
  return p;
}

const Stage* Pipeline::find(const std::string& name) const {
  for (const Stage& s : stages_)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace ecoinfer::pipeline
