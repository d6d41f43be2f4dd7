#include "serve/backend/ocr_backend.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ocr/ocr_pipeline.h"
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
json image_json(const cv::Mat& image, const std::vector<ocr::OcrLine>& lines) {
  json out = {{"width", image.cols}, {"height", image.rows}, {"lines", json::array()}};
  for (const ocr::OcrLine& l : lines) {
    json box = json::array();
    for (const cv::Point2f& p : l.box) box.push_back({static_cast<int>(p.x), static_cast<int>(p.y)});
    out["lines"].push_back({{"text", l.text}, {"confidence", l.confidence}, {"box", box},
                            {"box_score", l.box_score}, {"rotated", l.rotated}});
  }
  return out;
}

class OcrBackend final : public ModelBackend {
 public:
  explicit OcrBackend(std::unique_ptr<ocr::OcrPipeline> pipeline)
      : pipeline_(std::move(pipeline)),
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
    // Decode all first: a bad image fails the request before any model runs.
    std::vector<cv::Mat> decoded;
    for (size_t i = 0; i < images.elements.size(); ++i) {
      auto image = ocr::decode_image(image_bytes(images.elements[i]), pipeline_->options().max_pixels);
      if (!image) return invalid_argument(fmt::format("input 'image' element {}: {}", i, image.status().message()));
      decoded.push_back(std::move(*image));
    }
    const int64_t n = static_cast<int64_t>(decoded.size());
    BytesTensor text{kTextOutput, {n}, {}}, lines{kLinesOutput, {n}, {}};
    for (size_t i = 0; i < decoded.size(); ++i) {
      auto read = pipeline_->run(decoded[i]);
      if (!read) return read.status().with_context(fmt::format("input 'image' element {}", i));
      std::string joined;
      for (const ocr::OcrLine& l : *read) joined += (joined.empty() ? "" : "\n") + l.text;
      text.elements.push_back(std::move(joined));
      lines.elements.push_back(image_json(decoded[i], *read).dump(-1, ' ', false, json::error_handler_t::replace));
    }
    return ModelValues{{}, {std::move(text), std::move(lines)}};
  }

 private:
  std::unique_ptr<ocr::OcrPipeline> pipeline_;
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
  ECOINFER_ASSIGN_OR_RETURN(auto pipeline, ocr::OcrPipeline::load(options));
  return std::shared_ptr<const ModelBackend>(std::make_shared<const OcrBackend>(std::move(pipeline)));
}

}  // namespace ecoinfer::serve
