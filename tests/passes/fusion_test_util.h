// Shared by the post-op fusion and conv layout pass tests: a model built
// with ModelBuilder, run as written and after the given passes, both with
// the rest of the pipeline off (optimize=false), so the comparison checks
// these passes and the kernels' handling of what they write.
//
//   FusionRun r = run_fused(b, "name", {&passes::fuse_conv_activation_pass}, {{"x", x}});
//   expect_same(r);
//   EXPECT_EQ(post_ops_of(r.graph, "Conv"), (std::vector<std::string>{"eltwise:relu:0:0"}));
#pragma once

#include <string>
#include <vector>

#include "pass_test_util.h"
#include "passes/pass.h"
#include "passes/post_ops.h"

namespace ecoinfer::testing {

struct FusionRun {
  int rewrites = 0;
  ir::Graph graph;  // after the passes
  std::vector<NamedTensor> reference, outputs;
};

inline std::vector<NamedTensor> run_unoptimized(ir::Graph graph, const std::vector<NamedTensor>& inputs) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = false;
  auto session = runtime::SessionImpl::create(std::move(graph), options);
  EXPECT_TRUE(session.has_value()) << session.status().message();
  if (!session) return {};
  auto out = (*session)->run(inputs, nullptr);
  EXPECT_TRUE(out.has_value()) << out.status().message();
  return out ? std::move(*out) : std::vector<NamedTensor>{};
}

inline FusionRun run_fused(const ModelBuilder& b, const std::string& name, const std::vector<PassFunction>& passes,
                           const std::vector<NamedTensor>& inputs) {
  const auto path = temp_dir(name) / "m.onnx";
  b.save(path);
  FusionRun r;
  auto plain = onnx_import::load_model(path);
  auto graph = onnx_import::load_model(path);
  EXPECT_TRUE(plain.has_value() && graph.has_value()) << plain.status().message();
  if (!plain || !graph) return r;
  for (PassFunction pass : passes) {
    auto n = pass(*graph);
    EXPECT_TRUE(n.has_value()) << n.status().message();
    if (n) r.rewrites += *n;
  }
  r.graph = *graph;
  r.reference = run_unoptimized(std::move(*plain), inputs);
  r.outputs = run_unoptimized(std::move(*graph), inputs);
  return r;
}

inline void expect_same(const FusionRun& r, double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_EQ(r.outputs.size(), r.reference.size());
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    EXPECT_EQ(r.outputs[i].name, r.reference[i].name);
    EXPECT_TRUE(tensors_close(r.outputs[i].tensor, r.reference[i].tensor, rtol, atol)) << r.outputs[i].name;
  }
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
