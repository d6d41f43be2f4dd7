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
  std::filesystem::path path;
};

// Where a precision's model files are: int8 ones in their own folder, under
// the fp32 names, so one models folder holds both.
std::filesystem::path model_path(const OcrOptions& o, const char* file) {
  return o.precision == OcrPrecision::kInt8 ? o.models_dir / kInt8ModelsSubdir / file : o.models_dir / file;
}

Status missing_model(const OcrOptions& o, const std::filesystem::path& path) {
  if (o.precision != OcrPrecision::kInt8)
    return not_found(path.string() + ": OCR model not found (run scripts/fetch-models.sh, or pass --models-dir)");
  return not_found(path.string() + ": int8 OCR model not found; make the int8 models once with: ecoinfer quantize "
                   "--pipeline ocr --models-dir " + o.models_dir.string() +
                   " --calibration IMAGE_DIR (IMAGE_DIR: a few dozen images like the ones you will read; docs/OCR.md)");
}

Expected<LoadedModel> load_model(const OcrOptions& o, const char* file) {
  const std::filesystem::path path = model_path(o, file);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return missing_model(o, path);
  SessionOptions session_options{.threads = o.threads};
  if (o.precision == OcrPrecision::kBf16) session_options.precision = Precision::kBf16;
  auto session = Session::load(path, session_options);
  if (!session) return session.status();
  if ((*session)->inputs().size() != 1)
    return invalid_model(path.string() + ": expected a model with one image input");
  ECOINFER_ASSIGN_OR_RETURN(std::string hash, pipeline::file_hash(path));
  return LoadedModel{std::shared_ptr<const Session>(std::move(*session)), std::move(hash), path};
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
  std::vector<std::filesystem::path> files;
  ECOINFER_ASSIGN_OR_RETURN(auto det, load_model(options, kDetModelFile));
  models.det = det.session;
  models.det_hash = det.hash;
  files.push_back(det.path);
  if (options.use_cls) {
    ECOINFER_ASSIGN_OR_RETURN(auto cls, load_model(options, kClsModelFile));
    models.cls = cls.session;
    models.cls_hash = cls.hash;
    files.push_back(cls.path);
  }
  ECOINFER_ASSIGN_OR_RETURN(auto rec, load_model(options, kRecModelFile));
  models.rec = rec.session;
  models.rec_hash = rec.hash;
  files.push_back(rec.path);
  OcrStageSettings settings{options.db, options.drop_score, options.max_pixels};
  if (!options.save_model_inputs.empty())
    settings.recorder = std::make_shared<ModelInputRecorder>(options.save_model_inputs);
  ECOINFER_ASSIGN_OR_RETURN(auto from_files,
                            pipeline::Pipeline::create({{"path", ValueType::kText}}, ocr_stages(models, settings, true),
                                                       {"lines", "image_size"}));
  ECOINFER_ASSIGN_OR_RETURN(auto from_images,
                            pipeline::Pipeline::create({{"image", ValueType::kTensor}},
                                                       ocr_stages(models, settings, false), {"lines", "image_size"}));
  std::unique_ptr<OcrPipeline> pipeline(new OcrPipeline(options, std::move(from_files), std::move(from_images)));
  pipeline->model_files_ = std::move(files);
  pipeline->recorder_ = settings.recorder;
  return pipeline;
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
