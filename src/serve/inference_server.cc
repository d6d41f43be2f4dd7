#include "serve/inference_server.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "serve/cache/cache_key.h"
#include "serve/cache/tensor_codec.h"

namespace ecoinfer::serve {
namespace {

using Clock = std::chrono::steady_clock;

const char* failure_reason(ErrorKind k) {
  switch (k) {
    case ErrorKind::kBadRequest: return "bad_request";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

std::vector<double> batch_size_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128}; }

std::string key_of(const std::string& model, const std::string& version) { return model + "/" + version; }

}  // namespace

// Metric handles of one model version, registered once at start so the hot
// path does atomic adds only.
struct InferenceServer::ModelMetrics {
  Counter* success;
  Counter* inferences;
  Counter* executions;
  Counter* cache_hits;
  Counter* cache_misses;
  Histogram* request_duration;
  Histogram* queue_duration;
  Histogram* compute_duration;
  Histogram* batch_size;
  std::map<std::string, Counter*> failures;  // by reason
  Labels labels;
};

Expected<std::unique_ptr<InferenceServer>> InferenceServer::create(const ServerOptions& options) {
  auto server = std::unique_ptr<InferenceServer>(new InferenceServer());
  energy::CarbonOptions carbon;
  carbon.region = options.region;
  auto ci = energy::resolve_carbon_intensity(carbon);
  if (!ci) return ci.status();
  server->intensity_ = *ci;
  if (!options.redis_url.empty()) {
    RedisCacheOptions ro;
    ro.url = options.redis_url;
    ro.local_max_bytes = options.cache_bytes;
    ro.pool_size = options.redis_connections;
    auto redis = make_redis_cache(ro);
    if (!redis) return redis.status();
    server->cache_ = std::move(*redis);
  } else if (options.cache_bytes > 0) {
    server->cache_ = make_lru_cache(options.cache_bytes);
  }
  RepositoryOptions ro;
  ro.default_threads = options.threads;
  InferenceServer* self = server.get();
  ro.on_execution = [self](const std::string& model, const std::string& version, const ExecutionStats& s) {
    self->on_execution(model, version, s);
  };
  // Metrics are registered once the index is known; on_execution skips
  // models without them, which cannot happen: no request arrives before.
  auto repo = Repository::open(options.model_repository, ro);
  if (!repo) return repo.status();
  server->repository_ = std::move(*repo);
  server->register_metrics();
  return server;
}

InferenceServer::~InferenceServer() { shutdown(); }

void InferenceServer::shutdown() {
  if (repository_) repository_->shutdown();
  shared_memory_.unregister_all();  // requests still answering hold their own mappings
}

void InferenceServer::register_metrics() {
  for (const IndexEntry& e : repository_->index()) {
    if (e.state != "READY") continue;
    auto mm = std::make_unique<ModelMetrics>();
    mm->labels = {{"model", e.name}, {"version", e.version}};
    const Labels& l = mm->labels;
    const auto latency = default_latency_buckets();
    mm->success = &metrics_.counter("ecoinfer_request_success_total", "Inference requests answered successfully", l);
    for (ErrorKind k : {ErrorKind::kBadRequest, ErrorKind::kUnavailable, ErrorKind::kTimeout, ErrorKind::kInternal}) {
      Labels fl = l;
      fl.emplace_back("reason", failure_reason(k));
      mm->failures[failure_reason(k)] =
          &metrics_.counter("ecoinfer_request_failure_total", "Inference requests that failed, by reason", fl);
    }
    mm->inferences = &metrics_.counter("ecoinfer_inference_total", "Items inferred (batch items, cache hits excluded)", l);
    mm->executions = &metrics_.counter("ecoinfer_execution_total", "Batches executed by the model", l);
    mm->cache_hits = &metrics_.counter("ecoinfer_cache_hits_total", "Requests answered from the response cache", l);
    mm->cache_misses = &metrics_.counter("ecoinfer_cache_misses_total", "Cacheable requests not found in the cache", l);
    mm->request_duration = &metrics_.histogram("ecoinfer_request_duration_seconds",
                                               "End-to-end request latency inside the server", latency, l);
    mm->queue_duration = &metrics_.histogram("ecoinfer_queue_duration_seconds",
                                             "Time requests waited in the batcher's queue", latency, l);
    mm->compute_duration = &metrics_.histogram("ecoinfer_compute_duration_seconds",
                                               "Compute time of the batch each request ran in", latency, l);
    mm->batch_size = &metrics_.histogram("ecoinfer_batch_size", "Items per executed batch", batch_size_buckets(), l);
    model_metrics_[key_of(e.name, e.version)] = std::move(mm);
  }
}

void InferenceServer::on_execution(const std::string& model, const std::string& version, const ExecutionStats& s) {
  auto it = model_metrics_.find(key_of(model, version));
  if (it == model_metrics_.end()) return;  // only before register_metrics, when no request exists
  ModelMetrics& mm = *it->second;
  mm.executions->inc();
  mm.inferences->inc(static_cast<double>(s.batch_size));
  mm.batch_size->observe(static_cast<double>(s.batch_size));
  if (s.energy.method.empty()) return;
  Labels el = mm.labels;
  el.emplace_back("method", s.energy.method);
  metrics_.counter("ecoinfer_energy_joules_total", "Energy of executed batches, joules, by method", el)
      .inc(s.energy.joules);
  el.emplace_back("region", intensity_.name.empty() ? "world" : intensity_.name);
  metrics_.counter("ecoinfer_carbon_grams_total", "Carbon of executed batches, grams CO2e (grid average), by method",
                   el)
      .inc(energy::grams_co2e(s.energy.joules, intensity_, 1.0));
}

namespace {

bool fits_declared_shape(const ValueDescription& d, const Shape& shape) {
  if (!d.has_shape) return true;
  bool ok = shape.size() == d.shape.size();
  for (size_t i = 0; ok && i < d.shape.size(); ++i) ok = !d.shape[i].is_fixed() || d.shape[i].value == shape[i];
  return ok;
}

template <class T>
auto find_named(std::vector<T>& values, const std::string& name) {
  return std::find_if(values.begin(), values.end(), [&](const T& v) { return v.name == name; });
}

}  // namespace

// Puts the inputs in model order and checks names, types and shapes, for
// numeric and BYTES inputs alike.
std::optional<InferenceError> InferenceServer::validate(const ModelVersion& m, InferenceRequest& r) const {
  auto bad = [](std::string msg) { return InferenceError{ErrorKind::kBadRequest, std::move(msg)}; };
  const auto& declared = m.backend->inputs();
  if (r.inputs.size() + r.bytes_inputs.size() > declared.size()) {
    auto undeclared = [&](const std::string& name) {
      return std::none_of(declared.begin(), declared.end(), [&](const ValueDescription& d) { return d.name == name; });
    };
    for (const NamedTensor& t : r.inputs)
      if (undeclared(t.name)) return bad(fmt::format("model '{}' has no input '{}'", m.model, t.name));
    for (const BytesTensor& b : r.bytes_inputs)
      if (undeclared(b.name)) return bad(fmt::format("model '{}' has no input '{}'", m.model, b.name));
    return bad(fmt::format("model '{}': an input is given twice", m.model));
  }
  std::vector<NamedTensor> ordered;
  std::vector<BytesTensor> ordered_bytes;
  for (const ValueDescription& d : declared) {
    auto numeric = find_named(r.inputs, d.name);
    auto bytes = find_named(r.bytes_inputs, d.name);
    if (numeric == r.inputs.end() && bytes == r.bytes_inputs.end())
      return bad(fmt::format("model '{}' needs input '{}' ({} {}), it is missing", m.model, d.name,
                             d.dtype == DataType::kString ? "BYTES" : dtype_name(d.dtype), d.shape_string()));
    if (d.dtype == DataType::kString) {
      if (bytes == r.bytes_inputs.end())
        return bad(fmt::format("input '{}' of model '{}' must be BYTES (strings), got {}", d.name, m.model,
                               dtype_name(numeric->tensor.dtype())));
      if (!fits_declared_shape(d, bytes->shape))
        return bad(fmt::format("input '{}' of model '{}' has shape {}, the model takes {}", d.name, m.model,
                               shape_to_string(bytes->shape), d.shape_string()));
      ordered_bytes.push_back(std::move(*bytes));  // images can be megabytes; a failed request is dropped anyway
      continue;
    }
    if (numeric == r.inputs.end())
      return bad(fmt::format("input '{}' of model '{}' must be {}, got BYTES (strings); this model takes numbers "
                             "(its metadata lists each input's datatype)", d.name, m.model, dtype_name(d.dtype)));
    const Tensor& t = numeric->tensor;
    if (t.dtype() != d.dtype)
      return bad(fmt::format("input '{}' of model '{}' must be {}, got {}", d.name, m.model, dtype_name(d.dtype),
                             dtype_name(t.dtype())));
    if (!fits_declared_shape(d, t.shape()))
      return bad(fmt::format("input '{}' of model '{}' has shape {}, the model takes {}", d.name, m.model,
                             shape_to_string(t.shape()), d.shape_string()));
    ordered.push_back(*numeric);
  }
  if (m.config.max_batch_size > 0) {
    for (const NamedTensor& t : ordered) {
      if (t.tensor.rank() == 0 || t.tensor.dim(0) != ordered[0].tensor.dim(0))
        return bad(fmt::format("model '{}' batches along dimension 0: every input needs the same first dimension",
                               m.model));
    }
  }
  r.inputs = std::move(ordered);
  r.bytes_inputs = std::move(ordered_bytes);
  std::set<std::string> names;
  for (const auto& o : m.backend->outputs()) names.insert(o.name);
  for (const RequestedOutput& o : r.outputs) {
    if (!names.count(o.name)) return bad(fmt::format("model '{}' has no output '{}'", m.model, o.name));
  }
  return std::nullopt;
}

void InferenceServer::record_outcome(ModelMetrics& mm, const InferenceOutcome& o, double seconds) {
  if (!o.ok()) {
    mm.failures[failure_reason(o.error->kind)]->inc();
    return;
  }
  mm.success->inc();
  mm.request_duration->observe(seconds);
  if (o.response.stats.cache_hit) return;
  mm.queue_duration->observe(o.response.stats.queue_seconds);
  mm.compute_duration->observe(o.response.stats.compute_seconds);
}

// Keeps only the requested outputs, in the requested order.
template <class T>
static void select_outputs(std::vector<T>& outputs, const std::vector<RequestedOutput>& requested) {
  if (requested.empty()) return;
  std::vector<T> chosen;
  for (const RequestedOutput& r : requested) {
    auto it = std::find_if(outputs.begin(), outputs.end(), [&](const T& t) { return t.name == r.name; });
    if (it != outputs.end()) chosen.push_back(std::move(*it));
  }
  outputs = std::move(chosen);
}

void InferenceServer::infer(InferenceRequest request, InferenceCallback done) {
  const auto start = Clock::now();
  ModelVersion* m = repository_->find(request.model, request.version);
  if (!m) {
    if (!repository_->has_model(request.model))
      return done(InferenceOutcome::failure(ErrorKind::kNotFound, fmt::format("unknown model '{}'", request.model)));
    if (!request.version.empty() && repository_->ready_versions(request.model).size() > 0)
      return done(InferenceOutcome::failure(
          ErrorKind::kNotFound, fmt::format("model '{}' has no ready version '{}'", request.model, request.version)));
    return done(InferenceOutcome::failure(ErrorKind::kUnavailable,
                                          fmt::format("model '{}' is not available (see the repository index for "
                                                      "the reason)", request.model)));
  }
  ModelMetrics& mm = *model_metrics_.at(key_of(m->model, m->version));
  request.version = m->version;
  if (auto error = validate(*m, request)) {
    InferenceOutcome o{std::move(error), {}};
    record_outcome(mm, o, 0);
    return done(std::move(o));
  }
  const bool cacheable = cache_ && m->config.response_cache;
  uint64_t key = 0;
  if (cacheable) {
    std::vector<std::string> names;
    for (const RequestedOutput& o : request.outputs) names.push_back(o.name);
    key = response_cache_key(m->model, m->version, names, request.inputs, request.bytes_inputs);
    if (auto hit = cache_->get(key)) {
      if (auto values = decode_values(*hit)) {
        mm.cache_hits->inc();
        InferenceOutcome o;
        o.response = {request.id, m->model, m->version, std::move(values->tensors), std::move(values->bytes), {}};
        o.response.stats.cache_hit = true;
        record_outcome(mm, o, std::chrono::duration<double>(Clock::now() - start).count());
        return done(std::move(o));
      }
    }
    mm.cache_misses->inc();
  }
  std::vector<RequestedOutput> requested = request.outputs;
  auto finish = [this, &mm, start, requested = std::move(requested), cacheable, key,
                 done = std::move(done)](InferenceOutcome o) {
    if (o.ok()) {
      select_outputs(o.response.outputs, requested);
      select_outputs(o.response.bytes_outputs, requested);
      if (cacheable) cache_->put(key, encode_values({o.response.outputs, o.response.bytes_outputs}));
    }
    record_outcome(mm, o, std::chrono::duration<double>(Clock::now() - start).count());
    done(std::move(o));
  };
  m->batcher->submit(std::move(request), std::move(finish));
}

}  // namespace ecoinfer::serve
