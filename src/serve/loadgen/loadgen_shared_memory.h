// The loadgen's `--shared-memory system` mode, as perf_analyzer's: tensors
// travel through POSIX shared memory registered with the server (Triton's
// system shared memory extension) instead of the HTTP bodies. One input
// segment holds every distinct request's input tensors (the server only
// reads it); each client has its own output segment, so concurrent answers
// never overlap. Output sizes come from one binary warm-up request, and one
// shared memory request of the same input must give the same output bytes
// before any level runs.
//
//   HttpClient control(url, timeout);
//   auto shm = LoadgenSharedMemory::open(control, "/v2/models/rec/infer", data, /*clients=*/4);
//   if (!shm) { ... shm.status().message() ... }
//   InferBody b = (*shm)->body(client, i);   // a small JSON body naming the regions
//   // destruction unregisters the regions; the segments' names are gone already
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serve/loadgen/http_client.h"
#include "serve/loadgen/request_builder.h"
#include "serve/loadgen/shm_segment.h"

namespace ecoinfer::serve {

// One request's input data (the loadgen cycles through several).
struct RequestData {
  std::vector<NamedTensor> tensors;
  std::vector<std::pair<std::string, std::string>> bytes;  // BYTES inputs, one element each
};

class LoadgenSharedMemory {
 public:
  // Errors: the server does not list the system_shared_memory extension,
  // a BYTES input or output (their sizes vary per request), the warm-up or
  // the check request fails, or the outputs differ from the binary ones.
  static Expected<std::unique_ptr<LoadgenSharedMemory>> open(HttpClient& control, const std::string& infer_path,
                                                             const std::vector<RequestData>& data, int clients);
  ~LoadgenSharedMemory();  // unregisters the regions (best effort)
  LoadgenSharedMemory(const LoadgenSharedMemory&) = delete;
  LoadgenSharedMemory& operator=(const LoadgenSharedMemory&) = delete;

  // Client `client`'s request for data[index]: inputs and outputs name regions.
  const InferBody& body(size_t client, size_t index) const { return bodies_[client][index]; }
  size_t bodies_per_client() const { return bodies_.empty() ? 0 : bodies_.front().size(); }

 private:
  struct OutputSlot {
    std::string name;
    size_t byte_size = 0;
    size_t offset = 0;  // in each client's output segment
  };
  explicit LoadgenSharedMemory(HttpClient& control) : control_(control) {}
  Status register_segment(const std::string& region, ShmSegment& segment);
  Status check_against_binary(const std::string& infer_path, const std::string& expected_outputs);

  HttpClient& control_;
  std::vector<std::string> registered_;
  ShmSegment inputs_;
  std::vector<ShmSegment> outputs_;     // one per client
  std::vector<OutputSlot> output_slots_;
  std::vector<std::vector<InferBody>> bodies_;  // [client][data index]
};

}  // namespace ecoinfer::serve
