// A small synchronous HTTP/1.1 client with a keep-alive connection, for the
// loadgen (one client per simulated user) and for tests that talk to
// `ecoinfer serve`. Every call has a deadline; a connection the server closed
// while idle is reopened once, transparently.
//
//   auto url = parse_http_url("http://127.0.0.1:8000");
//   HttpClient client(*url, std::chrono::seconds(5));
//   auto r = client.get("/v2/health/ready");
//   if (!r) { ... r.status().message() says why (refused, timeout...) }
//   if (r->status == 200) ...
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::serve {

struct HttpUrl {
  std::string host;
  std::string port = "80";
  std::string base_path;  // "" or "/prefix" (no trailing slash), prepended to every target
  std::string to_string() const;
};

// "http://host[:port][/prefix]". https is refused with a clear message.
Expected<HttpUrl> parse_http_url(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

class HttpClient {
 public:
  HttpClient(HttpUrl url, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  Expected<HttpResponse> get(const std::string& target);
  // extra_headers: e.g. {"Inference-Header-Content-Length", "123"}.
  Expected<HttpResponse> post(const std::string& target, std::string body, const std::string& content_type,
                              const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

  // Failures of connect (refused, unresolvable, timed out) carry this code,
  // so callers can tell "no server there" from a failure mid-request.
  static constexpr StatusCode kUnreachable = StatusCode::kIoError;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecoinfer::serve
