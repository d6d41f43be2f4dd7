// A Beast body type for responses that are a JSON part followed by binary
// tensors each in its own memory (protocol::RestResponse). The serializer
// hands the header, the JSON and every tensor to one gathered write
// (sendmsg with an iovec per part), so a 1 MB output goes from the tensor
// to the socket without being copied into a response string first.
//
//   bhttp::response<GatherBody> res{bhttp::status::ok, 11};
//   res.body().head = std::move(json);
//   res.body().chunks = std::move(binary_chunks);
//   res.prepare_payload();   // Content-Length = head + chunks
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "serve/protocol/kserve_infer.h"

namespace ecoinfer::serve::http {

struct GatherBody {
  struct value_type {
    std::string head;
    std::vector<protocol::BinaryChunk> chunks;  // sent after head, in order
    void clear() {
      head.clear();
      chunks.clear();
    }
  };

  static std::uint64_t size(const value_type& body) {
    std::uint64_t n = body.head.size();
    for (const protocol::BinaryChunk& c : body.chunks) n += c.view().size();
    return n;
  }

  class writer {
   public:
    using const_buffers_type = std::vector<boost::asio::const_buffer>;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    // Everything at once: the body is already in memory.
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (done_) return boost::none;
      done_ = true;
      const_buffers_type buffers;
      buffers.reserve(1 + body_.chunks.size());
      if (!body_.head.empty()) buffers.emplace_back(body_.head.data(), body_.head.size());
      for (const protocol::BinaryChunk& c : body_.chunks) {
        const std::string_view v = c.view();
        if (!v.empty()) buffers.emplace_back(v.data(), v.size());
      }
      return {{std::move(buffers), false}};
    }

   private:
    const value_type& body_;
    bool done_ = false;
  };
};

}  // namespace ecoinfer::serve::http
