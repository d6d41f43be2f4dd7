#include "serve/repository.h"

#include "serve/backend/ocr_backend.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace ecoinfer::serve {
namespace {

// Version folders are positive integers, like Triton's.
std::optional<int64_t> parse_version(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

}  // namespace

Expected<std::unique_ptr<Repository>> Repository::open(const std::filesystem::path& dir,
                                                       const RepositoryOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return not_found(fmt::format("model repository {} is not a folder; give --model-repository DIR holding "
                                 "DIR/<model>/<version>/model.onnx", dir.string()));
  std::vector<std::filesystem::path> model_dirs;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory()) model_dirs.push_back(entry.path());
  }
  if (ec) return io_error(fmt::format("cannot list model repository {}: {}", dir.string(), ec.message()));
  std::sort(model_dirs.begin(), model_dirs.end());
  auto repo = std::unique_ptr<Repository>(new Repository());
  for (const auto& d : model_dirs) repo->load_model(d, options);
  return repo;
}

Repository::~Repository() { shutdown(); }

void Repository::load_model(const std::filesystem::path& model_dir, const RepositoryOptions& options) {
  const std::string name = model_dir.filename().string();
  auto unavailable = [&](const std::string& version, const std::string& reason) {
    spdlog::error("model '{}'{}: UNAVAILABLE: {}", name, version.empty() ? "" : " version " + version, reason);
    index_.push_back({name, version, "UNAVAILABLE", reason});
  };
  auto config = read_model_config(model_dir);
  if (!config) return unavailable("", config.status().message());
  std::map<int64_t, std::filesystem::path> versions;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    auto v = parse_version(entry.path().filename().string());
    if (entry.is_directory() && v) versions[*v] = entry.path();
  }
  if (versions.empty())
    return unavailable("", "no numbered version folder holding model.onnx or pipeline.json (e.g. " + name +
                               "/1/model.onnx)");
  for (const auto& [v, dir] : versions) {
    auto loaded = load_version(name, std::to_string(v), dir, *config, options);
    if (!loaded) {
      unavailable(std::to_string(v), loaded.status().message());
      continue;
    }
    spdlog::info("model '{}' version {}: READY (max_batch_size {}, instances {})", name, v,
                 (*loaded)->config.max_batch_size, (*loaded)->config.instance_count);
    index_.push_back({name, std::to_string(v), "READY", ""});
    models_[name][v] = std::move(*loaded);
  }
  if (!models_.count(name)) models_[name];  // known, with no ready version
}

namespace {

// model.onnx as a Session; `precision` bf16 is a session option, int8 is the
// model file's own (QDQ or QLinear ops).
Expected<std::shared_ptr<const ModelBackend>> load_onnx_backend(const std::filesystem::path& file,
                                                                const ModelConfig& config, int threads) {
  SessionOptions session_options{.threads = threads};
  if (config.precision == Precision::kBf16) session_options.precision = ecoinfer::Precision::kBf16;
  ECOINFER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::load(file, session_options));
  return make_session_backend(std::shared_ptr<const Session>(std::move(session)));
}

// A pipeline runs one request at a time as sent: it batches inside (the OCR
// recognizer batches lines by width), not across requests.
Status check_pipeline_config(const ModelConfig& c) {
  if (c.max_batch_size != 0 || c.dynamic_batching)
    return invalid_argument("a pipeline model (pipeline.json) takes no max_batch_size or dynamic_batching in its "
                            "config.json: each request runs as sent");
  return Status::ok();
}

}  // namespace

Expected<std::unique_ptr<ModelVersion>> Repository::load_version(const std::string& name, const std::string& version,
                                                                 const std::filesystem::path& version_dir,
                                                                 const LoadedConfig& config,
                                                                 const RepositoryOptions& options) {
  auto m = std::make_unique<ModelVersion>();
  m->model = name;
  m->version = version;
  m->config = config.config;
  const int threads = m->config.threads > 0 ? m->config.threads : options.default_threads;
  std::error_code ec;
  const bool pipeline = std::filesystem::exists(version_dir / kPipelineFile, ec);
  try {  // a library exception must not take the server down
    if (pipeline) {
      ECOINFER_RETURN_IF_ERROR(check_pipeline_config(m->config));
      ECOINFER_ASSIGN_OR_RETURN(m->backend, load_pipeline_backend(version_dir, threads, m->config.precision));
    } else {
      ECOINFER_ASSIGN_OR_RETURN(m->backend, load_onnx_backend(version_dir / "model.onnx", m->config, threads));
    }
  } catch (const std::exception& e) {
    return internal_error(fmt::format("loading {} threw: {}", version_dir.string(), e.what()));
  }
  if (!config.present && !pipeline) m->config = default_model_config(m->backend->inputs());
  if (!config.present) m->config.threads = threads;
  BatcherOptions b;
  b.model = name;
  b.max_batch_size = m->config.max_batch_size;
  b.dynamic_batching = m->config.dynamic_batching;
  b.preferred_batch_sizes = m->config.preferred_batch_sizes;
  b.max_queue_delay = m->config.max_queue_delay;
  b.max_queue_size = m->config.max_queue_size;
  b.default_timeout = m->config.default_timeout;
  b.instance_count = m->config.instance_count;
  b.threads = resolve_thread_count(threads);
  // All compute on the model's instances, never on an HTTP thread (see
  // BatcherOptions::run_on_caller_thread and docs/SERVING.md). A model whose
  // runs use an OpenMP team runs on the lanes it shares with the others, so
  // the teams stay within the CPUs (serve/compute_lanes.h). Pipelines keep
  // workers of their own: their stages run on threads of the pipeline's.
  b.run_on_caller_thread = false;
  if (b.threads > 1 && !pipeline) b.lanes = lanes_.get();
  if (options.on_execution) {
    b.on_execution = [cb = options.on_execution, name, version](const ExecutionStats& s) { cb(name, version, s); };
  }
  m->batcher = std::make_unique<Batcher>(m->backend, std::move(b));
  return m;
}

bool Repository::all_ready() const {
  return std::all_of(index_.begin(), index_.end(), [](const IndexEntry& e) { return e.state == "READY"; });
}

bool Repository::has_model(const std::string& name) const { return models_.count(name) > 0; }

ModelVersion* Repository::find(const std::string& name, const std::string& version) const {
  auto it = models_.find(name);
  if (it == models_.end() || it->second.empty()) return nullptr;
  if (version.empty()) return it->second.rbegin()->second.get();
  auto v = parse_version(version);
  if (!v) return nullptr;
  auto vit = it->second.find(*v);
  return vit == it->second.end() ? nullptr : vit->second.get();
}

std::vector<std::string> Repository::ready_versions(const std::string& name) const {
  std::vector<std::string> out;
  auto it = models_.find(name);
  if (it == models_.end()) return out;
  for (const auto& [v, m] : it->second) out.push_back(std::to_string(v));
  return out;
}

void Repository::flush() const {
  for (auto& [name, versions] : models_) {
    for (auto& [v, m] : versions) m->batcher->flush();
  }
}

void Repository::shutdown() {
  for (auto& [name, versions] : models_) {
    for (auto& [v, m] : versions) m->batcher->shutdown();
  }
}

}  // namespace ecoinfer::serve
