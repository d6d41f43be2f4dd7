// Shared by the pass tests: run a model as written and after one pass, and
// compare outputs and node counts.
//
//   PassRun r = run_with_and_without(path, &fold_batchnorm_pass, {{"x", x}});
//   EXPECT_EQ(r.rewrites, 1);
//   EXPECT_LT(r.nodes_after, r.nodes_before);
//   expect_same_outputs(r, 1e-4);
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecoinfer/session.h"
#include "ir/graph.h"
#include "onnx/model_loader.h"
#include "passes/graph_rewrite.h"
#include "passes/passes.h"
#include "runtime/session_impl.h"
#include "model_builder.h"
#include "test_util.h"

namespace ecoinfer::testing {

using PassFunction = Expected<int> (*)(ir::Graph&);

struct PassRun {
  int rewrites = 0;
  size_t nodes_before = 0;
  size_t nodes_after = 0;
  ir::Graph optimized;  // the graph after the pass
  std::vector<NamedTensor> reference;
  std::vector<NamedTensor> outputs;
};

// `optimize` false runs the graph exactly as given (the rest of the pipeline
// off), so a comparison checks only the passes a test applied.
inline std::vector<NamedTensor> run_graph(ir::Graph graph, const std::vector<NamedTensor>& inputs,
                                          bool optimize = true) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = optimize;
  auto session = runtime::SessionImpl::create(std::move(graph), options);
  EXPECT_TRUE(session.has_value()) << session.status().message();
  if (!session) return {};
  auto out = (*session)->run(inputs, nullptr);
  EXPECT_TRUE(out.has_value()) << out.status().message();
  return out ? std::move(*out) : std::vector<NamedTensor>{};
}

// Loads `model` twice, applies `passes` (in order) to one copy, runs both
// (with or without the rest of the optimization pipeline).
inline PassRun run_with_and_without(const std::filesystem::path& model, const std::vector<PassFunction>& passes,
                                    const std::vector<NamedTensor>& inputs, bool optimize_rest = true) {
  PassRun r;
  auto plain = onnx_import::load_model(model);
  auto graph = onnx_import::load_model(model);
  EXPECT_TRUE(plain.has_value() && graph.has_value()) << plain.status().message();
  if (!plain || !graph) return r;
  r.nodes_before = plain->nodes.size();
  for (PassFunction pass : passes) {
    auto n = pass(*graph);
    EXPECT_TRUE(n.has_value()) << n.status().message();
    if (n) r.rewrites += *n;
  }
  r.nodes_after = graph->nodes.size();
  r.optimized = *graph;
  r.reference = run_graph(std::move(*plain), inputs, optimize_rest);
  r.outputs = run_graph(std::move(*graph), inputs, optimize_rest);
  return r;
}

inline void expect_same_outputs(const PassRun& r, double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_EQ(r.outputs.size(), r.reference.size());
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    EXPECT_EQ(r.outputs[i].name, r.reference[i].name);
    EXPECT_EQ(r.outputs[i].tensor.shape(), r.reference[i].tensor.shape()) << r.outputs[i].name;
    EXPECT_TRUE(tensors_close(r.outputs[i].tensor, r.reference[i].tensor, rtol, atol)) << r.outputs[i].name;
  }
}

// An initializer of deterministic values in [lo, hi).
inline void random_initializer(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims,
                               uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = random_tensor(DataType::kFloat32, dims, seed, lo, hi);
  b.initializer(name, dims, std::vector<float>(t.data<float>(), t.data<float>() + t.numel()));
}

inline int count_op(const ir::Graph& g, const std::string& op_type) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op_type == op_type;
  return n;
}

}  // namespace ecoinfer::testing
