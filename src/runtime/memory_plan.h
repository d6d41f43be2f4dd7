// The memory plan of one input shape, after XNNPACK's planner: each value
// produced by a node lives from its producer to its last reader; values are
// placed largest first, at the lowest offset that overlaps no value whose
// lifetime intersects, in one arena. Graph inputs and constants are never
// in the arena; graph outputs live to the end of the run.
//
// The sizes come from one recorded run of that shape (shapes are resolved
// per run, so the first run of a new shape is the measurement). A node
// output that shares an input's buffer (Reshape, Squeeze...) gets no region:
// it extends the lifetime of the value it aliases instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace ecoinfer::runtime {

// What one run of a shape showed about a value.
struct ValueUse {
  size_t bytes = 0;          // 0: not produced by a node, or not planned
  int first = -1;            // index of the producing node
  int last = -1;             // index of the last node that reads it
  ir::ValueId alias_of = ir::kNoValue;  // the value whose buffer it shares
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per value; -1 when not in the arena
  std::vector<size_t> sizes;     // per value, rounded up to the alignment
  std::vector<bool> is_alias;    // per value: shares an input's buffer
  size_t arena_bytes = 0;
};

// Lifetimes from the graph's structure; `uses` must give bytes and alias_of
// for node outputs (the rest is filled here).
MemoryPlan plan_memory(const ir::Graph& graph, std::vector<ValueUse> uses);

}  // namespace ecoinfer::runtime
