#include "serve/http/http_server.h"

#include <charconv>
#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "serve/http/gather_body.h"

namespace ecoinfer::serve::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  const protocol::KServeRest& rest;
  HttpOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  net::steady_timer drain_timer{ioc};
  std::atomic<int> in_flight{0};  // requests received and not yet answered
  std::atomic<bool> draining{false};

  Impl(const protocol::KServeRest& r, HttpOptions o) : rest(r), options(std::move(o)) {}
  void accept();
  void begin_drain();
  void wait_for_in_flight();
};

namespace {

constexpr size_t kIdleReadBuffer = 64 << 10;
constexpr int kSendBufferBytes = 4 << 20;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<GatherBody>;

// Inference-Header-Content-Length: where the JSON ends and binary tensors
// begin. nullopt when absent; an error when present but not a byte count.
Expected<std::optional<size_t>> inference_header_length(const Request& request) {
  auto it = request.find("Inference-Header-Content-Length");
  if (it == request.end()) return std::optional<size_t>();
  size_t n = 0;
  const std::string_view v(it->value().data(), it->value().size());
  auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (err != std::errc() || end != v.data() + v.size())
    return invalid_argument("Inference-Header-Content-Length must be a byte count");
  return std::optional<size_t>(n);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server) : stream_(std::move(socket)), server_(server) {}
  void start() { read(); }

 private:
  void read();
  void on_header(beast::error_code ec);
  void read_body();
  void read_body_in_place(size_t length);
  void on_read(beast::error_code ec);
  void dispatch(Request request, protocol::RequestBody body);
  void answer(Response response);
  void on_answered(beast::error_code ec, bool keep_alive);
  void reply_and_close(bhttp::status status, std::string body);
  void discard_rest();
  bool authorized(const Request& request) const;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  protocol::RequestBody body_;  // the body being read in place (read_body_in_place)
  HttpServer::Impl& server_;
  std::array<char, 16384> discard_{};
};

Response make_response(bhttp::status status, std::string content_type, std::string body, unsigned version,
                       std::vector<protocol::BinaryChunk> binary = {}) {
  Response res{status, version};
  res.set(bhttp::field::server, "ecoinfer");
  res.set(bhttp::field::content_type, content_type);
  res.body().head = std::move(body);
  res.body().chunks = std::move(binary);
  res.prepare_payload();
  return res;
}

void Session::read() {
  parser_.emplace();
  parser_->body_limit(server_.options.max_body_bytes);
  stream_.expires_after(std::chrono::seconds(server_.options.idle_timeout_seconds));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

// curl and other clients send "Expect: 100-continue" before a large body and
// wait (curl: 1 s) for the go-ahead: give it, then read the body.
void Session::on_header(beast::error_code ec) {
  if (ec) return on_read(ec);
  auto expect = parser_->get().find(bhttp::field::expect);
  if (expect == parser_->get().end() || !beast::iequals(expect->value(), "100-continue")) return read_body();
  auto go_ahead = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
  bhttp::async_write(stream_, *go_ahead, [self = shared_from_this(), go_ahead](beast::error_code ec, size_t) {
    if (ec) return self->on_read(ec);
    self->read_body();
  });
}

// A body of known length (the header passed the size limit) is read
// straight into its final memory; chunked bodies go through Beast's parser.
void Session::read_body() {
  if (auto length = parser_->content_length(); length && *length > 0)
    return read_body_in_place(static_cast<size_t>(*length));
  bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->on_read(ec);
  });
}

// One allocation, one kernel copy per received segment, no copy after: the
// bytes already buffered behind the header are moved over, the rest is read
// into place. The first binary tensor lands 64-byte aligned so the model can
// read it where it is (protocol::RequestBody).
void Session::read_body_in_place(size_t length) {
  auto json_length = inference_header_length(parser_->get());
  body_ = protocol::RequestBody::with_room(length, json_length && *json_length ? **json_length : 0);
  const size_t buffered = std::min(buffer_.size(), length);
  net::buffer_copy(net::buffer(body_.data(), buffered), buffer_.data());
  buffer_.consume(buffered);
  auto on_body = [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->on_read(ec);
    self->dispatch(self->parser_->release(), std::move(self->body_));
  };
  if (buffered == length) return on_body({}, 0);
  net::async_read(stream_, net::buffer(body_.data() + buffered, length - buffered), std::move(on_body));
}

void Session::on_read(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) {
    return reply_and_close(bhttp::status::payload_too_large,
                           protocol::error_body(fmt::format("request body is larger than this server's limit of {} "
                                                            "bytes; send smaller requests", server_.options.max_body_bytes)));
  }
  if (ec) {  // end of stream, timeout, reset: the client is gone
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return;
  }
  // Idle keep-alive connections should not each hold a large buffer.
  if (buffer_.capacity() > kIdleReadBuffer && buffer_.size() == 0) buffer_.shrink_to_fit();
  Request request = parser_->release();
  auto body = request.body().empty() ? protocol::RequestBody() : protocol::RequestBody::copy_of(request.body());
  request.body().clear();
  dispatch(std::move(request), std::move(body));
}

bool Session::authorized(const Request& request) const {
  if (server_.options.auth_token.empty()) return true;
  const std::string_view target(request.target().data(), request.target().size());
  if (target.starts_with("/v2/health/")) return true;
  auto it = request.find(bhttp::field::authorization);
  return it != request.end() && it->value() == "Bearer " + server_.options.auth_token;
}

void Session::dispatch(Request request, protocol::RequestBody body) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (!authorized(request)) {
    auto res = make_response(bhttp::status::unauthorized, "application/json",
                             protocol::error_body("missing or wrong bearer token; send 'Authorization: Bearer <token>' "
                                                  "with the token the server was started with"), version);
    res.set(bhttp::field::www_authenticate, "Bearer");
    res.keep_alive(keep_alive);
    ++server_.in_flight;
    return answer(std::move(res));
  }
  protocol::RestRequest rest;
  rest.method = std::string(request.method_string());
  rest.target = std::string(request.target());
  auto json_length = inference_header_length(request);
  if (!json_length) return reply_and_close(bhttp::status::bad_request, protocol::error_body(json_length.status().message()));
  rest.json_length = *json_length;
  rest.body = std::move(body);
  ++server_.in_flight;
  stream_.expires_never();  // the model may take its time; the client waits
  const bool head = request.method() == bhttp::verb::head;
  auto reply = [self = shared_from_this(), version, keep_alive, head](protocol::RestResponse r) {
    auto res = make_response(static_cast<bhttp::status>(r.status), std::move(r.content_type), std::move(r.body),
                             version, std::move(r.binary));
    if (r.json_length) res.set("Inference-Header-Content-Length", std::to_string(*r.json_length));
    res.keep_alive(keep_alive);
    if (head) res.body().clear();
    self->answer(std::move(res));
  };
  try {  // a handler never throws past here: one bad request must not take the server down
    server_.rest.handle(std::move(rest), reply);
  } catch (const std::exception& e) {
    spdlog::error("request {} failed: {}", std::string(request.target()), e.what());
    reply({500, "application/json", protocol::error_body(std::string("internal error: ") + e.what()), {}});
  }
}

// Called by whichever thread has the answer, mostly a model's worker. The
// connection is idle while its request is in flight (no read pending, its
// timer off), so that thread writes the answer itself, as far as the socket
// takes it without waiting: waking an I/O thread to write would cost tens of
// microseconds, milliseconds when the cores are busy. What the socket does
// not take at once (a slow client), the connection's I/O strand writes.
void Session::answer(Response response) {
  if (server_.draining) response.keep_alive(false);
  auto res = std::make_shared<Response>(std::move(response));
  auto serializer = std::make_shared<bhttp::response_serializer<GatherBody>>(*res);
  beast::error_code ec;
  while (!ec && !serializer->is_done()) bhttp::write_some(stream_.socket(), *serializer, ec);  // non-blocking socket
  net::post(stream_.get_executor(), [self = shared_from_this(), res, serializer, ec] {
    if (ec != net::error::would_block) return self->on_answered(ec, res->keep_alive());
    bhttp::async_write(self->stream_, *serializer, [self, res, serializer](beast::error_code ec, size_t) {
      self->on_answered(ec, res->keep_alive());
    });
  });
}

void Session::on_answered(beast::error_code ec, bool keep_alive) {
  --server_.in_flight;
  if (ec || !keep_alive) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  read();
}

// For errors found before the body was read (413): answer, then read and
// drop what the client still sends, so closing does not reset the
// connection before the client has read the answer.
void Session::reply_and_close(bhttp::status status, std::string body) {
  auto res = std::make_shared<Response>(make_response(status, "application/json", std::move(body), 11));
  res->keep_alive(false);
  bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    if (ec) return;
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    self->stream_.expires_after(std::chrono::seconds(5));
    self->discard_rest();
  });
}

void Session::discard_rest() {
  stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (!ec) self->discard_rest();
  });
}

}  // namespace

namespace {

// Answers are written in one gathered write: without Nagle's algorithm its
// last partial segment goes out at once instead of after the client's ACK,
// and a send buffer that holds a whole large answer (a 1 MB output) lets the
// kernel take it in one call, so the I/O thread is not woken again to write
// the rest. The buffer is a bound, not an allocation: idle connections cost
// nothing for it.
void configure(tcp::socket& socket) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);  // Session::answer writes without waiting; async operations are unaffected
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(net::socket_base::send_buffer_size(kSendBufferBytes), ignored);
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      configure(socket);
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

void HttpServer::Impl::begin_drain() {
  if (draining.exchange(true)) return;
  spdlog::info("ecoinfer serve: stopping: no new connections, finishing {} request(s) in flight", in_flight.load());
  beast::error_code ignored;
  acceptor.close(ignored);
  if (options.on_drain) options.on_drain();
  wait_for_in_flight();
}

void HttpServer::Impl::wait_for_in_flight() {
  if (in_flight.load() == 0) {
    ioc.stop();  // idle keep-alive connections are dropped with the context
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(5));
  drain_timer.async_wait([this](beast::error_code) { wait_for_in_flight(); });
}

HttpServer::HttpServer(const protocol::KServeRest& rest, HttpOptions options)
    : impl_(std::make_unique<Impl>(rest, std::move(options))) {}

HttpServer::~HttpServer() = default;

Expected<uint16_t> HttpServer::listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec) return invalid_argument(fmt::format("--http-address '{}' is not an IP address", impl_->options.address));
  tcp::endpoint endpoint{address, impl_->options.port};
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return io_error(fmt::format("cannot listen on {}:{}: {}; pick another --http-port or stop what uses it",
                                impl_->options.address, impl_->options.port, ec.message()));
  return a.local_endpoint().port();
}

void HttpServer::run() {
  Impl& s = *impl_;
  s.signals.async_wait([&s](beast::error_code ec, int) {
    if (!ec) s.begin_drain();
  });
  s.accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, s.options.io_threads); ++i) threads.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (std::thread& t : threads) t.join();
}

void HttpServer::stop() {
  net::post(impl_->ioc, [s = impl_.get()] { s->begin_drain(); });
}

}  // namespace ecoinfer::serve::http
