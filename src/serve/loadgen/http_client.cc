// Beast's asynchronous operations driven to completion one at a time on a
// private io_context: that is how tcp_stream's deadlines apply (its
// synchronous calls ignore them) while the client stays synchronous to use.
#include "serve/loadgen/http_client.h"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace ecoinfer::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpUrl::to_string() const { return fmt::format("http://{}:{}{}", host, port, base_path); }

Expected<HttpUrl> parse_http_url(std::string_view url) {
  const auto bad = [&](std::string_view what) {
    return invalid_argument(fmt::format("URL '{}': {}; expected http://host[:port], e.g. http://127.0.0.1:8000", url, what));
  };
  if (url.starts_with("https://")) return bad("https is not supported (put a TLS proxy in front, or use http)");
  if (!url.starts_with("http://")) return bad("does not start with http://");
  std::string_view rest = url.substr(7);
  HttpUrl out;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    out.base_path = std::string(rest.substr(slash));
    while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
    rest = rest.substr(0, slash);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    out.port = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (out.port.empty() || out.port.size() > 5 || out.port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(out.port) < 1 || std::stoi(out.port) > 65535) {
      return bad("the port is not a number in 1-65535");
    }
  }
  if (rest.empty()) return bad("no host");
  out.host = std::string(rest);
  return out;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, beast::string_view(name.data(), name.size()))) return v;
  }
  return std::nullopt;
}

// Read-buffer room reserved for a response body at most (bigger bodies are
// read in several pieces of this size).
constexpr uint64_t kMaxReadRoom = 16 << 20;

struct HttpClient::Impl {
  HttpUrl url;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  std::string describe(const beast::error_code& ec) const {
    return ec == beast::error::timeout ? fmt::format("timed out after {} ms", timeout.count()) : ec.message();
  }

  Status connect() {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return {kUnreachable, fmt::format("cannot resolve {}: {}", url.host, ec.message())};
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    ioc.restart();
    ioc.run();
    if (ec) {
      return {kUnreachable, fmt::format("cannot connect to {}: {}", url.to_string(), describe(ec))};
    }
    stream.socket().set_option(tcp::no_delay(true), ec);  // small requests: do not wait to coalesce
    buffer.clear();
    connected = true;
    return Status::ok();
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    connected = false;
  }

  beast::error_code exchange(http::request<http::string_body>& req, http::response_parser<http::string_body>& parser) {
    beast::error_code ec;
    stream.expires_after(timeout);
    http::async_write(stream, req, [&](const beast::error_code& e, size_t) {
      ec = e;
      if (e) return;
      http::async_read_header(stream, buffer, parser, [&](const beast::error_code& e2, size_t) {
        ec = e2;
        if (e2) return;
        // Beast reads at most the buffer's free room per call: without room
        // for the body, a 1 MB rec response took thousands of small reads
        // and inflated the latencies the loadgen reports.
        if (auto length = parser.content_length(); length && *length > buffer.capacity() - buffer.size())
          buffer.reserve(buffer.size() + static_cast<size_t>(std::min<uint64_t>(*length, kMaxReadRoom)));
        http::async_read(stream, buffer, parser, [&](const beast::error_code& e3, size_t) { ec = e3; });
      });
    });
    ioc.restart();
    ioc.run();
    return ec;
  }

  Expected<HttpResponse> send(http::verb verb, const std::string& target, std::string body,
                              const std::string& content_type,
                              const std::vector<std::pair<std::string, std::string>>& extra_headers) {
    http::request<http::string_body> req{verb, url.base_path + target, 11};
    req.set(http::field::host, url.host + ":" + url.port);
    req.set(http::field::user_agent, "ecoinfer-loadgen");
    req.keep_alive(true);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    for (const auto& [k, v] : extra_headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    for (int attempt = 0;; ++attempt) {
      const bool fresh = !connected;
      if (fresh) ECOINFER_RETURN_IF_ERROR(connect());
      http::response_parser<http::string_body> parser;
      parser.body_limit(size_t{1} << 31);
      beast::error_code ec = exchange(req, parser);
      if (!ec) {
        auto& res = parser.get();
        HttpResponse out{static_cast<int>(res.result_int()), std::move(res.body()), {}};
        for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        if (!parser.keep_alive()) close();
        return out;
      }
      close();
      // A kept-alive connection the server closed meanwhile fails at once
      // (end of stream, reset): reopen it once. Anything else is the answer.
      if (fresh || attempt > 0 || ec == beast::error::timeout) {
        return io_error(fmt::format("{} {}{}: {}", std::string(http::to_string(verb)), url.to_string(), target,
                                    describe(ec)));
      }
    }
  }
};

HttpClient::HttpClient(HttpUrl url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(url);
  impl_->timeout = timeout;
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Expected<HttpResponse> HttpClient::get(const std::string& target) {
  return impl_->send(http::verb::get, target, {}, {}, {});
}

Expected<HttpResponse> HttpClient::post(const std::string& target, std::string body, const std::string& content_type,
                                        const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  return impl_->send(http::verb::post, target, std::move(body), content_type, extra_headers);
}

}  // namespace ecoinfer::serve
