#include "serve/loadgen/loadgen_shared_memory.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ecoinfer::serve {
namespace {

using nlohmann::json;
constexpr size_t kAlignment = 64;  // each tensor starts on a cache line, as an engine's buffers do

size_t align_up(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Unique per process and per run, so that concurrent loadgens (and tests) never collide.
std::string region_prefix() {
  static std::atomic<int> runs{0};
  return fmt::format("ecoinfer_loadgen_{}_{}", getpid(), runs++);
}

Status require_extension(HttpClient& control) {
  ECOINFER_ASSIGN_OR_RETURN(HttpResponse r, control.get("/v2"));
  const json meta = r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  if (meta.is_object() && meta.contains("extensions") && meta["extensions"].is_array()) {
    for (const json& e : meta["extensions"])
      if (e == "system_shared_memory") return Status::ok();
  }
  return unimplemented(fmt::format("--shared-memory system: the server does not offer Triton's system shared memory "
                                   "extension (GET /v2 answered {}{}); run without --shared-memory, or use --binary",
                                   r.status, r.status == 200 ? " without system_shared_memory in its extensions" : ""));
}

struct BinaryOutputs {
  std::vector<std::pair<std::string, size_t>> sizes;  // name, bytes, in the answer's order
  std::string bytes;                                  // every output's bytes, concatenated
};

// One binary request of the first input: the outputs' names and sizes (a
// dynamic output shape, like rec's width, is known only from an answer).
Expected<BinaryOutputs> binary_outputs(HttpClient& control, const std::string& infer_path, const RequestData& data) {
  const InferBody body = make_infer_body(data.tensors, {}, /*binary=*/true);
  ECOINFER_ASSIGN_OR_RETURN(HttpResponse r, control.post(infer_path, body.body, body.content_type, body.headers));
  if (r.status != 200)
    return invalid_argument(fmt::format("--shared-memory system: the warm-up request (binary tensors) answered {}: {}",
                                        r.status, r.body.substr(0, 300)));
  const size_t json_length = std::stoul(r.header("Inference-Header-Content-Length").value_or("0"));
  const json header = json::parse(r.body.substr(0, json_length ? json_length : r.body.size()), nullptr, false);
  if (!header.is_object() || !header.contains("outputs") || !header["outputs"].is_array())
    return invalid_argument("--shared-memory system: the warm-up answer is not a KServe v2 response (no outputs)");
  BinaryOutputs out;
  for (const json& o : header["outputs"]) {
    const std::string name = o.value("name", "");
    if (o.value("datatype", "") == "BYTES")
      return unimplemented(fmt::format("--shared-memory system: output '{}' is BYTES, whose size varies per request; "
                                       "use --binary for this model", name));
    if (!o.contains("parameters") || !o["parameters"].contains("binary_data_size"))
      return invalid_argument(fmt::format("--shared-memory system: the warm-up answer's output '{}' is not binary", name));
    out.sizes.emplace_back(name, o["parameters"]["binary_data_size"].get<size_t>());
  }
  out.bytes = r.body.substr(json_length);
  return out;
}

json region_parameters(const std::string& region, size_t byte_size, size_t offset) {
  return {{"shared_memory_region", region}, {"shared_memory_byte_size", byte_size}, {"shared_memory_offset", offset}};
}

}  // namespace

Status LoadgenSharedMemory::register_segment(const std::string& region, ShmSegment& segment) {
  const json body = {{"key", segment.key()}, {"offset", 0}, {"byte_size", segment.size()}};
  ECOINFER_ASSIGN_OR_RETURN(HttpResponse r, control_.post("/v2/systemsharedmemory/region/" + region + "/register",
                                                          body.dump(), "application/json"));
  if (r.status != 200)
    return invalid_argument(fmt::format("--shared-memory system: registering region '{}' answered {}: {} (the server "
                                        "must run on this host)", region, r.status, r.body.substr(0, 300)));
  registered_.push_back(region);
  segment.unlink();  // the server has it mapped: nothing is left in /dev/shm whatever happens to this process
  return Status::ok();
}

Status LoadgenSharedMemory::check_against_binary(const std::string& infer_path, const std::string& expected) {
  const InferBody& b = body(0, 0);
  ECOINFER_ASSIGN_OR_RETURN(HttpResponse r, control_.post(infer_path, b.body, b.content_type, b.headers));
  if (r.status != 200)
    return invalid_argument(fmt::format("--shared-memory system: the first shared memory request answered {}: {}",
                                        r.status, r.body.substr(0, 300)));
  std::string got;
  for (const OutputSlot& o : output_slots_)
    got.append(reinterpret_cast<const char*>(outputs_[0].data() + o.offset), o.byte_size);
  if (got != expected)
    return internal_error("--shared-memory system: the outputs the server wrote into shared memory differ from its "
                          "binary answer to the same input");
  return Status::ok();
}

Expected<std::unique_ptr<LoadgenSharedMemory>> LoadgenSharedMemory::open(HttpClient& control,
                                                                         const std::string& infer_path,
                                                                         const std::vector<RequestData>& data,
                                                                         int clients) {
  ECOINFER_RETURN_IF_ERROR(require_extension(control));
  if (data.empty()) return invalid_argument("--shared-memory system: no request data");
  if (!data.front().bytes.empty())
    return unimplemented(fmt::format("--shared-memory system: input '{}' is BYTES, whose size varies per request; "
                                     "use --binary for this model", data.front().bytes.front().first));
  ECOINFER_ASSIGN_OR_RETURN(BinaryOutputs expected, binary_outputs(control, infer_path, data.front()));
  std::unique_ptr<LoadgenSharedMemory> shm(new LoadgenSharedMemory(control));
  const std::string prefix = region_prefix();

  // Inputs: every distinct request's tensors, one after the other.
  std::vector<std::vector<size_t>> input_offsets(data.size());
  size_t input_bytes = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    for (const NamedTensor& t : data[i].tensors) {
      input_offsets[i].push_back(input_bytes);
      input_bytes += align_up(std::max<size_t>(t.tensor.nbytes(), 1));
    }
  }
  ECOINFER_ASSIGN_OR_RETURN(shm->inputs_, ShmSegment::create("/" + prefix + "_in", std::max<size_t>(input_bytes, 1)));
  for (size_t i = 0; i < data.size(); ++i)
    for (size_t k = 0; k < data[i].tensors.size(); ++k)
      std::memcpy(shm->inputs_.data() + input_offsets[i][k], data[i].tensors[k].tensor.raw_data(),
                  data[i].tensors[k].tensor.nbytes());
  ECOINFER_RETURN_IF_ERROR(shm->register_segment(prefix + "_in", shm->inputs_));

  // Outputs: one segment per client.
  size_t output_bytes = 0;
  for (const auto& [name, size] : expected.sizes) {
    shm->output_slots_.push_back({name, size, output_bytes});
    output_bytes += align_up(std::max<size_t>(size, 1));
  }
  for (int c = 0; c < clients; ++c) {
    ECOINFER_ASSIGN_OR_RETURN(ShmSegment segment, ShmSegment::create(fmt::format("/{}_out{}", prefix, c),
                                                                     std::max<size_t>(output_bytes, 1)));
    shm->outputs_.push_back(std::move(segment));
    ECOINFER_RETURN_IF_ERROR(shm->register_segment(fmt::format("{}_out{}", prefix, c), shm->outputs_.back()));
  }

  for (int c = 0; c < clients; ++c) {
    std::vector<InferBody> bodies;
    for (size_t i = 0; i < data.size(); ++i) {
      json request{{"inputs", json::array()}, {"outputs", json::array()}};
      for (size_t k = 0; k < data[i].tensors.size(); ++k) {
        const Tensor& t = data[i].tensors[k].tensor;
        request["inputs"].push_back({{"name", data[i].tensors[k].name},
                                     {"shape", t.shape()},
                                     {"datatype", kserve_datatype(t.dtype())},
                                     {"parameters", region_parameters(prefix + "_in", t.nbytes(), input_offsets[i][k])}});
      }
      for (const OutputSlot& o : shm->output_slots_)
        request["outputs"].push_back(
            {{"name", o.name}, {"parameters", region_parameters(fmt::format("{}_out{}", prefix, c), o.byte_size, o.offset)}});
      bodies.push_back({request.dump(), "application/json", {}});
    }
    shm->bodies_.push_back(std::move(bodies));
  }
  ECOINFER_RETURN_IF_ERROR(shm->check_against_binary(infer_path, expected.bytes));
  return shm;
}

LoadgenSharedMemory::~LoadgenSharedMemory() {
  for (const std::string& region : registered_)
    (void)control_.post("/v2/systemsharedmemory/region/" + region + "/unregister", "", "application/json");
}

}  // namespace ecoinfer::serve
