// The KServe v2 REST endpoints (plus Triton's repository index and GET
// /metrics) over the InferenceServer. Knows URLs, status codes and JSON, but
// not sockets: the HTTP front end (serve/http) hands it RestRequests.
//
//   KServeRest rest(server, {.max_elements = 1 << 26});
//   rest.handle({"POST", "/v2/models/cls/infer", RequestBody::copy_of(json), std::nullopt},
//               [](RestResponse r) { send(r.body); for (auto& c : r.binary) send(c.view()); });
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "serve/inference_server.h"
#include "serve/protocol/kserve_infer.h"

namespace ecoinfer::serve::protocol {

struct RestRequest {
  std::string method;  // "GET", "POST"
  std::string target;  // path and optional query
  RequestBody body;  // binary input tensors may stay views of it
  std::optional<size_t> json_length;  // Inference-Header-Content-Length
};

struct RestResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::optional<size_t> json_length;  // sent as Inference-Header-Content-Length
  std::vector<BinaryChunk> binary;    // sent after `body`, each from its own memory (no copy into one string)
};

using RestCallback = std::function<void(RestResponse)>;

// HTTP status for a failed inference.
int http_status(ErrorKind kind);

class KServeRest {
 public:
  KServeRest(InferenceServer& server, ParseLimits limits) : server_(server), limits_(limits) {}
  // Calls `done` exactly once, maybe on a model's worker thread.
  void handle(RestRequest request, RestCallback done) const;

 private:
  RestResponse server_metadata() const;
  RestResponse model_metadata(const std::string& name, const std::string& version) const;
  RestResponse model_ready(const std::string& name, const std::string& version) const;
  RestResponse repository_index() const;
  void infer(const std::string& name, const std::string& version, RestRequest request, RestCallback done) const;
  // /v2/systemsharedmemory/... (kserve_shared_memory.cc)
  RestResponse shared_memory(const RestRequest& request, const std::vector<std::string>& path_parts) const;

  InferenceServer& server_;
  ParseLimits limits_;
};

}  // namespace ecoinfer::serve::protocol
