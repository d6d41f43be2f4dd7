#include "ocr/ocr_pipeline.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <span>
#include <utility>

#include "ocr/cls_stage.h"
#include "ocr/crop.h"
#include "ocr/det_preprocess.h"
#include "ocr/rec_preprocess.h"

namespace ecoinfer::ocr {
namespace {

// Adds the wall time of its scope to one stage.
class StageTimer {
 public:
  StageTimer(StageTimes& times, Stage stage) : slot_(times[stage]), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() { slot_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  double& slot_;
  std::chrono::steady_clock::time_point start_;
};

// Runs a single-input model and returns its first output.
Expected<Tensor> run_model(const Session& session, Tensor input, const char* what) {
  auto outputs = session.run({{session.inputs().front().name, std::move(input)}});
  if (!outputs) return outputs.status().with_context(what);
  if (outputs->empty()) return invalid_model(std::string(what) + ": the model has no outputs");
  return std::move((*outputs)[0].tensor);
}

Expected<std::unique_ptr<Session>> load_model(const std::filesystem::path& dir, const char* file, int threads) {
  const std::filesystem::path path = dir / file;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return not_found(path.string() + ": OCR model not found (run scripts/fetch-models.sh, or pass --models-dir)");
  auto session = Session::load(path, {.threads = threads});
  if (!session) return session.status();
  if ((*session)->inputs().size() != 1)
    return invalid_model(path.string() + ": expected a model with one image input");
  return session;
}

}  // namespace

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kImageDecode: return "image decode";
    case Stage::kDetPreprocess: return "det preprocess";
    case Stage::kDetModel: return "det model";
    case Stage::kDbPostprocess: return "DB postprocess";
    case Stage::kCrop: return "crop";
    case Stage::kClsPreprocess: return "cls preprocess";
    case Stage::kClsModel: return "cls model";
    case Stage::kRecPreprocess: return "rec preprocess";
    case Stage::kRecModel: return "rec model";
    case Stage::kCtcDecode: return "CTC decode";
    case Stage::kCount: break;
  }
  return "?";
}

double StageTimes::total() const { return std::accumulate(seconds.begin(), seconds.end(), 0.0); }

OcrPipeline::OcrPipeline(OcrOptions options, std::unique_ptr<Session> det, std::unique_ptr<Session> cls,
                         std::unique_ptr<Session> rec, CtcDecoder decoder)
    : options_(std::move(options)), det_(std::move(det)), cls_(std::move(cls)), rec_(std::move(rec)),
      decoder_(std::move(decoder)) {}

Expected<std::unique_ptr<OcrPipeline>> OcrPipeline::load(const OcrOptions& options) {
  ECOINFER_ASSIGN_OR_RETURN(auto decoder, CtcDecoder::load(options.models_dir / kKeysFile));
  ECOINFER_ASSIGN_OR_RETURN(auto det, load_model(options.models_dir, kDetModelFile, options.threads));
  std::unique_ptr<Session> cls;
  if (options.use_cls) {
    ECOINFER_ASSIGN_OR_RETURN(cls, load_model(options.models_dir, kClsModelFile, options.threads));
  }
  ECOINFER_ASSIGN_OR_RETURN(auto rec, load_model(options.models_dir, kRecModelFile, options.threads));
  return std::unique_ptr<OcrPipeline>(
      new OcrPipeline(options, std::move(det), std::move(cls), std::move(rec), std::move(decoder)));
}

Expected<std::vector<TextBox>> OcrPipeline::detect(const cv::Mat& image, StageTimes& times) const {
  DetInput in;
  {
    StageTimer t(times, Stage::kDetPreprocess);
    in = det_preprocess(image);
  }
  Tensor map;
  {
    StageTimer t(times, Stage::kDetModel);
    ECOINFER_ASSIGN_OR_RETURN(map, run_model(*det_, in.tensor, "det model"));
  }
  StageTimer t(times, Stage::kDbPostprocess);
  const Shape& s = map.shape();
  if (map.dtype() != DataType::kFloat32 || s.size() != 4 || s[0] != 1 || s[1] != 1 ||
      s[2] != in.tensor.dim(2) || s[3] != in.tensor.dim(3))
    return invalid_model("det model: expected a 1x1xHxW float probability map for input " +
                         shape_to_string(in.tensor.shape()) + ", got " + shape_to_string(s));
  const cv::Mat prob(static_cast<int>(s[2]), static_cast<int>(s[3]), CV_32FC1, map.raw_data());
  return db_postprocess(prob, in.source_height, in.source_width, options_.db);
}

Status OcrPipeline::classify(std::vector<cv::Mat>& crops, std::vector<bool>& rotated, StageTimes& times) const {
  std::vector<size_t> order;
  {
    StageTimer t(times, Stage::kClsPreprocess);
    order = order_by_aspect_ratio(crops);
  }
  for (size_t begin = 0; begin < order.size(); begin += kClsBatchSize) {
    const std::span<const size_t> batch(order.data() + begin, std::min<size_t>(kClsBatchSize, order.size() - begin));
    Tensor x;
    {
      StageTimer t(times, Stage::kClsPreprocess);
      x = cls_batch_tensor(crops, batch);
    }
    Tensor probs;
    {
      StageTimer t(times, Stage::kClsModel);
      ECOINFER_ASSIGN_OR_RETURN(probs, run_model(*cls_, x, "cls model"));
    }
    StageTimer t(times, Stage::kClsPreprocess);
    ECOINFER_ASSIGN_OR_RETURN(auto decisions, cls_decisions(probs));
    if (decisions.size() != batch.size())
      return invalid_model("cls model: " + std::to_string(decisions.size()) + " results for " +
                           std::to_string(batch.size()) + " crops");
    apply_rotations(crops, batch, decisions);
    for (size_t i = 0; i < batch.size(); ++i) rotated[batch[i]] = decisions[i].rotate;
  }
  return Status::ok();
}

Expected<std::vector<RecText>> OcrPipeline::recognize(const std::vector<cv::Mat>& crops, StageTimes& times) const {
  std::vector<RecText> texts(crops.size());
  std::vector<size_t> order;
  {
    StageTimer t(times, Stage::kRecPreprocess);
    order = order_by_aspect_ratio(crops);
  }
  for (size_t begin = 0; begin < order.size(); begin += kRecBatchSize) {
    const std::span<const size_t> batch(order.data() + begin, std::min<size_t>(kRecBatchSize, order.size() - begin));
    Tensor x;
    {
      StageTimer t(times, Stage::kRecPreprocess);
      x = resize_normalize_batch(crops, batch, kRecHeight, rec_batch_width(crops, batch));
    }
    Tensor probs;
    {
      StageTimer t(times, Stage::kRecModel);
      ECOINFER_ASSIGN_OR_RETURN(probs, run_model(*rec_, x, "rec model"));
    }
    StageTimer t(times, Stage::kCtcDecode);
    const Shape& s = probs.shape();
    if (probs.dtype() != DataType::kFloat32 || s.size() != 3 || s[0] != static_cast<int64_t>(batch.size()) ||
        s[2] != static_cast<int64_t>(decoder_.class_count()))
      return invalid_model("rec model: expected N x T x " + std::to_string(decoder_.class_count()) +
                           " float probabilities (blank, the keys of " + kKeysFile + ", space), got " +
                           shape_to_string(s));
    const int steps = static_cast<int>(s[1]), classes = static_cast<int>(s[2]);
    for (size_t i = 0; i < batch.size(); ++i)
      texts[batch[i]] = decoder_.decode(probs.data<float>() + i * steps * classes, steps, classes);
  }
  return texts;
}

Expected<std::vector<OcrLine>> OcrPipeline::run(const cv::Mat& image, StageTimes* times) const {
  if (image.empty() || image.type() != CV_8UC3)
    return invalid_argument("OCR needs an 8-bit, 3-channel BGR image (read_image gives one)");
  StageTimes local;
  StageTimes& tt = times ? *times : local;
  ECOINFER_ASSIGN_OR_RETURN(const std::vector<TextBox> boxes, detect(image, tt));
  std::vector<cv::Mat> crops;
  {
    StageTimer t(tt, Stage::kCrop);
    for (const TextBox& b : boxes) crops.push_back(crop_text_box(image, b.points));
  }
  std::vector<bool> rotated(crops.size(), false);
  if (cls_) ECOINFER_RETURN_IF_ERROR(classify(crops, rotated, tt));
  ECOINFER_ASSIGN_OR_RETURN(const std::vector<RecText> texts, recognize(crops, tt));
  std::vector<OcrLine> lines;
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (texts[i].confidence < options_.drop_score) continue;
    lines.push_back({texts[i].text, texts[i].confidence, boxes[i].points, boxes[i].score, rotated[i]});
  }
  return lines;
}

}  // namespace ecoinfer::ocr
