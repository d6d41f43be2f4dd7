// Triton's binary form of one BYTES element, shared by the server (responses)
// and the load generator (requests): the element's length as a 4-byte
// little-endian unsigned integer, then its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ecoinfer::serve {

inline constexpr size_t kBinaryElementPrefix = 4;

inline void append_binary_element(std::string& out, std::string_view element) {
  const auto length = static_cast<uint32_t>(element.size());
  const char prefix[kBinaryElementPrefix] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8 & 0xff),
                                             static_cast<char>(length >> 16 & 0xff), static_cast<char>(length >> 24)};
  out.append(prefix, kBinaryElementPrefix);
  out.append(element);
}

}  // namespace ecoinfer::serve
