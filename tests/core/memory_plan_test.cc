// The memory planner: values alive at the same time never share bytes,
// values that are not share them, aliases extend their root's lifetime.
#include <gtest/gtest.h>

#include "model_builder.h"
#include "onnx/model_loader.h"
#include "runtime/memory_plan.h"
#include "test_util.h"

namespace ecoinfer {
namespace {

// a -> Relu -> b -> Relu -> c -> Relu -> d, and e = Add(b, d): b lives long.
ir::Graph chain_graph() {
  testing::ModelBuilder m(13);
  m.input("a", onnx::TensorProto::FLOAT, {4});
  m.node("Relu", {"a"}, {"b"});
  m.node("Relu", {"b"}, {"c"});
  m.node("Relu", {"c"}, {"d"});
  m.node("Add", {"b", "d"}, {"e"});
  m.output("e", onnx::TensorProto::FLOAT, {4});
  const auto dir = testing::temp_dir("memory_plan");
  m.save(dir / "m.onnx");
  return *onnx_import::load_model(dir / "m.onnx");
}

bool overlap(const runtime::MemoryPlan& p, ir::ValueId x, ir::ValueId y) {
  const auto ox = p.offsets[static_cast<size_t>(x)], oy = p.offsets[static_cast<size_t>(y)];
  return ox < oy + static_cast<int64_t>(p.sizes[static_cast<size_t>(y)]) &&
         oy < ox + static_cast<int64_t>(p.sizes[static_cast<size_t>(x)]);
}

TEST(MemoryPlan, LiveValuesNeverOverlapAndDeadOnesAreReused) {
  ir::Graph g = chain_graph();
  std::vector<runtime::ValueUse> uses(g.values.size());
  for (const char* name : {"b", "c", "d", "e"}) uses[static_cast<size_t>(g.find_value(name))].bytes = 1000;
  const runtime::MemoryPlan p = runtime::plan_memory(g, uses);
  const auto b = g.find_value("b"), c = g.find_value("c"), d = g.find_value("d"), e = g.find_value("e");
  EXPECT_FALSE(overlap(p, b, c));
  EXPECT_FALSE(overlap(p, b, d));  // b is read again by the Add
  EXPECT_FALSE(overlap(p, c, d));  // d is written while c is read
  EXPECT_FALSE(overlap(p, b, e));
  EXPECT_FALSE(overlap(p, d, e));
  EXPECT_TRUE(overlap(p, c, e));  // c is dead before e is born: same bytes
  EXPECT_EQ(p.offsets[static_cast<size_t>(g.find_value("a"))], -1);  // graph inputs are never planned
  EXPECT_EQ(p.arena_bytes, 3 * 1024u);  // three 1000-byte values alive at once, 64-byte aligned
}

TEST(MemoryPlan, AnAliasKeepsItsRootAlive) {
  ir::Graph g = chain_graph();
  std::vector<runtime::ValueUse> uses(g.values.size());
  for (const char* name : {"b", "c", "d", "e"}) uses[static_cast<size_t>(g.find_value(name))].bytes = 1000;
  // Pretend c shares b's buffer (as a Reshape would): c gets no region, and
  // b must stay alive until c's last reader.
  uses[static_cast<size_t>(g.find_value("c"))].alias_of = g.find_value("b");
  const runtime::MemoryPlan p = runtime::plan_memory(g, uses);
  EXPECT_EQ(p.offsets[static_cast<size_t>(g.find_value("c"))], -1);
  EXPECT_TRUE(p.is_alias[static_cast<size_t>(g.find_value("c"))]);
  EXPECT_FALSE(overlap(p, g.find_value("b"), g.find_value("d")));
}

}  // namespace
}  // namespace ecoinfer
