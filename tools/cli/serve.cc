// ecoinfer serve --model-repository DIR: the KServe v2 / Triton-compatible
// HTTP inference server (src/serve), with dynamic batching, a response cache,
// Prometheus metrics with energy and carbon, and graceful shutdown.
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "serve/http/http_server.h"
#include "serve/inference_server.h"
#include "serve/protocol/kserve_rest.h"

namespace ecoinfer::cli {
namespace {

struct ServeOptions {
  std::string model_repository;
  int http_port = 8000;
  std::string http_address = "0.0.0.0";
  int threads = 0;
  int io_threads = 2;
  size_t cache_bytes = 64 << 20;
  std::string redis;
  size_t redis_connections = 4;
  std::string auth_token_file;
  std::string region;
  size_t max_body_bytes = 64 << 20;
  int64_t max_elements = int64_t{1} << 26;
};

Expected<std::string> read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) return io_error(fmt::format("cannot read --auth-token-file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) return invalid_argument(fmt::format("--auth-token-file {} is empty", path));
  return token;
}

// Each keep-alive connection is a file descriptor: allow as many as the hard limit.
void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int run_serve(const ServeOptions& o) {
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  std::string token;
  if (!o.auth_token_file.empty()) {
    auto t = read_token(o.auth_token_file);
    if (!t) return fail(t.status().message());
    token = *t;
  }
  raise_open_file_limit();
  serve::ServerOptions so;
  so.model_repository = o.model_repository;
  so.threads = o.threads;
  so.cache_bytes = o.cache_bytes;
  so.redis_url = o.redis;
  so.redis_connections = o.redis_connections;
  so.region = o.region;
  auto server = serve::InferenceServer::create(so);
  if (!server) return fail(server.status().message());
  serve::protocol::KServeRest rest(**server, {.max_elements = o.max_elements});
  serve::http::HttpServer http(rest, {.address = o.http_address,
                                      .port = static_cast<uint16_t>(o.http_port),
                                      .io_threads = o.io_threads,
                                      .max_body_bytes = o.max_body_bytes,
                                      .auth_token = token,
                                      .on_drain = [&server] { (*server)->flush(); }});
  auto port = http.listen();
  if (!port) return fail(port.status().message());
  std::printf("ecoinfer serve: listening on http://%s:%u\n", o.http_address.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  http.run();
  (*server)->shutdown();
  spdlog::info("ecoinfer serve: stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* sub = app.add_subcommand(
      "serve",
      "Serve the models of a repository over HTTP with the KServe v2 (Triton) protocol.\n"
      "  DIR/<model>/<version>/model.onnx, optional DIR/<model>/config.json (docs/SERVING.md).\n"
      "  A version folder holding pipeline.json instead serves the OCR pipeline (encoded images in, text out).\n"
      "  ecoinfer serve --model-repository models/ --http-port 8000\n"
      "  curl localhost:8000/v2/models/cls    curl localhost:8000/metrics\n"
      "SIGTERM or SIGINT: stop accepting, answer what was received, exit 0.");
  sub->add_option("--model-repository", o->model_repository, "folder of models (DIR/<model>/<version>/model.onnx)")
      ->required();
  sub->add_option("--http-port", o->http_port, "TCP port; 0 picks a free one (printed at start)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--http-address", o->http_address, "address to listen on (127.0.0.1: this machine only)");
  sub->add_option("--threads", o->threads,
                  "intra-op threads per model run unless its config.json says (0: all cores); models with more "
                  "than one share compute lanes, one OpenMP team per lane within the CPUs (docs/SERVING.md)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--io-threads", o->io_threads, "threads running the HTTP connections (1-2 are plenty)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--cache-bytes", o->cache_bytes,
                  "response cache size in bytes for models with \"response_cache\": true (0: no cache)");
  sub->add_option("--redis", o->redis, "shared response cache for replicas, redis://host:port[/db]; the local cache "
                                       "stays as first level and fallback");
  sub->add_option("--redis-connections", o->redis_connections,
                  "most connections to Redis, opened as concurrent requests need them (default 4)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--auth-token-file", o->auth_token_file,
                  "require 'Authorization: Bearer <token>' (the file's content) on every endpoint but /v2/health/*");
  sub->add_option("--region", o->region, "grid region for the carbon metric (e.g. FR, us-east-1); default world average");
  sub->add_option("--max-body-bytes", o->max_body_bytes, "larger request bodies get 413")->check(CLI::PositiveNumber);
  sub->add_option("--max-elements", o->max_elements, "most tensor elements per request (400 above)")
      ->check(CLI::PositiveNumber);
  commands.emplace_back(sub, [o] { return run_serve(*o); });
}

}  // namespace ecoinfer::cli
