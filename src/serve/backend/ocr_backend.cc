#include "serve/backend/ocr_backend.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ocr/ocr_api.h"
#include "serve/backend/base64.h"

namespace ecoinfer::serve {
namespace {

using nlohmann::json;

constexpr const char* kImageInput = "image";
constexpr const char* kTextOutput = "text";
constexpr const char* kLinesOutput = "lines";

ValueDescription bytes_vector(const char* name) {
  return {name, DataType::kString, {DimInfo{-1, "N"}}, true};
}

// Raw image files always hold bytes outside the base64 alphabet (binary
// headers), so text that decodes as base64 was sent as base64.
std::string image_bytes(const std::string& element) {
  if (auto decoded = decode_base64(element); decoded && !decoded->empty()) return std::move(*decoded);
  return element;
}

// The per-image object of `ecoinfer ocr --json` (tools/cli/ocr.cc), without "file".
json image_json(const ocr::OcrImage& image) {
  json out = {{"width", image.width}, {"height", image.height}, {"lines", json::array()}};
  for (const ocr::OcrLine& l : image.lines) {
    json box = json::array();
    for (const ocr::BoxPoint& p : l.box) box.push_back({static_cast<int>(p.x), static_cast<int>(p.y)});
    out["lines"].push_back({{"text", l.text}, {"confidence", l.confidence}, {"box", box},
                            {"box_score", l.box_score}, {"rotated", l.rotated}});
  }
  return out;
}

class OcrBackend final : public ModelBackend {
 public:
  explicit OcrBackend(std::unique_ptr<ocr::OcrEngine> engine)
      : engine_(std::move(engine)),
        inputs_{bytes_vector(kImageInput)},
        outputs_{bytes_vector(kTextOutput), bytes_vector(kLinesOutput)} {}

  std::string platform() const override { return kOcrPlatform; }
  const std::vector<ValueDescription>& inputs() const override { return inputs_; }
  const std::vector<ValueDescription>& outputs() const override { return outputs_; }

  Expected<ModelValues> run(const ModelValues& inputs) const override {
    if (inputs.bytes.size() != 1 || inputs.bytes[0].name != kImageInput || !inputs.tensors.empty())
      return invalid_argument("the OCR model takes one input, 'image' (BYTES [N], encoded images)");
    const BytesTensor& images = inputs.bytes[0];
    if (images.shape.size() != 1)
      return invalid_argument(fmt::format("input 'image' must have shape [N] (one encoded image per element), got {}",
                                          shape_to_string(images.shape)));
    // The engine decodes all first: a bad image fails the request before any model runs.
    std::vector<std::string> bytes;
    for (const std::string& element : images.elements) bytes.push_back(image_bytes(element));
    const std::vector<std::string_view> encoded(bytes.begin(), bytes.end());
    ECOINFER_ASSIGN_OR_RETURN(std::vector<ocr::OcrImage> read, engine_->run_encoded(encoded, "input 'image' element"));
    const int64_t n = static_cast<int64_t>(read.size());
    BytesTensor text{kTextOutput, {n}, {}}, lines{kLinesOutput, {n}, {}};
    for (const ocr::OcrImage& image : read) {
      std::string joined;
      for (const ocr::OcrLine& l : image.lines) joined += (joined.empty() ? "" : "\n") + l.text;
      text.elements.push_back(std::move(joined));
      lines.elements.push_back(image_json(image).dump(-1, ' ', false, json::error_handler_t::replace));
    }
    return ModelValues{{}, {std::move(text), std::move(lines)}};
  }

 private:
  std::unique_ptr<ocr::OcrEngine> engine_;
  std::vector<ValueDescription> inputs_, outputs_;
};

Expected<json> read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return io_error(fmt::format("{}: cannot open it", file.string()));
  std::stringstream s;
  s << in.rdbuf();
  json j = json::parse(s.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument(fmt::format("{}: not a JSON object; see docs/SERVING.md (pipeline models)", file.string()));
  return j;
}

// Every key checked for its type; unknown keys refused, as in config.json.
Status read_ocr_options(const json& j, const std::filesystem::path& dir, ocr::OcrOptions& o) {
  const std::string where = (dir / kPipelineFile).string();
  auto wrong = [&](const std::string& key, const char* expected) {
    return invalid_argument(fmt::format("{}: \"{}\" must be {}", where, key, expected));
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "pipeline") {
      if (v != "ocr") return invalid_argument(fmt::format("{}: unknown pipeline {}; the one served is \"ocr\"", where,
                                                          v.dump()));
    } else if (key == "models_dir") {
      if (!v.is_string()) return wrong(key, "a folder path");
      const std::filesystem::path p = v.get<std::string>();
      o.models_dir = p.is_absolute() ? p : dir / p;
    } else if (key == "workers") {
      if (!v.is_number_integer() || v.get<int>() < 1) return wrong(key, "an integer >= 1");
      o.workers = v.get<int>();
    } else if (key == "use_cls") {
      if (!v.is_boolean()) return wrong(key, "true or false");
      o.use_cls = v.get<bool>();
    } else if (key == "drop_score") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) return wrong(key, "a number in [0, 1]");
      o.drop_score = v.get<float>();
    } else if (key == "max_pixels") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1) return wrong(key, "an integer >= 1");
      o.max_pixels = v.get<int64_t>();
    } else {
      return invalid_argument(fmt::format("{}: unknown key \"{}\" (pipeline, models_dir, workers, use_cls, "
                                          "drop_score, max_pixels)", where, key));
    }
  }
  if (!j.contains("pipeline")) return invalid_argument(fmt::format("{}: needs \"pipeline\": \"ocr\"", where));
  if (!j.contains("models_dir"))
    return invalid_argument(fmt::format("{}: needs \"models_dir\", the folder holding the PaddleOCR models", where));
  return Status::ok();
}

}  // namespace

Expected<std::shared_ptr<const ModelBackend>> load_pipeline_backend(const std::filesystem::path& version_dir,
                                                                    int threads, Precision precision) {
  ECOINFER_ASSIGN_OR_RETURN(json j, read_json_file(version_dir / kPipelineFile));
  ocr::OcrOptions options;
  options.threads = threads;
  options.precision = precision == Precision::kInt8   ? ocr::OcrPrecision::kInt8
                      : precision == Precision::kBf16 ? ocr::OcrPrecision::kBf16
                                                      : ocr::OcrPrecision::kFp32;
  ECOINFER_RETURN_IF_ERROR(read_ocr_options(j, version_dir, options));
  ECOINFER_ASSIGN_OR_RETURN(auto engine, ocr::load_ocr_engine(options));  // loads libecoinfer_ocr.so
  return std::shared_ptr<const ModelBackend>(std::make_shared<const OcrBackend>(std::move(engine)));
}

}  // namespace ecoinfer::serve
