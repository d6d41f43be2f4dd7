// libecoinfer_ocr.so's one exported function (ocr_module.h): OcrPipeline
// behind the OpenCV-free OcrEngine interface of ocr_api.h.
#include <exception>

#include <fmt/format.h>

#include "ocr/image_io.h"
#include "ocr/ocr_module.h"
#include "ocr/ocr_pipeline.h"

namespace ecoinfer::ocr {
namespace {

class PipelineEngine final : public OcrEngine {
 public:
  explicit PipelineEngine(std::unique_ptr<OcrPipeline> pipeline) : pipeline_(std::move(pipeline)) {}

  OcrBatchResult run_files(const std::vector<std::string>& paths, pipeline::StageCache* cache,
                           int workers) const override {
    return pipeline_->run_files(paths, cache, workers);
  }

  Expected<std::vector<OcrImage>> run_encoded(const std::vector<std::string_view>& images,
                                              const std::string& item_label) const override {
    std::vector<cv::Mat> decoded;
    for (size_t i = 0; i < images.size(); ++i) {
      auto image = decode_image(images[i], pipeline_->options().max_pixels);
      if (!image) return invalid_argument(fmt::format("{} {}: {}", item_label, i, image.status().message()));
      decoded.push_back(std::move(*image));
    }
    std::vector<OcrImage> results;
    for (size_t i = 0; i < decoded.size(); ++i) {
      auto lines = pipeline_->run(decoded[i]);
      if (!lines) return lines.status().with_context(fmt::format("{} {}", item_label, i));
      results.push_back({decoded[i].cols, decoded[i].rows, std::move(*lines)});
    }
    return results;
  }

  const OcrOptions& options() const override { return pipeline_->options(); }
  const std::vector<std::filesystem::path>& model_files() const override { return pipeline_->model_files(); }
  int saved_model_inputs() const override { return pipeline_->saved_model_inputs(); }

 private:
  std::unique_ptr<OcrPipeline> pipeline_;
};

}  // namespace
}  // namespace ecoinfer::ocr

extern "C" __attribute__((visibility("default"))) void ecoinfer_ocr_load_v1(
    const ecoinfer::ocr::OcrOptions* options, ecoinfer::Expected<std::unique_ptr<ecoinfer::ocr::OcrEngine>>* out) {
  using namespace ecoinfer;
  try {
    auto pipeline = ocr::OcrPipeline::load(*options);
    if (!pipeline) {
      *out = pipeline.status();
      return;
    }
    // Every use of the engine decodes images: load imgcodecs with the models.
    if (Status decoder = ocr::load_image_decoder(); !decoder.is_ok()) {
      *out = decoder;
      return;
    }
    *out = std::unique_ptr<ocr::OcrEngine>(std::make_unique<ocr::PipelineEngine>(std::move(*pipeline)));
  } catch (const std::exception& e) {
    *out = internal_error(std::string("loading the OCR pipeline failed: ") + e.what());
  } catch (...) {
    *out = internal_error("loading the OCR pipeline failed with an unknown exception");
  }
}
