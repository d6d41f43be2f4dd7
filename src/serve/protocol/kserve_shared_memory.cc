// Triton's system shared memory extension endpoints, part of KServeRest:
//   POST /v2/systemsharedmemory/region/{name}/register  {"key", "offset", "byte_size"}
//   POST /v2/systemsharedmemory[/region/{name}]/unregister
//   GET  /v2/systemsharedmemory[/region/{name}]/status
// The regions themselves live in the server's SharedMemoryRegistry.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "serve/protocol/kserve_rest.h"

namespace ecoinfer::serve::protocol {
namespace {

using nlohmann::json;

RestResponse json_reply(int status, const json& body) {
  return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}
RestResponse error_reply(int status, std::string_view message) {
  return {status, "application/json", error_body(message), {}};
}

json region_status(const SharedMemoryRegionInfo& r) {
  return {{"name", r.name}, {"key", r.key}, {"offset", r.offset}, {"byte_size", r.byte_size}};
}

// The register body: {"key": "/name", "offset": 0, "byte_size": N}.
Expected<SharedMemoryRegionInfo> parse_register_body(const std::string& name, std::string_view body) {
  const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  const auto usage = [&](std::string_view what) {
    return invalid_argument(fmt::format("registering shared memory region '{}': {}; send {{\"key\": \"/shm_key\", "
                                        "\"offset\": 0, \"byte_size\": N}}", name, what));
  };
  if (j.is_discarded() || !j.is_object()) return usage("the body is not a JSON object");
  if (!j.contains("key") || !j["key"].is_string() || j["key"].get<std::string>().empty())
    return usage("\"key\" (the shm_open name) is missing");
  const auto size_field = [&](const char* field) -> std::optional<size_t> {
    if (!j.contains(field)) return std::nullopt;
    if (!j[field].is_number_unsigned()) return std::nullopt;
    return j[field].get<size_t>();
  };
  if (j.contains("offset") && !size_field("offset")) return usage("\"offset\" must be an integer >= 0");
  if (!size_field("byte_size")) return usage("\"byte_size\" must be an integer > 0");
  return SharedMemoryRegionInfo{name, j["key"].get<std::string>(), size_field("offset").value_or(0),
                                *size_field("byte_size")};
}

}  // namespace

// `p`: the path's parts, starting "v2", "systemsharedmemory".
RestResponse KServeRest::shared_memory(const RestRequest& request, const std::vector<std::string>& p) const {
  SharedMemoryRegistry& registry = server_.shared_memory();
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  const std::string path = request.target.substr(0, request.target.find('?'));
  const auto not_allowed = [&] { return error_reply(405, fmt::format("{} is not allowed on {}", request.method, path)); };
  if (p.size() == 3 && p[2] == "status") {
    if (!get) return not_allowed();
    json all = json::array();
    for (const SharedMemoryRegionInfo& r : registry.status()) all.push_back(region_status(r));
    return json_reply(200, all);
  }
  if (p.size() == 3 && p[2] == "unregister") {
    if (!post) return not_allowed();
    registry.unregister_all();
    return json_reply(200, json::object());
  }
  if (p.size() == 5 && p[2] == "region") {
    const std::string& name = p[3];
    if (p[4] == "status") {
      if (!get) return not_allowed();
      std::shared_ptr<SharedMemoryRegion> region = registry.find(name);
      if (!region) return error_reply(404, fmt::format("no shared memory region '{}' is registered", name));
      return json_reply(200, json::array({region_status(region->info())}));
    }
    if (p[4] == "register") {
      if (!post) return not_allowed();
      auto info = parse_register_body(name, request.body.view());
      if (!info) return error_reply(400, info.status().message());
      if (Status s = registry.register_region(std::move(*info)); !s.is_ok()) return error_reply(400, s.message());
      return json_reply(200, json::object());
    }
    if (p[4] == "unregister") {
      if (!post) return not_allowed();
      registry.unregister(name);
      return json_reply(200, json::object());
    }
  }
  return error_reply(404, fmt::format("no endpoint {} {}; see docs/SERVING.md (\"System shared memory\")",
                                      request.method, path));
}

}  // namespace ecoinfer::serve::protocol
