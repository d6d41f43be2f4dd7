#include "runtime/session_impl.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <unordered_set>

#include <fmt/format.h>

#include "onnx/model_loader.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "runtime/input_check.h"

namespace ecoinfer {

std::string ValueDescription::shape_string() const {
  if (!has_shape) return "?";
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += shape[i].is_fixed() ? std::to_string(shape[i].value) : (shape[i].symbol.empty() ? "?" : shape[i].symbol);
  }
  return s;
}

const char* precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

int resolve_thread_count(int threads) { return threads > 0 ? threads : omp_get_num_procs(); }

Expected<std::unique_ptr<Session>> Session::load(const std::filesystem::path& model, const SessionOptions& options) {
  if (options.threads < 0) return invalid_argument(fmt::format("threads must be 0 (all cores) or more, got {}", options.threads));
  ECOINFER_ASSIGN_OR_RETURN(ir::Graph graph, onnx_import::load_model(model));
  // Always, --no-optimize too: ONNX Runtime's contrib ops have no kernel of
  // their own, their expansion into plain ONNX ops is how they run.
  if (auto expanded = passes::expand_contrib_ops_pass(graph); !expanded) {
    return expanded.status().with_context(model.string());
  }
  if (options.optimize) {
    auto report = passes::optimize(graph);
    if (!report) return report.status().with_context(model.string());
  }
  if (options.precision == Precision::kBf16) {
    auto marked = passes::mark_bf16_compute(graph);
    if (!marked) return marked.status().with_context(model.string());
  }
  auto session = runtime::SessionImpl::create(std::move(graph), options);
  if (!session) return session.status().with_context(model.string());
  return session;
}

// Sessions that cannot write into caller memory run as usual and copy.
Expected<std::vector<NamedTensor>> Session::run_into(const std::vector<NamedTensor>& inputs,
                                                     const std::vector<OutputBinding>& outputs) const {
  ECOINFER_ASSIGN_OR_RETURN(std::vector<NamedTensor> result, run(inputs));
  for (const OutputBinding& b : outputs) {
    auto it = std::find_if(result.begin(), result.end(), [&](const NamedTensor& t) { return t.name == b.name; });
    if (it == result.end()) return invalid_argument(fmt::format("run_into: the model has no output named '{}'", b.name));
    if (it->tensor.nbytes() > b.capacity_bytes || (b.dtype != DataType::kUndefined && b.dtype != it->tensor.dtype()))
      return invalid_argument(fmt::format("run_into: output '{}' ({} {}, {} bytes) does not fit the memory bound to it "
                                          "({} bytes{})", b.name, shape_to_string(it->tensor.shape()),
                                          dtype_name(it->tensor.dtype()), it->tensor.nbytes(), b.capacity_bytes,
                                          b.dtype == DataType::kUndefined ? "" : fmt::format(", {}", dtype_name(b.dtype))));
    Tensor view = Tensor::external_region(b.data, b.capacity_bytes);
    view.resize(it->tensor.dtype(), it->tensor.shape());
    if (view.nbytes() > 0) std::memcpy(view.raw_data(), it->tensor.raw_data(), view.nbytes());
    it->tensor = std::move(view);
  }
  return result;
}

namespace runtime {

SessionImpl::SessionImpl(ir::Graph graph, const SessionOptions& options)
    : graph_(std::move(graph)), options_(options), threads_(resolve_thread_count(options.threads)) {}

Expected<std::unique_ptr<Session>> SessionImpl::create(ir::Graph graph, const SessionOptions& options) {
  std::unique_ptr<SessionImpl> s(new SessionImpl(std::move(graph), options));
  ECOINFER_RETURN_IF_ERROR(s->create_kernels());
  for (ir::ValueId v : s->graph_.inputs) s->inputs_.push_back(s->graph_.values[static_cast<size_t>(v)].info);
  for (ir::ValueId v : s->graph_.outputs) s->outputs_.push_back(s->graph_.values[static_cast<size_t>(v)].info);
  s->summarize();
  s->release_owned_constants();
  s->last_reader_.assign(s->graph_.values.size(), -1);
  for (size_t i = 0; i < s->graph_.nodes.size(); ++i)
    for (ir::ValueId v : s->graph_.nodes[i].inputs)
      if (v != ir::kNoValue) s->last_reader_[static_cast<size_t>(v)] = static_cast<int>(i);
  for (ir::ValueId v : s->graph_.outputs) s->last_reader_[static_cast<size_t>(v)] = static_cast<int>(s->graph_.nodes.size());
  return std::unique_ptr<Session>(std::move(s));
}

Status SessionImpl::create_kernels() {
  // Kernels pack weights with the session's thread count, as they will run.
  omp_set_num_threads(threads_);
  for (const ir::Node& node : graph_.nodes) {
    kernels::KernelFactory factory = kernels::find_kernel_factory(node.domain, node.op_type);
    if (factory == nullptr) {
      return unimplemented(fmt::format(
          "unsupported operator '{}' (domain '{}', opset {}) at node '{}'; ecoinfer runs the default ONNX domain "
          "ops listed by `ecoinfer info --ops`",
          node.op_type, node.domain.empty() ? "ai.onnx" : node.domain, node.opset, node.name));
    }
    Expected<std::unique_ptr<kernels::Kernel>> kernel = [&]() -> Expected<std::unique_ptr<kernels::Kernel>> {
      try {
        return factory(kernels::KernelInfo(node, graph_));
      } catch (const std::exception& e) {
        return invalid_model(fmt::format("{}: {}", node.describe(), e.what()));
      }
    }();
    if (!kernel) return kernel.status();
    kernels_.push_back(std::move(*kernel));
  }
  return Status::ok();
}

void SessionImpl::summarize() {
  summary_.ir_version = graph_.ir_version;
  summary_.opset = graph_.opsets.count("") ? graph_.opsets.at("") : 0;
  summary_.producer = graph_.producer;
  summary_.node_count = static_cast<int64_t>(graph_.nodes.size());
  std::map<std::string, int> counts;
  for (const ir::Node& n : graph_.nodes) ++counts[n.op_type];
  summary_.op_histogram.assign(counts.begin(), counts.end());
  std::stable_sort(summary_.op_histogram.begin(), summary_.op_histogram.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [id, t] : graph_.constants) {
    const DataType d = t.dtype();
    if (d == DataType::kFloat32 || d == DataType::kFloat16 || d == DataType::kBFloat16 || d == DataType::kFloat64 ||
        d == DataType::kInt8 || d == DataType::kUInt8)
      summary_.parameter_count += t.numel();
  }
}

// A weight held packed by every node that reads it exists once in memory:
// the graph's plain tensor goes (its kernels let go of their references
// after packing). One read plain by any node (a Gather of tied embeddings)
// or returned as a graph output stays.
void SessionImpl::release_owned_constants() {
  std::unordered_set<ir::ValueId> needed(graph_.outputs.begin(), graph_.outputs.end());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const std::vector<ir::ValueId>& in = graph_.nodes[i].inputs;
    for (size_t p = 0; p < in.size(); ++p) {
      if (in[p] != ir::kNoValue && !kernels_[i]->owns_constant_input(p)) needed.insert(in[p]);
    }
  }
  for (auto it = graph_.constants.begin(); it != graph_.constants.end();) {
    if (needed.count(it->first)) {
      ++it;
      continue;
    }
    released_shapes_.emplace(it->first, it->second.shape());
    it = graph_.constants.erase(it);
  }
}

const Shape& SessionImpl::shape_of(ir::ValueId v, const RunContext& ctx) const {
  const Tensor& t = ctx.values[static_cast<size_t>(v)];
  if (!t.defined()) {
    auto it = released_shapes_.find(v);
    if (it != released_shapes_.end()) return it->second;
  }
  return t.shape();
}

std::unique_ptr<RunContext> SessionImpl::acquire_context() const {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!idle_contexts_.empty()) {
      auto ctx = std::move(idle_contexts_.back());
      idle_contexts_.pop_back();
      return ctx;
    }
  }
  auto ctx = std::make_unique<RunContext>();
  ctx->values.resize(graph_.values.size());
  for (const auto& [id, t] : graph_.constants) ctx->values[static_cast<size_t>(id)] = t;
  ctx->unused_outputs.resize(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) ctx->unused_outputs[i].resize(graph_.nodes[i].outputs.size());
  return ctx;
}

void SessionImpl::release_context(std::unique_ptr<RunContext> ctx) const {
  // Drop what the caller owns and the aliases, so the next run's producers
  // own their buffers again and can reuse them.
  for (ir::ValueId v : graph_.inputs) ctx->values[static_cast<size_t>(v)] = Tensor();
  for (ir::ValueId v : ctx->aliased) ctx->values[static_cast<size_t>(v)] = Tensor();
  ctx->aliased.clear();
  std::lock_guard<std::mutex> lock(pool_mutex_);
  idle_contexts_.push_back(std::move(ctx));
}

Status SessionImpl::bind_inputs(const std::vector<NamedTensor>& given, RunContext& ctx) const {
  std::unordered_set<std::string> seen;
  for (const NamedTensor& nt : given) {
    auto it = std::find_if(inputs_.begin(), inputs_.end(), [&](const ValueDescription& d) { return d.name == nt.name; });
    if (it == inputs_.end()) {
      std::string expected;
      for (const auto& d : inputs_) expected += (expected.empty() ? "" : ", ") + describe_value(d);
      return invalid_argument(fmt::format("the model has no input named '{}'; its inputs are: {}", nt.name, expected));
    }
    if (!seen.insert(nt.name).second) return invalid_argument(fmt::format("input '{}' is given twice", nt.name));
    ECOINFER_RETURN_IF_ERROR(check_input_matches(*it, nt.tensor));
    ctx.values[static_cast<size_t>(graph_.inputs[static_cast<size_t>(it - inputs_.begin())])] = nt.tensor;
  }
  for (const ValueDescription& d : inputs_) {
    if (!seen.count(d.name)) return invalid_argument(fmt::format("missing input '{}'; give {}", d.name, describe_value(d)));
  }
  return Status::ok();
}

Status SessionImpl::execute_node(size_t index, RunContext& ctx, const MemoryPlan* plan,
                                 std::vector<ValueUse>* record, std::vector<NodeTrace>* trace) const {
  const ir::Node& node = graph_.nodes[index];
  std::vector<const Tensor*>& in = ctx.node_inputs;
  in.clear();
  for (ir::ValueId v : node.inputs) in.push_back(v == ir::kNoValue ? nullptr : &ctx.values[static_cast<size_t>(v)]);
  std::vector<Tensor*>& out = ctx.node_outputs;
  out.clear();
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    const ir::ValueId v = node.outputs[o];
    out.push_back(v == ir::kNoValue ? &ctx.unused_outputs[index][o] : &ctx.values[static_cast<size_t>(v)]);
  }
  std::vector<bool>& may_alias = ctx.node_may_alias;
  may_alias.clear();
  if (plan != nullptr) {
    for (ir::ValueId v : node.outputs) may_alias.push_back(v != ir::kNoValue && plan->is_alias[static_cast<size_t>(v)]);
  }
  kernels::KernelContext kctx(in, out, threads_, plan != nullptr ? &may_alias : nullptr);
  const auto start = std::chrono::steady_clock::now();
  Status status;
  try {
    status = kernels_[index]->compute(kctx);
  } catch (const std::exception& e) {
    status = internal_error(e.what());
  }
  if (!status.is_ok()) return status.with_context(node.describe());
  // An output whose bytes lie inside an input's buffer is an alias (see
  // alias_output); the memory plan must know, and the slot is dropped after
  // the run so the producer owns its buffer again.
  for (size_t o = 0; o < out.size(); ++o) {
    const ir::ValueId ov = node.outputs[o];
    if (ov == ir::kNoValue || out[o]->nbytes() == 0) continue;
    const auto* ob = static_cast<const std::byte*>(out[o]->raw_data());
    for (size_t k = 0; k < in.size(); ++k) {
      if (in[k] == nullptr || in[k]->nbytes() == 0) continue;
      const auto* ib = static_cast<const std::byte*>(in[k]->raw_data());
      if (ob >= ib && ob < ib + in[k]->nbytes()) {
        ctx.aliased.push_back(ov);
        if (record != nullptr) (*record)[static_cast<size_t>(ov)].alias_of = node.inputs[k];
        break;
      }
    }
    if (record != nullptr) (*record)[static_cast<size_t>(ov)].bytes = out[o]->nbytes();
  }
  // Traced before the inputs below may be freed (their shapes with them).
  if (trace != nullptr) {
    NodeTrace t;
    t.name = node.name;
    t.op_type = node.op_type;
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (ir::ValueId v : node.inputs) t.input_shapes.push_back(v == ir::kNoValue ? Shape{} : shape_of(v, ctx));
    for (const Tensor* o : out) t.output_shapes.push_back(o->shape());
    trace->push_back(std::move(t));
  }
  // While recording, free what no later node reads: the first run of a
  // shape already peaks lower than keeping everything.
  if (record != nullptr) {
    for (ir::ValueId v : node.inputs) {
      if (v != ir::kNoValue && last_reader_[static_cast<size_t>(v)] == static_cast<int>(index) &&
          graph_.values[static_cast<size_t>(v)].producer >= 0)
        ctx.values[static_cast<size_t>(v)] = Tensor();
    }
  }
  return Status::ok();
}

Expected<std::vector<NamedTensor>> SessionImpl::run(const std::vector<NamedTensor>& inputs,
                                                    std::vector<NodeTrace>* trace) const {
  return run_bound(inputs, trace, std::vector<const OutputBinding*>(graph_.outputs.size(), nullptr));
}

Expected<std::vector<NamedTensor>> SessionImpl::run_into(const std::vector<NamedTensor>& inputs,
                                                         const std::vector<OutputBinding>& outputs) const {
  ECOINFER_ASSIGN_OR_RETURN(std::vector<const OutputBinding*> bound, match_outputs(outputs));
  return run_bound(inputs, nullptr, bound);
}

// Per model output, its binding or null; checked before anything runs.
Expected<std::vector<const OutputBinding*>> SessionImpl::match_outputs(const std::vector<OutputBinding>& outputs) const {
  std::vector<const OutputBinding*> bound(graph_.outputs.size(), nullptr);
  for (const OutputBinding& b : outputs) {
    auto it = std::find_if(outputs_.begin(), outputs_.end(), [&](const ValueDescription& d) { return d.name == b.name; });
    if (it == outputs_.end()) {
      std::string names;
      for (const auto& d : outputs_) names += (names.empty() ? "" : ", ") + d.name;
      return invalid_argument(fmt::format("run_into: the model has no output named '{}'; its outputs are: {}", b.name, names));
    }
    const size_t index = static_cast<size_t>(it - outputs_.begin());
    if (bound[index]) return invalid_argument(fmt::format("run_into: output '{}' is bound twice", b.name));
    if (!b.data && b.capacity_bytes > 0)
      return invalid_argument(fmt::format("run_into: output '{}' is bound to a null pointer", b.name));
    if (b.dtype != DataType::kUndefined && it->dtype != DataType::kUndefined && b.dtype != it->dtype)
      return invalid_argument(fmt::format("run_into: output '{}' is {}, but its memory is bound as {}", b.name,
                                          dtype_name(it->dtype), dtype_name(b.dtype)));
    bound[index] = &b;
  }
  return bound;
}

namespace {

// The result of one bound output, in the caller's memory: where the last
// kernel wrote it already, or copied there.
Expected<Tensor> deliver_bound(const std::string& name, const Tensor& computed, const OutputBinding& b) {
  if (b.dtype != DataType::kUndefined && computed.dtype() != b.dtype)
    return invalid_argument(fmt::format("output '{}' is {}, but the memory given for it is for {}", name,
                                        dtype_name(computed.dtype()), dtype_name(b.dtype)));
  if (computed.nbytes() > b.capacity_bytes)
    return invalid_argument(fmt::format("output '{}' ({} {}) needs {} bytes but the memory given for it holds {}; "
                                        "give at least that much", name, shape_to_string(computed.shape()),
                                        dtype_name(computed.dtype()), computed.nbytes(), b.capacity_bytes));
  if (computed.raw_data() != b.data && computed.nbytes() > 0) std::memcpy(b.data, computed.raw_data(), computed.nbytes());
  Tensor view = Tensor::external_region(b.data, b.capacity_bytes);
  view.resize(computed.dtype(), computed.shape());  // keeps the caller's memory: it is large enough
  return view;
}

}  // namespace

Expected<std::vector<NamedTensor>> SessionImpl::run_bound(const std::vector<NamedTensor>& inputs,
                                                          std::vector<NodeTrace>* trace,
                                                          const std::vector<const OutputBinding*>& bound) const {
  omp_set_num_threads(threads_);  // per calling thread: oneDNN and our kernels share this pool
  std::unique_ptr<RunContext> ctx = acquire_context();
  struct Releaser {
    const SessionImpl* s;
    std::unique_ptr<RunContext>* c;
    ~Releaser() { s->release_context(std::move(*c)); }
  } releaser{this, &ctx};
  ECOINFER_RETURN_IF_ERROR(bind_inputs(inputs, *ctx));
  if (trace != nullptr) trace->clear();
  std::vector<Shape> key = plan_key(*ctx);
  auto found = ctx->plans.find(key);
  const MemoryPlan* plan = found == ctx->plans.end() ? nullptr : &found->second;
  std::vector<ValueUse> record;
  if (plan != nullptr) {
    bind_plan(*plan, *ctx);
    // A bound output's slot becomes the caller's memory: its producer writes
    // there as into an arena region. An output aliasing an input (a final
    // Reshape) or a first run of a shape (no plan) is copied at the end.
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      const auto v = static_cast<size_t>(graph_.outputs[i]);
      if (bound[i] && graph_.values[v].producer >= 0 && !plan->is_alias[v])
        ctx->values[v] = Tensor::external_region(bound[i]->data, bound[i]->capacity_bytes);
    }
  } else {
    // First run of this shape: fresh buffers, sizes and aliases recorded.
    for (const ir::Value& v : graph_.values)
      if (v.producer >= 0) ctx->values[static_cast<size_t>(&v - graph_.values.data())] = Tensor();
    record.resize(graph_.values.size());
  }
  for (size_t i = 0; i < graph_.nodes.size(); ++i)
    ECOINFER_RETURN_IF_ERROR(execute_node(i, *ctx, plan, plan ? nullptr : &record, trace));
  std::vector<NamedTensor> result;
  result.reserve(graph_.outputs.size());
  Status delivered;
  for (size_t i = 0; i < graph_.outputs.size(); ++i) {
    const ir::ValueId v = graph_.outputs[i];
    Tensor& computed = ctx->values[static_cast<size_t>(v)];
    if (!bound[i]) {
      // A copy: the context's buffers are reused by the next run.
      result.push_back({graph_.name_of(v), computed.clone()});
      continue;
    }
    auto out = deliver_bound(graph_.name_of(v), computed, *bound[i]);
    if (!out && delivered.is_ok()) delivered = out.status();
    if (out) result.push_back({graph_.name_of(v), std::move(*out)});
    if (plan != nullptr && graph_.values[static_cast<size_t>(v)].producer >= 0) computed = Tensor();  // no pointer to the caller's memory stays
  }
  if (plan == nullptr) learn_plan(std::move(key), std::move(record), *ctx);
  if (!delivered.is_ok()) return delivered;
  return result;
}

std::vector<Shape> SessionImpl::plan_key(const RunContext& ctx) const {
  std::vector<Shape> key;
  for (ir::ValueId v : graph_.inputs) {
    const Tensor& t = ctx.values[static_cast<size_t>(v)];
    key.push_back(t.shape());
    key.back().push_back(static_cast<int64_t>(t.dtype()));
  }
  return key;
}

void SessionImpl::bind_plan(const MemoryPlan& plan, RunContext& ctx) const {
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    if (graph_.values[v].producer < 0) continue;
    ctx.values[v] = plan.offsets[v] >= 0
                        ? Tensor::arena_region(ctx.arena, static_cast<size_t>(plan.offsets[v]), plan.sizes[v])
                        : Tensor();
  }
}

void SessionImpl::learn_plan(std::vector<Shape> key, std::vector<ValueUse> uses, RunContext& ctx) const {
  // Shapes vary (OCR line widths): keep a bounded number of plans.
  constexpr size_t kMaxPlans = 16;
  if (ctx.plans.size() >= kMaxPlans) ctx.plans.clear();
  MemoryPlan plan = plan_memory(graph_, std::move(uses));
  // Release the recorded run's buffers and the old arena before taking the
  // new one, so peak memory is one arena, not two.
  for (const ir::Value& v : graph_.values)
    if (v.producer >= 0) ctx.values[static_cast<size_t>(&v - graph_.values.data())] = Tensor();
  if (plan.arena_bytes > ctx.arena.capacity_bytes()) {
    ctx.arena = Tensor();
    ctx.arena = Tensor::zeros(DataType::kUInt8, {static_cast<int64_t>(plan.arena_bytes)});
  }
  ctx.plans.emplace(std::move(key), std::move(plan));
}

}  // namespace runtime
}  // namespace ecoinfer
