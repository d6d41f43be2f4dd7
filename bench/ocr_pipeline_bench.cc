// OCR throughput and energy: the pipeline (ecoinfer ocr: stages on 2
// workers, models with 1 intra-op thread each) against the three models run
// one after another without it (each image decoded, detected, classified
// and read in sequence), with 1 and with 2 intra-op threads per model.
// Alternates the three sides each round and prints medians
// (docs/PERFORMANCE.md, "Pipelines: OCR").
//
//   tests/apps/make_ocr_corpus.sh /tmp/corpus 100
//   build/bench/ocr_pipeline_bench /tmp/corpus [rounds=3] [models=models]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ecoinfer/energy.h"
#include "ecoinfer/session.h"
#include "ocr/cls_stage.h"
#include "ocr/crop.h"
#include "ocr/ctc_decode.h"
#include "ocr/db_postprocess.h"
#include "ocr/det_preprocess.h"
#include "ocr/image_io.h"
#include "ocr/ocr_pipeline.h"
#include "ocr/rec_preprocess.h"

namespace fs = std::filesystem;
using namespace ecoinfer;
using namespace ecoinfer::ocr;

namespace {

struct Sequential {
  std::unique_ptr<Session> det, cls, rec;
  std::unique_ptr<CtcDecoder> decoder;
};

Tensor run1(const Session& s, Tensor x) {
  auto out = s.run({{s.inputs().front().name, std::move(x)}});
  if (!out) throw std::runtime_error(out.status().message());
  return (*out)[0].tensor;
}

// The three models one after another on one image, PaddleOCR's TextSystem
// as plain calls: no stages, no cache, no workers. Returns the lines read.
int read_image_sequentially(const Sequential& m, const fs::path& file) {
  auto image = read_image(file);
  if (!image) return 0;
  DetInput in = det_preprocess(*image);
  Tensor map = run1(*m.det, in.tensor);
  const cv::Mat prob(static_cast<int>(map.dim(2)), static_cast<int>(map.dim(3)), CV_32FC1, map.raw_data());
  const std::vector<TextBox> boxes = db_postprocess(prob, in.source_height, in.source_width);
  std::vector<cv::Mat> crops;
  for (const TextBox& b : boxes) crops.push_back(crop_text_box(*image, b.points));
  std::vector<size_t> order = order_by_aspect_ratio(crops);
  for (size_t begin = 0; begin < order.size(); begin += kClsBatchSize) {
    std::span<const size_t> batch(order.data() + begin, std::min<size_t>(kClsBatchSize, order.size() - begin));
    auto decisions = cls_decisions(run1(*m.cls, cls_batch_tensor(crops, batch)));
    if (decisions) apply_rotations(crops, batch, *decisions);
  }
  order = order_by_aspect_ratio(crops);
  int lines = 0;
  for (size_t begin = 0; begin < order.size(); begin += kRecBatchSize) {
    std::span<const size_t> batch(order.data() + begin, std::min<size_t>(kRecBatchSize, order.size() - begin));
    Tensor probs = run1(*m.rec, resize_normalize_batch(crops, batch, kRecHeight, rec_batch_width(crops, batch)));
    const int steps = static_cast<int>(probs.dim(1)), classes = static_cast<int>(probs.dim(2));
    for (size_t i = 0; i < batch.size(); ++i)
      lines += m.decoder->decode(probs.data<float>() + i * steps * classes, steps, classes).confidence >= 0.5f;
  }
  return lines;
}

struct Sample {
  double seconds = 0, joules = 0;
  int lines = 0;
};

template <class F>
Sample measure(F&& work) {
  energy::EnergyOptions eo;
  eo.threads = 2;
  auto meter = energy::probe_meter(eo);
  if (meter) (void)(*meter)->start();
  const auto start = std::chrono::steady_clock::now();
  Sample s;
  s.lines = work();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (meter)
    if (auto r = (*meter)->stop()) s.joules = r->joules;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [rounds=3] [models=models]\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const fs::path models = argc > 3 ? argv[3] : "models";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(corpus))
    if (e.path().extension() == ".png") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());

  auto load_sequential = [&](int threads) {
    Sequential m;
    m.det = std::move(*Session::load(models / kDetModelFile, {.threads = threads}));
    m.cls = std::move(*Session::load(models / kClsModelFile, {.threads = threads}));
    m.rec = std::move(*Session::load(models / kRecModelFile, {.threads = threads}));
    m.decoder = std::make_unique<CtcDecoder>(std::move(*CtcDecoder::load(models / kKeysFile)));
    return m;
  };
  const Sequential seq1 = load_sequential(1), seq2 = load_sequential(2);
  auto pipe = OcrPipeline::load({.models_dir = models, .threads = 1, .workers = 2});
  if (!pipe) {
    std::fprintf(stderr, "%s\n", pipe.status().message().c_str());
    return 1;
  }
  auto sequential = [&](const Sequential& m) {
    return [&] {
      int lines = 0;
      for (const std::string& f : files) lines += read_image_sequentially(m, f);
      return lines;
    };
  };
  auto pipelined = [&] {
    int lines = 0;
    for (const auto& image : (*pipe)->run_files(files).images)
      if (image) lines += static_cast<int>(image->lines.size());
    return lines;
  };
  struct Side {
    const char* name;
    std::function<int()> work;
    std::vector<double> seconds, joules;
    int lines = 0;
  };
  std::vector<Side> sides = {{"sequential, 1 intra-op thread per model ", sequential(seq1)},
                             {"sequential, 2 intra-op threads per model", sequential(seq2)},
                             {"pipeline, 2 workers x 1 intra-op thread ", pipelined}};
  // Warm-up: every model's first run of each shape creates its primitives.
  for (Side& side : sides) side.work();
  for (int r = 0; r < rounds; ++r) {
    fmt::print("round {}:", r + 1);
    for (Side& side : sides) {
      const Sample s = measure(side.work);
      side.seconds.push_back(s.seconds);
      side.joules.push_back(s.joules);
      side.lines = s.lines;
      fmt::print("  {:.2f} s {:.1f} J", s.seconds, s.joules);
    }
    fmt::print("\n");
  }
  fmt::print("{} images; medians of {} rounds, sides alternating (energy: estimated:cpu-time)\n", files.size(), rounds);
  const Side& base = sides[0];
  for (const Side& side : sides)
    fmt::print("  {}: {:.2f} lines/s, {:.3f} J/line ({} lines); vs sequential 1 thread: {:.2f}x throughput, "
               "{:.2f}x J/line\n",
               side.name, side.lines / median(side.seconds), median(side.joules) / side.lines, side.lines,
               (side.lines / median(side.seconds)) / (base.lines / median(base.seconds)),
               (median(side.joules) / side.lines) / (median(base.joules) / base.lines));
  return 0;
}
