// Shared by the post-op fusion and conv layout pass tests: a model built
// with ModelBuilder, run as written and after the given passes, both with
// the rest of the pipeline off (optimize=false), so the comparison checks
// these passes and the kernels' handling of what they write.
//
//   PassRun r = run_fused(b, "name", {&passes::fuse_conv_activation_pass}, {{"x", x}});
//   expect_same_outputs(r);
//   EXPECT_EQ(post_ops_of(r.optimized, "Conv"), (std::vector<std::string>{"eltwise:relu:0:0"}));
#pragma once

#include <string>
#include <vector>

#include "pass_test_util.h"
#include "passes/pass.h"
#include "passes/post_ops.h"

namespace ecoinfer::testing {

// The model saved in temp_dir(name), run as written and after `passes`,
// both with the rest of the pipeline off.
inline PassRun run_fused(const ModelBuilder& b, const std::string& name, const std::vector<PassFunction>& passes,
                         const std::vector<NamedTensor>& inputs) {
  const auto path = temp_dir(name) / "m.onnx";
  b.save(path);
  return run_with_and_without(path, passes, inputs, /*optimize_rest=*/false);
}

// The post-op strings of the node that writes `output`.
inline std::vector<std::string> post_ops_of(const ir::Graph& g, const std::string& output) {
  for (const ir::Node& n : g.nodes) {
    if (n.outputs.empty() || n.outputs[0] == ir::kNoValue || g.name_of(n.outputs[0]) != output) continue;
    const ir::Attribute* a = n.attribute(passes::kPostOpsAttribute);
    return a != nullptr ? a->strings : std::vector<std::string>{};
  }
  ADD_FAILURE() << "no node writes " << output;
  return {};
}

}  // namespace ecoinfer::testing
