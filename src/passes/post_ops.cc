#include "passes/post_ops.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "passes/pass.h"

namespace ecoinfer::passes {
namespace {

constexpr const char* kEltwiseAlgs[] = {"relu",      "clip",     "hardsigmoid", "hardswish", "sigmoid", "swish",
                                        "tanh",      "gelu_erf", "gelu_tanh",   "linear",    "elu"};
constexpr const char* kBinaryAlgs[] = {"add", "sub", "mul", "div", "max", "min"};

template <size_t N>
bool listed(const char* const (&names)[N], const std::string& s) {
  return std::find_if(std::begin(names), std::end(names), [&](const char* n) { return s == n; }) != std::end(names);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ':') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool read_float(const std::string& s, float& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtof(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

std::string format_post_op(const PostOp& op) {
  if (op.kind == PostOp::Kind::kBinary) return fmt::format("binary:{}:{}", op.alg, op.input);
  return fmt::format("eltwise:{}:{:.9g}:{:.9g}", op.alg, op.alpha, op.beta);
}

Expected<PostOp> parse_post_op(const std::string& text, size_t input_count) {
  const std::vector<std::string> parts = split(text);
  auto bad = [&](const std::string& why) {
    return invalid_model(fmt::format("post-op '{}' in {}: {}", text, kPostOpsAttribute, why));
  };
  if (parts[0] == "eltwise") {
    PostOp op;
    if (parts.size() != 4) return bad("expected eltwise:<alg>:<alpha>:<beta>");
    if (!listed(kEltwiseAlgs, parts[1])) return bad("unknown element-wise algorithm");
    op.alg = parts[1];
    if (!read_float(parts[2], op.alpha) || !read_float(parts[3], op.beta)) return bad("alpha and beta must be numbers");
    return op;
  }
  if (parts[0] == "binary") {
    if (parts.size() != 3) return bad("expected binary:<alg>:<input index>");
    if (!listed(kBinaryAlgs, parts[1])) return bad("unknown binary algorithm");
    char* end = nullptr;
    const long index = std::strtol(parts[2].c_str(), &end, 10);
    if (parts[2].empty() || end != parts[2].c_str() + parts[2].size() || index < 0 ||
        static_cast<size_t>(index) >= input_count) {
      return bad(fmt::format("the input index must name one of the node's {} inputs", input_count));
    }
    return PostOp::binary(parts[1], static_cast<int>(index));
  }
  return bad("expected 'eltwise:...' or 'binary:...'");
}

bool fits_onednn_chain(const std::vector<PostOp>& ops) {
  std::vector<const PostOp*> first;  // first entry of each algorithm
  for (const PostOp& op : ops) {
    if (op.kind != PostOp::Kind::kEltwise) continue;
    auto it = std::find_if(first.begin(), first.end(), [&](const PostOp* f) { return f->alg == op.alg; });
    if (it == first.end()) {
      first.push_back(&op);
      continue;
    }
    const bool same = (*it)->alpha == op.alpha && (*it)->beta == op.beta;
    const bool rewritable = op.alg == "linear" || op.alg == "clip" || op.alg == "hardsigmoid" ||
                            (op.alg == "relu" && op.alpha == 0);
    if (!same && !rewritable) return false;
  }
  return true;
}

Expected<std::vector<PostOp>> read_post_ops(const ir::Node& node) {
  std::vector<PostOp> ops;
  const ir::Attribute* a = node.attribute(kPostOpsAttribute);
  if (a == nullptr) return ops;
  if (a->kind != ir::Attribute::Kind::kStrings) {
    return invalid_model(fmt::format("{}: {} must be a list of strings", node.describe(), kPostOpsAttribute));
  }
  for (const std::string& s : a->strings) {
    Expected<PostOp> op = parse_post_op(s, node.inputs.size());
    if (!op) return op.status().with_context(node.describe());
    ops.push_back(*op);
  }
  return ops;
}

void add_post_op(ir::Node& node, const PostOp& op) {
  ir::Attribute& a = node.attributes[kPostOpsAttribute];
  a.kind = ir::Attribute::Kind::kStrings;
  a.strings.push_back(format_post_op(op));
}

bool has_post_ops(const ir::Node& node) { return node.attribute(kPostOpsAttribute) != nullptr; }

std::vector<int64_t> channels_last_inputs(const ir::Node& node) {
  const ir::Attribute* a = node.attribute(kChannelsLastInputs);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInts ? a->ints : std::vector<int64_t>{};
}

bool channels_last_output(const ir::Node& node) {
  const ir::Attribute* a = node.attribute(kChannelsLastOutput);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInt && a->i != 0;
}

bool blocked16_layout(const ir::Node& node) {
  const ir::Attribute* a = node.attribute(kBlocked16Layout);
  return a != nullptr && a->kind == ir::Attribute::Kind::kInt && a->i != 0;
}

}  // namespace ecoinfer::passes
