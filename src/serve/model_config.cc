#include "serve/model_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ecoinfer::serve {
namespace {

using nlohmann::json;

const std::set<std::string> kKnownKeys = {"max_batch_size", "dynamic_batching", "max_queue_size",
                                          "default_timeout_microseconds", "precision", "instance_count",
                                          "threads", "response_cache"};

Expected<int64_t> read_int(const json& j, const char* key, int64_t min, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < min)
    return invalid_argument(fmt::format("{}: \"{}\" must be an integer >= {}, got {}", where, key, min, v.dump()));
  return v.get<int64_t>();
}

Status read_dynamic_batching(const json& db, ModelConfig& c, const std::string& where) {
  if (!db.is_object()) return invalid_argument(where + ": \"dynamic_batching\" must be an object");
  c.dynamic_batching = true;
  for (const auto& [key, v] : db.items()) {
    if (key == "preferred_batch_sizes") {
      if (!v.is_array()) return invalid_argument(where + ": \"preferred_batch_sizes\" must be an array of integers");
      for (const json& s : v) {
        if (!s.is_number_integer() || s.get<int64_t>() < 1)
          return invalid_argument(fmt::format("{}: preferred batch size {} must be an integer >= 1", where, s.dump()));
        c.preferred_batch_sizes.push_back(s.get<int>());
      }
    } else if (key == "max_queue_delay_microseconds") {
      ECOINFER_ASSIGN_OR_RETURN(int64_t us, read_int(db, key.c_str(), 0, where));
      c.max_queue_delay = std::chrono::microseconds(us);
    } else {
      return invalid_argument(fmt::format("{}: unknown key \"dynamic_batching.{}\" (known: preferred_batch_sizes, "
                                          "max_queue_delay_microseconds)", where, key));
    }
  }
  return Status::ok();
}

Status check_consistency(const ModelConfig& c, const std::string& where) {
  for (int s : c.preferred_batch_sizes) {
    if (s > c.max_batch_size)
      return invalid_argument(fmt::format("{}: preferred batch size {} is above max_batch_size {}", where, s,
                                          c.max_batch_size));
  }
  if (c.dynamic_batching && c.max_batch_size == 0)
    return invalid_argument(where + ": \"dynamic_batching\" needs \"max_batch_size\" >= 1");
  return Status::ok();
}

}  // namespace

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

Expected<ModelConfig> parse_model_config(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument(where + ": not valid JSON");
  if (!j.is_object()) return invalid_argument(where + ": must be a JSON object");
  ModelConfig c;
  for (const auto& [key, v] : j.items()) {
    if (!kKnownKeys.count(key))
      return invalid_argument(fmt::format("{}: unknown key \"{}\" (see docs/SERVING.md)", where, key));
  }
  if (j.contains("max_batch_size")) {
    ECOINFER_ASSIGN_OR_RETURN(int64_t v, read_int(j, "max_batch_size", 0, where));
    c.max_batch_size = static_cast<int>(v);
  }
  if (j.contains("dynamic_batching")) ECOINFER_RETURN_IF_ERROR(read_dynamic_batching(j["dynamic_batching"], c, where));
  if (j.contains("max_queue_size")) {
    ECOINFER_ASSIGN_OR_RETURN(int64_t v, read_int(j, "max_queue_size", 1, where));
    c.max_queue_size = static_cast<size_t>(v);
  }
  if (j.contains("default_timeout_microseconds")) {
    ECOINFER_ASSIGN_OR_RETURN(int64_t v, read_int(j, "default_timeout_microseconds", 0, where));
    c.default_timeout = std::chrono::microseconds(v);
  }
  if (j.contains("precision")) {
    const std::string p = j["precision"].is_string() ? j["precision"].get<std::string>() : j["precision"].dump();
    if (p == "fp32") c.precision = Precision::kFp32;
    else if (p == "bf16") c.precision = Precision::kBf16;
    else if (p == "int8") c.precision = Precision::kInt8;
    else return invalid_argument(fmt::format("{}: precision {} is not fp32, bf16 or int8", where, p));
  }
  if (j.contains("instance_count")) {
    ECOINFER_ASSIGN_OR_RETURN(int64_t v, read_int(j, "instance_count", 1, where));
    c.instance_count = static_cast<int>(v);
  }
  if (j.contains("threads")) {
    ECOINFER_ASSIGN_OR_RETURN(int64_t v, read_int(j, "threads", 0, where));
    c.threads = static_cast<int>(v);
  }
  if (j.contains("response_cache")) {
    if (!j["response_cache"].is_boolean()) return invalid_argument(where + ": \"response_cache\" must be true or false");
    c.response_cache = j["response_cache"].get<bool>();
  }
  ECOINFER_RETURN_IF_ERROR(check_consistency(c, where));
  return c;
}

ModelConfig default_model_config(const std::vector<ValueDescription>& inputs) {
  ModelConfig c;
  bool batchable = !inputs.empty();
  for (const ValueDescription& in : inputs) {
    if (!in.has_shape || in.shape.empty() || in.shape[0].is_fixed()) batchable = false;
  }
  if (batchable) {
    c.max_batch_size = 8;
    c.dynamic_batching = true;  // no delay: merges only what already waits together
  }
  return c;
}

Expected<LoadedConfig> read_model_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return LoadedConfig{};
  std::ifstream in(path);
  if (!in) return io_error(fmt::format("cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  ECOINFER_ASSIGN_OR_RETURN(ModelConfig c, parse_model_config(text.str(), path.string()));
  return LoadedConfig{c, true};
}

}  // namespace ecoinfer::serve
