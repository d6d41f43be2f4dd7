#include "ocr/ocr_pipeline.h"

#include <utility>

#include "ocr/ocr_stages.h"
#include "pipeline/model_stage.h"

namespace ecoinfer::ocr {
namespace {
using pipeline::Port;
using pipeline::ValueType;

struct LoadedModel {
  std::shared_ptr<const Session> session;
  std::string hash;
};

Expected<LoadedModel> load_model(const std::filesystem::path& dir, const char* file, int threads) {
  const std::filesystem::path path = dir / file;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return not_found(path.string() + ": OCR model not found (run scripts/fetch-models.sh, or pass --models-dir)");
  auto session = Session::load(path, {.threads = threads});
  if (!session) return session.status();
  if ((*session)->inputs().size() != 1)
    return invalid_model(path.string() + ": expected a model with one image input");
  ECOINFER_ASSIGN_OR_RETURN(std::string hash, pipeline::file_hash(path));
  return LoadedModel{std::shared_ptr<const Session>(std::move(*session)), std::move(hash)};
}

// The lines JSON of the CTC stage back into OcrLines.
std::vector<OcrLine> parse_lines(const std::string& text) {
  std::vector<OcrLine> lines;
  for (const auto& j : nlohmann::json::parse(text)) {
    OcrLine l;
    l.text = j["text"].get<std::string>();
    l.confidence = j["confidence"].get<float>();
    for (size_t k = 0; k < 4; ++k) l.box[k] = {j["box"][k][0].get<float>(), j["box"][k][1].get<float>()};
    l.box_score = j["box_score"].get<float>();
    l.rotated = j["rotated"].get<bool>();
    lines.push_back(std::move(l));
  }
  return lines;
}

// Our own stage wrote the JSON; a throw here would mean a damaged value, so
// it becomes that item's error rather than an exception across the API.
Expected<OcrImage> to_image(const pipeline::Values& out) try {
  const Tensor& size = std::get<Tensor>(out.at("image_size"));
  OcrImage image;
  image.height = static_cast<int>(size.data<int64_t>()[0]);
  image.width = static_cast<int>(size.data<int64_t>()[1]);
  image.lines = parse_lines(std::get<std::string>(out.at("lines")));
  return image;
} catch (const std::exception& e) {
  return internal_error(std::string("OCR result could not be read back: ") + e.what());
}

}  // namespace

Expected<std::unique_ptr<OcrPipeline>> OcrPipeline::load(const OcrOptions& options) {
  ECOINFER_ASSIGN_OR_RETURN(auto decoder, CtcDecoder::load(options.models_dir / kKeysFile));
  OcrModels models;
  models.decoder = std::make_shared<const CtcDecoder>(std::move(decoder));
  ECOINFER_ASSIGN_OR_RETURN(models.keys_hash, pipeline::file_hash(options.models_dir / kKeysFile));
  ECOINFER_ASSIGN_OR_RETURN(auto det, load_model(options.models_dir, kDetModelFile, options.threads));
  models.det = det.session;
  models.det_hash = det.hash;
  if (options.use_cls) {
    ECOINFER_ASSIGN_OR_RETURN(auto cls, load_model(options.models_dir, kClsModelFile, options.threads));
    models.cls = cls.session;
    models.cls_hash = cls.hash;
  }
  ECOINFER_ASSIGN_OR_RETURN(auto rec, load_model(options.models_dir, kRecModelFile, options.threads));
  models.rec = rec.session;
  models.rec_hash = rec.hash;
  const OcrStageSettings settings{options.db, options.drop_score, options.max_pixels};
  ECOINFER_ASSIGN_OR_RETURN(auto from_files,
                            pipeline::Pipeline::create({{"path", ValueType::kText}}, ocr_stages(models, settings, true),
                                                       {"lines", "image_size"}));
  ECOINFER_ASSIGN_OR_RETURN(auto from_images,
                            pipeline::Pipeline::create({{"image", ValueType::kTensor}},
                                                       ocr_stages(models, settings, false), {"lines", "image_size"}));
  return std::unique_ptr<OcrPipeline>(new OcrPipeline(options, std::move(from_files), std::move(from_images)));
}

pipeline::RunOptions OcrPipeline::run_options(pipeline::StageCache* cache, int workers) const {
  pipeline::RunOptions o;
  o.workers = workers > 0 ? workers : options_.workers;
  o.batch_size = options_.batch_size;
  o.cache = cache;
  return o;
}

OcrBatchResult OcrPipeline::run_files(const std::vector<std::string>& paths, pipeline::StageCache* cache,
                                      int workers) const {
  std::vector<pipeline::Values> items;
  for (const std::string& p : paths) items.push_back({{"path", p}});
  pipeline::RunOptions o = run_options(cache, workers);
  o.item_names = paths;
  pipeline::RunResult r = pipeline::run_pipeline(from_files_, items, o);
  OcrBatchResult out;
  for (auto& item : r.items) {
    if (item) out.images.push_back(to_image(*item));
    else out.images.push_back(item.status());
  }
  out.profile = std::move(r.profile);
  out.lineage = std::move(r.lineage);
  return out;
}

Expected<std::vector<OcrLine>> OcrPipeline::run(const cv::Mat& image, pipeline::RunProfile* profile) const {
  if (image.empty() || image.type() != CV_8UC3)
    return invalid_argument("OCR needs an 8-bit, 3-channel BGR image (read_image gives one)");
  pipeline::RunResult r = pipeline::run_pipeline(from_images_, {{{"image", image_tensor(image)}}}, run_options(nullptr));
  if (profile) *profile = std::move(r.profile);
  if (!r.items[0]) return r.items[0].status();
  ECOINFER_ASSIGN_OR_RETURN(OcrImage result, to_image(*r.items[0]));
  return std::move(result.lines);
}

}  // namespace ecoinfer::ocr
