// Conformance: runs the ONNX backend node tests Debian ships in
// libonnx-testdata against ecoinfer.
//
// A test is "skipped as unsupported" only when its model uses an op type
// outside ecoinfer's op table (src/ir/op_table.h) or an opset outside the
// supported range. Every other test must pass (rtol 1e-3, atol 1e-5; exact for
// integers and bool) or be listed, with its reason, in
// tests/conformance/known_failures/*.txt. A listed test that now passes is
// reported too, so the list stays honest.
//
// ECOINFER_CONFORMANCE_FILTER=relu runs only tests whose name contains "relu";
// ECOINFER_CONFORMANCE_VERBOSE=1 prints every test's outcome.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "kernels/kernel.h"
#include "onnx/model_loader.h"
#include "onnx/tensor_proto.h"
#include "test_util.h"

namespace ecoinfer {
namespace {
namespace fs = std::filesystem;

const fs::path kNodeTestRoot = "/usr/share/libonnx-testdata/data/node";

enum class Outcome { kPassed, kFailed, kSkipped };
struct Result {
  Outcome outcome;
  std::string detail;
};

// Reads the model proto only to decide whether the test is in scope.
std::string unsupported_reason(const fs::path& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&in)) return "";  // let the loader report it
  for (const auto& op : m.opset_import()) {
    if ((op.domain().empty() || op.domain() == "ai.onnx") &&
        (op.version() < onnx_import::kMinOpset || op.version() > onnx_import::kMaxOpset))
      return fmt::format("opset {}", op.version());
  }
  for (const auto& n : m.graph().node()) {
    if (n.op_type() == "Constant" && n.domain().empty()) continue;
    if (kernels::find_kernel_factory(n.domain(), n.op_type()) == nullptr)
      return fmt::format("op {}{}", n.domain().empty() ? "" : n.domain() + ".", n.op_type());
  }
  return "";
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    auto index = [](const fs::path& p) { return std::stoi(p.stem().string().substr(p.stem().string().find('_') + 1)); };
    return index(a) < index(b);
  });
  return files;
}

Tensor as_bfloat16(const Tensor& bits) {
  Tensor t = Tensor::zeros(DataType::kBFloat16, bits.shape());
  std::memcpy(t.raw_data(), bits.raw_data(), bits.nbytes());
  return t;
}

Result run_data_set(const Session& session, const fs::path& set_dir) {
  std::vector<NamedTensor> inputs;
  const auto input_files = sorted_files(set_dir, "input_");
  for (size_t i = 0; i < input_files.size() && i < session.inputs().size(); ++i) {
    auto t = onnx_import::read_tensor_proto_file(input_files[i]);
    if (!t) return {Outcome::kFailed, t.status().message()};
    // ONNX 1.12's test data stores bfloat16 tensors as uint16: same bits.
    if (t->dtype() == DataType::kUInt16 && session.inputs()[i].dtype == DataType::kBFloat16) *t = as_bfloat16(*t);
    inputs.push_back({session.inputs()[i].name, *t});
  }
  auto outputs = session.run(inputs);
  if (!outputs) return {Outcome::kFailed, outputs.status().message()};
  const auto output_files = sorted_files(set_dir, "output_");
  for (size_t i = 0; i < output_files.size(); ++i) {
    auto expected = onnx_import::read_tensor_proto_file(output_files[i]);
    if (!expected) return {Outcome::kFailed, expected.status().message()};
    if (i >= outputs->size()) return {Outcome::kFailed, "fewer outputs than expected"};
    if (expected->dtype() == DataType::kUInt16 && (*outputs)[i].tensor.dtype() == DataType::kBFloat16)
      *expected = as_bfloat16(*expected);
    auto close = testing::tensors_close((*outputs)[i].tensor, *expected, 1e-3, 1e-5);
    if (!close) return {Outcome::kFailed, fmt::format("output {} ('{}'): {}", i, (*outputs)[i].name, close.message())};
  }
  return {Outcome::kPassed, ""};
}

Result run_node_test_unguarded(const fs::path& dir) {
  if (std::string why = unsupported_reason(dir / "model.onnx"); !why.empty()) return {Outcome::kSkipped, why};
  auto session = Session::load(dir / "model.onnx", {.threads = 1});
  if (!session) return {Outcome::kFailed, session.status().message()};
  for (const auto& set : sorted_files(dir, "test_data_set_")) {
    Result r = run_data_set(**session, set);
    if (r.outcome != Outcome::kPassed) return r;
  }
  return {Outcome::kPassed, ""};
}

// One bad test must fail alone, not end the whole run.
Result run_node_test(const fs::path& dir) {
  try {
    return run_node_test_unguarded(dir);
  } catch (const std::exception& e) {
    return {Outcome::kFailed, std::string("exception: ") + e.what()};
  }
}

// test name -> reason, from every known_failures/*.txt ("test_name  # reason").
std::map<std::string, std::string> load_known_failures() {
  std::map<std::string, std::string> known;
  for (const auto& e : fs::directory_iterator(testing::source_dir() / "tests/conformance/known_failures")) {
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      const auto hash = line.find('#');
      std::string name = line.substr(0, hash);
      name.erase(name.find_last_not_of(" \t") + 1);
      if (name.empty()) continue;
      known[name] = hash == std::string::npos ? "" : line.substr(hash + 1);
    }
  }
  return known;
}

TEST(Conformance, OnnxBackendNodeTests) {
  ASSERT_TRUE(fs::exists(kNodeTestRoot)) << "libonnx-testdata is not installed (scripts/setup.sh installs it)";
  const char* filter = std::getenv("ECOINFER_CONFORMANCE_FILTER");
  const bool verbose = std::getenv("ECOINFER_CONFORMANCE_VERBOSE") != nullptr;
  const auto known = load_known_failures();
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeTestRoot)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());

  int passed = 0, failed = 0, skipped = 0, known_failed = 0;
  std::vector<std::string> unexpected, stale;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    if (filter && name.find(filter) == std::string::npos) continue;
    const Result r = run_node_test(dir);
    const bool listed = known.count(name) > 0;
    if (verbose) fmt::print("{:<60} {}{}\n", name, r.outcome == Outcome::kPassed ? "pass" : r.outcome == Outcome::kSkipped ? "skip" : "FAIL", r.detail.empty() ? "" : "  " + r.detail);
    switch (r.outcome) {
      case Outcome::kPassed:
        ++passed;
        if (listed) stale.push_back(name);
        break;
      case Outcome::kSkipped: ++skipped; break;
      case Outcome::kFailed:
        ++failed;
        if (listed) ++known_failed;
        else unexpected.push_back(fmt::format("{}: {}", name, r.detail));
        break;
    }
  }
  fmt::print("ONNX node tests: {} passed, {} failed ({} listed as known with a reason), {} skipped as unsupported\n",
             passed, failed, known_failed, skipped);
  for (const auto& u : unexpected) ADD_FAILURE() << "unexpected failure: " << u;
  for (const auto& s : stale) ADD_FAILURE() << s << " passes now: remove it from tests/conformance/known_failures/";
}

}  // namespace
}  // namespace ecoinfer
