#include "serve/protocol/kserve_rest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "serve/protocol/kserve_datatype.h"
#include "serve/protocol/shared_memory_params.h"

namespace ecoinfer::serve::protocol {
namespace {

using nlohmann::json;

constexpr const char* kServerName = "ecoinfer";
constexpr const char* kServerVersion = "0.1.0";

// Names from URLs may hold any bytes: replace invalid UTF-8 rather than throw.
RestResponse json_response(int status, const json& body) {
  return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}
RestResponse error_response(int status, std::string_view message) {
  return {status, "application/json", error_body(message), {}};
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

json tensor_metadata(const std::vector<ValueDescription>& values) {
  json out = json::array();
  for (const ValueDescription& v : values) {
    json shape = json::array();
    for (const DimInfo& d : v.shape) shape.push_back(d.is_fixed() ? d.value : -1);
    // kserve_datatype names DataType::kString "BYTES": pipeline models declare BYTES that way.
    out.push_back({{"name", v.name}, {"datatype", std::string(kserve_datatype(v.dtype))}, {"shape", shape}});
  }
  return out;
}

// /v2/models/{name}[/versions/{v}][/{action}]
struct ModelRoute {
  std::string name, version, action;
};
std::optional<ModelRoute> parse_model_route(const std::vector<std::string>& p) {
  if (p.size() < 3 || p[0] != "v2" || p[1] != "models") return std::nullopt;
  ModelRoute r{p[2], "", ""};
  size_t i = 3;
  if (p.size() >= 5 && p[3] == "versions") {
    r.version = p[4];
    i = 5;
  }
  if (i + 1 == p.size()) r.action = p[i];
  else if (i != p.size()) return std::nullopt;
  return r;
}

}  // namespace

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return 400;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kTimeout: return 503;
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

void KServeRest::handle(RestRequest request, RestCallback done) const {
  const std::string path = request.target.substr(0, request.target.find('?'));
  const std::vector<std::string> p = split_path(path);
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto method_not_allowed = [&] {
    done(error_response(405, fmt::format("{} is not allowed on {}", request.method, path)));
  };
  if (path == "/v2/health/live") return get ? done(json_response(200, {{"live", true}})) : method_not_allowed();
  if (path == "/v2/health/ready") {
    if (!get) return method_not_allowed();
    // The protocol answers readiness with the status: 200 true, 4xx false.
    return done(json_response(server_.ready() ? 200 : 400, {{"ready", server_.ready()}}));
  }
  if (path == "/v2" || path == "/v2/") return get ? done(server_metadata()) : method_not_allowed();
  if (path == "/metrics") {
    if (!get) return method_not_allowed();
    return done({200, kPrometheusContentType, server_.render_metrics(), {}});
  }
  if (path == "/v2/repository/index") return post || get ? done(repository_index()) : method_not_allowed();
  if (p.size() >= 2 && p[0] == "v2" && p[1] == "systemsharedmemory") return done(shared_memory(request, p));
  if (auto route = parse_model_route(p)) {
    if (route->action.empty()) return get ? done(model_metadata(route->name, route->version)) : method_not_allowed();
    if (route->action == "ready") return get ? done(model_ready(route->name, route->version)) : method_not_allowed();
    if (route->action == "infer") {
      if (!post) return method_not_allowed();
      return infer(route->name, route->version, std::move(request), std::move(done));
    }
  }
  done(error_response(404, fmt::format("no endpoint {} {}; see docs/SERVING.md for the list", request.method, path)));
}

RestResponse KServeRest::server_metadata() const {
  return json_response(200, {{"name", kServerName},
                             {"version", kServerVersion},
                             {"extensions",
                              {"binary_tensor_data", "model_repository", "parameters", "system_shared_memory"}}});
}

RestResponse KServeRest::model_metadata(const std::string& name, const std::string& version) const {
  const Repository& repo = server_.repository();
  if (!repo.has_model(name)) return error_response(404, fmt::format("unknown model '{}'", name));
  const ModelVersion* m = repo.find(name, version);
  if (!m) {
    if (!version.empty()) return error_response(404, fmt::format("model '{}' has no ready version '{}'", name, version));
    return error_response(503, fmt::format("model '{}' is not available; POST /v2/repository/index gives the reason",
                                           name));
  }
  json versions = version.empty() ? json(repo.ready_versions(name)) : json::array({m->version});
  return json_response(200, {{"name", name},
                             {"versions", versions},
                             {"platform", m->backend->platform()},
                             {"inputs", tensor_metadata(m->backend->inputs())},
                             {"outputs", tensor_metadata(m->backend->outputs())}});
}

RestResponse KServeRest::model_ready(const std::string& name, const std::string& version) const {
  const Repository& repo = server_.repository();
  if (!repo.has_model(name)) return error_response(404, fmt::format("unknown model '{}'", name));
  const bool ready = repo.find(name, version) != nullptr;
  json body = {{"name", name}, {"ready", ready}};
  if (!version.empty()) body["version"] = version;
  return json_response(ready ? 200 : 400, body);
}

RestResponse KServeRest::repository_index() const {
  json out = json::array();
  for (const IndexEntry& e : server_.repository().index()) {
    json entry = {{"name", e.name}, {"state", e.state}};
    if (!e.version.empty()) entry["version"] = e.version;
    if (!e.reason.empty()) entry["reason"] = e.reason;
    out.push_back(entry);
  }
  return json_response(200, out);
}

void KServeRest::infer(const std::string& name, const std::string& version, RestRequest request,
                       RestCallback done) const {
  auto parsed = parse_infer_request(request.body, request.json_length, limits_, &server_.shared_memory());
  if (!parsed) return done(error_response(400, parsed.status().message()));
  parsed->model = name;
  parsed->version = version;
  OutputFormat format{parsed->outputs, parsed->all_outputs_binary};
  server_.infer(std::move(*parsed), [format = std::move(format), done = std::move(done)](InferenceOutcome o) {
    if (!o.ok()) return done(error_response(http_status(o.error->kind), o.error->message));
    if (Status s = write_shared_memory_outputs(o.response, format.outputs); !s.is_ok())
      return done(error_response(400, s.message()));
    EncodedBody encoded = encode_infer_response(o.response, format);
    done({200, std::move(encoded.content_type), std::move(encoded.body), encoded.json_length,
          std::move(encoded.binary)});
  });
}

}  // namespace ecoinfer::serve::protocol
