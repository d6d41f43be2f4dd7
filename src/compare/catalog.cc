#include "compare/catalog.h"

#include <random>
#include <system_error>

#include <fstream>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "zoo/zoo.h"

namespace ecoinfer::compare {
namespace {

// PaddleOCR's real models: the input sizes their pipeline feeds them.
std::vector<CatalogEntry> ocr_entries() {
  const std::string real = "real (PaddleOCR)";
  return {
      {"ppocr-cls", "PP-OCR cls (MobileNetV3)", "Efficient hybrid", "text-line orientation", real, false, false,
       "ch_ppocr_mobile_v2.0_cls_infer.onnx", {3, 48, 192}},
      {"ppocr-det", "PP-OCRv4 det", "Convolutional", "text detection", real, false, false,
       "ch_PP-OCRv4_det_infer.onnx", {3, 640, 640}},
      {"ppocr-rec", "PP-OCRv4 rec (SVTR)", "Hybrid CNN+Transformer", "text recognition", real, false, false,
       "ch_PP-OCRv4_rec_infer.onnx", {3, 48, 320}},
  };
}

}  // namespace

const std::vector<std::string>& default_models() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& m : zoo::zoo_models()) n.push_back(m.name);
    for (const auto& e : ocr_entries()) n.push_back(e.name);
    return n;
  }();
  return names;
}

Expected<CatalogEntry> find_entry(const std::string& name) {
  if (const zoo::ZooModelInfo* m = zoo::find_zoo_model(name)) {
    CatalogEntry e{m->name, m->display_name, m->family, m->task, "synthetic (zoo)", true, m->is_transformer, "", {}};
    if (!m->is_transformer) e.image_shape = {3, 224, 224};
    return e;
  }
  for (auto& e : ocr_entries())
    if (e.name == name) return e;
  return invalid_argument(fmt::format("--models: unknown model '{}': choose from {}", name,
                                      fmt::join(default_models(), ",")));
}

Expected<std::filesystem::path> model_file(const CatalogEntry& entry, const CompareOptions& options) {
  namespace fs = std::filesystem;
  if (!entry.is_zoo) {
    fs::path p = options.models_dir / entry.ocr_file;
    if (!fs::exists(p))
      return not_found(fmt::format("{} is missing: run scripts/fetch-models.sh (or pass --models-dir)", p.string()));
    return p;
  }
  std::string file = entry.is_transformer ? fmt::format("{}-seq{}-seed0.onnx", entry.name, options.seq_len)
                                          : fmt::format("{}-seed0.onnx", entry.name);
  fs::path p = options.cache_dir / file;
  if (fs::exists(p)) return p;
  std::error_code ec;
  fs::create_directories(options.cache_dir, ec);
  if (ec) return io_error(fmt::format("cannot create the cache folder {}: {}", options.cache_dir.string(), ec.message()));
  fs::path partial = p;
  partial += ".partial";
  Status st = zoo::write_zoo_model(entry.name, {.seq_len = options.seq_len, .seed = 0}, partial);
  if (!st) return st;
  fs::rename(partial, p, ec);
  if (ec) return io_error(fmt::format("cannot rename {} to {}: {}", partial.string(), p.string(), ec.message()));
  return p;
}

Expected<int64_t> file_parameter_count(const std::filesystem::path& model) {
  std::ifstream in(model, std::ios::binary);
  onnx::ModelProto proto;
  if (!in || !proto.ParseFromIstream(&in)) return invalid_model(fmt::format("cannot parse {} as ONNX", model.string()));
  auto count = [](const onnx::TensorProto& t) -> int64_t {
    if (t.data_type() != onnx::TensorProto::FLOAT) return 0;
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    return n;
  };
  int64_t total = 0;
  for (const auto& t : proto.graph().initializer()) total += count(t);
  for (const auto& node : proto.graph().node())
    if (node.op_type() == "Constant")
      for (const auto& a : node.attribute())
        if (a.has_t()) total += count(a.t());
  return total;
}

std::vector<NamedTensor> make_batch(const CatalogEntry& entry, int64_t batch, int64_t seq_len, uint32_t seed) {
  std::mt19937 rng(seed);
  if (entry.is_transformer) {
    std::uniform_int_distribution<int64_t> token(1000, 30000);
    std::vector<int64_t> ids(static_cast<size_t>(batch * seq_len));
    for (auto& id : ids) id = token(rng);
    std::vector<int64_t> mask(ids.size(), 1);
    return {{"input_ids", Tensor::from_vector<int64_t>({batch, seq_len}, ids)},
            {"attention_mask", Tensor::from_vector<int64_t>({batch, seq_len}, mask)}};
  }
  Shape shape = {batch, entry.image_shape[0], entry.image_shape[1], entry.image_shape[2]};
  std::uniform_real_distribution<float> pixel(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(shape_numel(shape)));
  for (auto& v : values) v = pixel(rng);
  return {{entry.is_zoo ? "input" : "x", Tensor::from_vector<float>(shape, values)}};
}

}  // namespace ecoinfer::compare
