// The HTTP/1.1 front end: Boost.Beast, asynchronous, one io_context run by a
// few I/O threads, so thousands of keep-alive connections cost memory, not
// threads. Requests go to the KServe REST layer; this file owns only HTTP
// matters: body size limit (413), bearer-token auth (401), keep-alive, and
// graceful shutdown on SIGTERM/SIGINT.
//
//   HttpServer http(rest, {.address = "127.0.0.1", .port = 0});
//   auto port = http.listen();           // binds; port 0 picks a free one
//   http.run();                          // returns after a signal, once in-flight requests are answered
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ecoinfer/status.h"
#include "serve/protocol/kserve_rest.h"

namespace ecoinfer::serve::http {

struct HttpOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 8000;
  int io_threads = 2;
  size_t max_body_bytes = 64 << 20;  // larger bodies get 413
  std::string auth_token;            // "" = no auth; else "Authorization: Bearer <token>" on all but /v2/health/*
  int idle_timeout_seconds = 300;    // a keep-alive connection silent this long is closed
  // Called once when shutdown begins, e.g. to run queued requests without waiting for fuller batches.
  std::function<void()> on_drain;
};

class HttpServer {
 public:
  HttpServer(const protocol::KServeRest& rest, HttpOptions options);
  ~HttpServer();
  // Binds and listens; returns the bound port.
  Expected<uint16_t> listen();
  // Serves until SIGTERM or SIGINT (or stop()), then stops accepting, waits
  // until every request already received has been answered, and returns.
  void run();
  // The same as receiving SIGTERM; callable from any thread.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecoinfer::serve::http
