// Base64 (RFC 4648, standard alphabet), for BYTES elements that have to
// travel as JSON text: a JSON string holds UTF-8 text, not raw bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ecoinfer::serve {

// The decoded bytes, or nothing when `text` is not base64 (a character
// outside the alphabet, bad padding). Whitespace (line breaks) is skipped.
std::optional<std::string> decode_base64(std::string_view text);

// `bytes` as base64 text with '=' padding and no line breaks.
std::string encode_base64(std::string_view bytes);

}  // namespace ecoinfer::serve
