#include "ocr/ocr_stages.h"

#include <algorithm>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "ocr/cls_stage.h"
#include "ocr/crop.h"
#include "ocr/det_preprocess.h"
#include "ocr/image_io.h"
#include "ocr/ocr_pipeline.h"
#include "ocr/rec_preprocess.h"
#include "pipeline/model_stage.h"

namespace ecoinfer::ocr {
namespace {
using pipeline::function_stage;
using pipeline::Stage;
using pipeline::TensorList;
using pipeline::Value;
using pipeline::Values;
using pipeline::ValueType;

constexpr ValueType kTensor = ValueType::kTensor;
constexpr ValueType kList = ValueType::kTensorList;
constexpr ValueType kText = ValueType::kText;

const Tensor& tensor(const Values& v, const char* name) { return std::get<Tensor>(v.at(name)); }
const TensorList& list(const Values& v, const char* name) { return std::get<TensorList>(v.at(name)); }

std::vector<cv::Mat> image_views(const TensorList& images) {
  std::vector<cv::Mat> out;
  for (const Tensor& t : images) out.push_back(image_view(t));
  return out;
}

Tensor boxes_tensor(const std::vector<TextBox>& boxes) {
  Tensor t = Tensor::zeros(DataType::kFloat32, {static_cast<int64_t>(boxes.size()), 9});
  float* p = t.data<float>();
  for (const TextBox& b : boxes) {
    for (const cv::Point2f& q : b.points) {
      *p++ = q.x;
      *p++ = q.y;
    }
    *p++ = b.score;
  }
  return t;
}

TextBox box_at(const Tensor& boxes, int64_t i) {
  const float* p = boxes.data<float>() + i * 9;
  TextBox b;
  for (int k = 0; k < 4; ++k) b.points[k] = {p[2 * k], p[2 * k + 1]};
  b.score = p[8];
  return b;
}

// PaddleOCR's batches: crops ordered by aspect ratio, six at a time (copies,
// so no span outlives the order it points into).
std::vector<std::vector<size_t>> batches_of(const std::vector<size_t>& order, size_t size) {
  std::vector<std::vector<size_t>> out;
  for (size_t begin = 0; begin < order.size(); begin += size)
    out.emplace_back(order.begin() + begin, order.begin() + std::min(order.size(), begin + size));
  return out;
}

Stage read_stage() {
  Stage s = function_stage("read file", {{"path", kText}}, {{"encoded", kText}}, [](const Values& v) -> Expected<Values> {
    ECOINFER_ASSIGN_OR_RETURN(std::string bytes, read_file_bytes(std::get<std::string>(v.at("path"))));
    return Values{{"encoded", std::move(bytes)}};
  });
  s.cacheable = false;  // reads the outside world: always run, its output's hash keys the rest
  return s;
}

Stage decode_stage(int64_t max_pixels) {
  Stage s = function_stage("image decode", {{"encoded", kText}}, {{"image", kTensor}, {"image_size", kTensor}},
                           [max_pixels](const Values& v) -> Expected<Values> {
                             ECOINFER_ASSIGN_OR_RETURN(cv::Mat image,
                                                       decode_image(std::get<std::string>(v.at("encoded")), max_pixels));
                             return Values{{"image", image_tensor(image)},
                                           {"image_size", Tensor::from_vector<int64_t>({2}, {image.rows, image.cols})}};
                           });
  s.parameters = fmt::format("max_pixels={}", max_pixels);
  return s;
}

// Starting from an image tensor: only its size is derived here.
Stage size_stage() {
  return function_stage("image size", {{"image", kTensor}}, {{"image_size", kTensor}}, [](const Values& v) -> Expected<Values> {
    const Tensor& t = tensor(v, "image");
    if (t.dtype() != DataType::kUInt8 || t.rank() != 3 || t.dim(2) != 3 || t.numel() == 0)
      return invalid_argument("OCR needs an 8-bit, 3-channel BGR image (read_image gives one)");
    return Values{{"image_size", Tensor::from_vector<int64_t>({2}, {t.dim(0), t.dim(1)})}};
  });
}

Stage det_preprocess_stage() {
  Stage s = function_stage("det preprocess", {{"image", kTensor}}, {{"det_input", kTensor}}, [](const Values& v) -> Expected<Values> {
    return Values{{"det_input", det_preprocess(image_view(tensor(v, "image"))).tensor}};
  });
  s.parameters = fmt::format("limit_side_len={}", kDetLimitSideLen);
  return s;
}

Stage db_stage(const DbOptions& db) {
  Stage s = function_stage("DB postprocess", {{"det_map", kTensor}, {"image", kTensor}}, {{"boxes", kTensor}},
                           [db](const Values& v) -> Expected<Values> {
                             const Tensor& map = tensor(v, "det_map");
                             const Tensor& image = tensor(v, "image");
                             const Shape& sh = map.shape();
                             if (map.dtype() != DataType::kFloat32 || sh.size() != 4 || sh[0] != 1 || sh[1] != 1)
                               return invalid_model("det model: expected a 1x1xHxW float probability map, got " +
                                                    shape_to_string(sh));
                             const cv::Mat prob(static_cast<int>(sh[2]), static_cast<int>(sh[3]), CV_32FC1,
                                                const_cast<void*>(map.raw_data()));
                             return Values{{"boxes", boxes_tensor(db_postprocess(prob, static_cast<int>(image.dim(0)),
                                                                                 static_cast<int>(image.dim(1)), db))}};
                           });
  s.parameters = fmt::format("thresh={} box_thresh={} unclip={} min_size={} max_candidates={}", db.thresh, db.box_thresh,
                             db.unclip_ratio, db.min_size, db.max_candidates);
  return s;
}

Stage crop_stage() {
  return function_stage("crop", {{"image", kTensor}, {"boxes", kTensor}}, {{"crops", kList}}, [](const Values& v) -> Expected<Values> {
    const cv::Mat image = image_view(tensor(v, "image"));
    const Tensor& boxes = tensor(v, "boxes");
    TensorList crops;
    for (int64_t i = 0; i < boxes.dim(0); ++i) crops.push_back(image_tensor(crop_text_box(image, box_at(boxes, i).points)));
    return Values{{"crops", std::move(crops)}};
  });
}

Stage cls_preprocess_stage() {
  return function_stage("cls preprocess", {{"crops", kList}}, {{"cls_input", kList}}, [](const Values& v) -> Expected<Values> {
    const std::vector<cv::Mat> crops = image_views(list(v, "crops"));
    TensorList batches;
    for (auto batch : batches_of(order_by_aspect_ratio(crops), kClsBatchSize)) batches.push_back(cls_batch_tensor(crops, batch));
    return Values{{"cls_input", std::move(batches)}};
  });
}

Stage rotate_stage() {
  Stage s = function_stage("rotate", {{"crops", kList}, {"cls_probs", kList}}, {{"upright", kList}, {"rotated", kTensor}},
                           [](const Values& v) -> Expected<Values> {
                             const TensorList& in = list(v, "crops");
                             std::vector<cv::Mat> crops;
                             for (const Tensor& t : in) crops.push_back(image_view(t).clone());
                             const TensorList& probs = list(v, "cls_probs");
                             const auto batches = batches_of(order_by_aspect_ratio(crops), kClsBatchSize);
                             if (probs.size() != batches.size())
                               return invalid_model("cls model: " + std::to_string(probs.size()) + " outputs for " +
                                                    std::to_string(batches.size()) + " batches");
                             Tensor rotated = Tensor::zeros(DataType::kUInt8, {static_cast<int64_t>(crops.size())});
                             for (size_t b = 0; b < batches.size(); ++b) {
                               ECOINFER_ASSIGN_OR_RETURN(auto decisions, cls_decisions(probs[b]));
                               if (decisions.size() != batches[b].size())
                                 return invalid_model("cls model: " + std::to_string(decisions.size()) + " results for " +
                                                      std::to_string(batches[b].size()) + " crops");
                               apply_rotations(crops, batches[b], decisions);
                               for (size_t i = 0; i < batches[b].size(); ++i)
                                 rotated.data<uint8_t>()[batches[b][i]] = decisions[i].rotate;
                             }
                             TensorList upright;
                             for (const cv::Mat& c : crops) upright.push_back(image_tensor(c));
                             return Values{{"upright", std::move(upright)}, {"rotated", std::move(rotated)}};
                           });
  s.parameters = fmt::format("thresh={}", kClsThresh);
  return s;
}

// Without the classifier every crop stays as cut.
Stage no_rotate_stage() {
  return function_stage("no rotate", {{"crops", kList}}, {{"upright", kList}, {"rotated", kTensor}}, [](const Values& v) -> Expected<Values> {
    const TensorList& crops = list(v, "crops");
    return Values{{"upright", crops}, {"rotated", Tensor::zeros(DataType::kUInt8, {static_cast<int64_t>(crops.size())})}};
  });
}

Stage rec_preprocess_stage() {
  return function_stage("rec preprocess", {{"upright", kList}}, {{"rec_input", kList}}, [](const Values& v) -> Expected<Values> {
    const std::vector<cv::Mat> crops = image_views(list(v, "upright"));
    TensorList batches;
    for (auto batch : batches_of(order_by_aspect_ratio(crops), kRecBatchSize))
      batches.push_back(resize_normalize_batch(crops, batch, kRecHeight, rec_batch_width(crops, batch)));
    return Values{{"rec_input", std::move(batches)}};
  });
}

Stage ctc_stage(std::shared_ptr<const CtcDecoder> decoder, float drop_score, const std::string& keys_hash) {
  Stage s = function_stage(
      "CTC decode", {{"rec_probs", kList}, {"upright", kList}, {"boxes", kTensor}, {"rotated", kTensor}}, {{"lines", kText}},
      [decoder, drop_score](const Values& v) -> Expected<Values> {
        const std::vector<cv::Mat> crops = image_views(list(v, "upright"));
        const TensorList& probs = list(v, "rec_probs");
        const auto batches = batches_of(order_by_aspect_ratio(crops), kRecBatchSize);
        if (probs.size() != batches.size())
          return invalid_model("rec model: " + std::to_string(probs.size()) + " outputs for " +
                               std::to_string(batches.size()) + " batches");
        std::vector<RecText> texts(crops.size());
        for (size_t b = 0; b < batches.size(); ++b) {
          const Shape& sh = probs[b].shape();
          if (probs[b].dtype() != DataType::kFloat32 || sh.size() != 3 ||
              sh[0] != static_cast<int64_t>(batches[b].size()) || sh[2] != static_cast<int64_t>(decoder->class_count()))
            return invalid_model("rec model: expected N x T x " + std::to_string(decoder->class_count()) +
                                 " float probabilities (blank, the keys of " + kKeysFile + ", space), got " +
                                 shape_to_string(sh));
          const int steps = static_cast<int>(sh[1]), classes = static_cast<int>(sh[2]);
          for (size_t i = 0; i < batches[b].size(); ++i)
            texts[batches[b][i]] = decoder->decode(probs[b].data<float>() + i * steps * classes, steps, classes);
        }
        const Tensor& boxes = tensor(v, "boxes");
        const Tensor& rotated = tensor(v, "rotated");
        nlohmann::json lines = nlohmann::json::array();
        for (size_t i = 0; i < texts.size(); ++i) {
          if (texts[i].confidence < drop_score) continue;
          const TextBox b = box_at(boxes, static_cast<int64_t>(i));
          nlohmann::json box = nlohmann::json::array();
          for (const cv::Point2f& p : b.points) box.push_back({p.x, p.y});
          lines.push_back({{"text", texts[i].text}, {"confidence", texts[i].confidence}, {"box", box},
                           {"box_score", b.score}, {"rotated", rotated.data<uint8_t>()[i] != 0}});
        }
        return Values{{"lines", lines.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
      });
  s.parameters = fmt::format("drop_score={}", drop_score);
  s.model_hash = keys_hash;  // another key file reads other characters
  return s;
}

// A preprocessing stage that also writes what it hands the model (`port`:
// a tensor or a list of batches) to the recorder. It must run for every
// item, so it leaves the cache; the model stage after it still uses it.
Stage recording(Stage s, const std::shared_ptr<ModelInputRecorder>& recorder, const std::string& model,
                const std::shared_ptr<const Session>& session, const std::string& port) {
  if (!recorder) return s;
  const std::string input = session->inputs().at(0).name;
  s.cacheable = false;
  s.run = [inner = std::move(s.run), recorder, model, input, port](const std::vector<const Values*>& batch) {
    pipeline::BatchResults results = inner(batch);
    for (auto& r : results) {
      if (!r) continue;
      const Value& v = r->at(port);
      Status saved = Status::ok();
      if (const auto* t = std::get_if<Tensor>(&v)) saved = recorder->save(model, input, *t);
      if (const auto* l = std::get_if<TensorList>(&v))
        for (const Tensor& t : *l)
          if (saved.is_ok()) saved = recorder->save(model, input, t);
      if (!saved.is_ok()) r = saved;
    }
    return results;
  };
  return s;
}

}  // namespace

Tensor image_tensor(const cv::Mat& bgr) {
  Tensor t = Tensor::zeros(DataType::kUInt8, {bgr.rows, bgr.cols, 3});
  cv::Mat view(bgr.rows, bgr.cols, CV_8UC3, t.raw_data());
  bgr.copyTo(view);
  return t;
}

cv::Mat image_view(const Tensor& t) {
  return cv::Mat(static_cast<int>(t.dim(0)), static_cast<int>(t.dim(1)), CV_8UC3, const_cast<void*>(t.raw_data()));
}

std::vector<pipeline::Stage> ocr_stages(const OcrModels& m, const OcrStageSettings& settings, bool from_files) {
  using pipeline::model_stage;
  std::vector<Stage> s;
  if (from_files) {
    s.push_back(read_stage());
    s.push_back(decode_stage(settings.max_pixels));
  } else {
    s.push_back(size_stage());
  }
  s.push_back(recording(det_preprocess_stage(), settings.recorder, "det", m.det, "det_input"));
  s.push_back(model_stage("det model", m.det, "det_input", "det_map", kTensor, {.model_hash = m.det_hash}));
  s.push_back(db_stage(settings.db));
  s.push_back(crop_stage());
  if (m.cls) {
    s.push_back(recording(cls_preprocess_stage(), settings.recorder, "cls", m.cls, "cls_input"));
    s.push_back(model_stage("cls model", m.cls, "cls_input", "cls_probs", kList, {.model_hash = m.cls_hash}));
    s.push_back(rotate_stage());
  } else {
    s.push_back(no_rotate_stage());
  }
  s.push_back(recording(rec_preprocess_stage(), settings.recorder, "rec", m.rec, "rec_input"));
  s.push_back(model_stage("rec model", m.rec, "rec_input", "rec_probs", kList, {.model_hash = m.rec_hash}));
  s.push_back(ctc_stage(m.decoder, settings.drop_score, m.keys_hash));
  return s;
}

}  // namespace ecoinfer::ocr
