// The response cache's key: a 64-bit XXH3 hash of everything that decides a
// response. Two requests with equal keys get the same outputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecoinfer/session.h"
#include "serve/inference_request.h"

namespace ecoinfer::serve {

// XXH3-64 over model, version, requested output names, and each input's name,
// dtype, shape and bytes. Every field is length-prefixed, so ("ab", "c") and
// ("a", "bc") differ. Inputs are hashed in name order (the order a client
// lists them in does not change the response); requested outputs keep their
// order (it is the order of the response). BYTES inputs follow, also in name
// order: name, shape, then every element length-prefixed, so ["ab", "c"]
// and ["a", "bc"] differ (a request without them hashes as before).
uint64_t response_cache_key(std::string_view model, std::string_view version,
                            const std::vector<std::string>& requested_outputs,
                            const std::vector<NamedTensor>& inputs,
                            const std::vector<BytesTensor>& bytes_inputs = {});

}  // namespace ecoinfer::serve
