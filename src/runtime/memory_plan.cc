#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace ecoinfer::runtime {
namespace {

constexpr size_t kAlignment = 64;

size_t align_up(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Follows alias links to the value that owns the storage.
ir::ValueId storage_root(const std::vector<ValueUse>& uses, ir::ValueId v) {
  for (int guard = 0; uses[static_cast<size_t>(v)].alias_of != ir::kNoValue && guard < 1 << 20; ++guard)
    v = uses[static_cast<size_t>(v)].alias_of;
  return v;
}

void fill_lifetimes(const ir::Graph& g, std::vector<ValueUse>& uses) {
  const int end = static_cast<int>(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ir::ValueId v : g.nodes[i].outputs)
      if (v != ir::kNoValue) uses[static_cast<size_t>(v)].first = static_cast<int>(i), uses[static_cast<size_t>(v)].last = static_cast<int>(i);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ir::ValueId v : g.nodes[i].inputs)
      if (v != ir::kNoValue) uses[static_cast<size_t>(v)].last = std::max(uses[static_cast<size_t>(v)].last, static_cast<int>(i));
  for (ir::ValueId v : g.outputs) uses[static_cast<size_t>(v)].last = end;
  // An alias keeps its root's storage alive for as long as it is read.
  for (size_t v = 0; v < uses.size(); ++v) {
    if (uses[v].alias_of == ir::kNoValue) continue;
    ValueUse& root = uses[static_cast<size_t>(storage_root(uses, static_cast<ir::ValueId>(v)))];
    root.last = std::max(root.last, uses[v].last);
  }
}

}  // namespace

MemoryPlan plan_memory(const ir::Graph& g, std::vector<ValueUse> uses) {
  fill_lifetimes(g, uses);
  MemoryPlan plan;
  const size_t n = uses.size();
  plan.offsets.assign(n, -1);
  plan.sizes.assign(n, 0);
  plan.is_alias.assign(n, false);
  std::vector<size_t> order;
  for (size_t v = 0; v < n; ++v) {
    plan.is_alias[v] = uses[v].alias_of != ir::kNoValue;
    if (!plan.is_alias[v] && uses[v].bytes > 0 && uses[v].first >= 0) {
      plan.sizes[v] = align_up(uses[v].bytes);
      order.push_back(v);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return plan.sizes[a] > plan.sizes[b]; });

  struct Placed { size_t offset, size; int first, last; };
  std::vector<Placed> placed;
  for (size_t v : order) {
    // Regions of values alive at the same time, by offset; take the first gap.
    std::vector<Placed> conflicts;
    for (const Placed& p : placed)
      if (p.first <= uses[v].last && uses[v].first <= p.last) conflicts.push_back(p);
    std::sort(conflicts.begin(), conflicts.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    size_t offset = 0;
    for (const Placed& c : conflicts) {
      if (offset + plan.sizes[v] <= c.offset) break;
      offset = std::max(offset, c.offset + c.size);
    }
    plan.offsets[v] = static_cast<int64_t>(offset);
    placed.push_back({offset, plan.sizes[v], uses[v].first, uses[v].last});
    plan.arena_bytes = std::max(plan.arena_bytes, offset + plan.sizes[v]);
  }
  return plan;
}

}  // namespace ecoinfer::runtime
