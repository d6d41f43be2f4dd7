// ecoinfer ocr IMAGE... : the PaddleOCR system (det -> cls -> rec) as a
// pipeline over images: text lines with confidence and box, a stage cache
// so re-runs skip unchanged work, and with --profile the per-stage profile,
// the Amdahl report and the energy per image.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "ocr_cli.h"
#include "commands.h"
#include "ecoinfer/energy.h"
#include "ocr/ocr_api.h"
#include "pipeline/amdahl.h"

namespace ecoinfer::cli {
namespace {
namespace fs = std::filesystem;

struct OcrCliOptions {
  std::vector<std::string> images;
  std::string models_dir;
  int threads = 0;
  int intra_op = 1;
  size_t batch_size = 4;
  bool json = false;
  bool profile = false;
  bool compare_workers = false;
  bool no_cls = false;
  bool no_cache = false;
  std::string cache_dir;
  double cache_size_mb = 1024;
  int64_t max_pixels = ocr::kDefaultMaxPixels;
  std::string precision = "fp32";
  std::string save_model_inputs;
};

// $XDG_CACHE_HOME/ecoinfer/stages, else ~/.cache/ecoinfer/stages.
fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "ecoinfer" / "stages";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "ecoinfer" / "stages";
  return ".ecoinfer-cache";
}

nlohmann::json box_json(const ocr::LineBox& q) {
  nlohmann::json j = nlohmann::json::array();
  for (const ocr::BoxPoint& p : q) j.push_back({static_cast<int>(p.x), static_cast<int>(p.y)});
  return j;
}

std::string box_text(const ocr::LineBox& q) {
  return fmt::format("({},{}) ({},{}) ({},{}) ({},{})", q[0].x, q[0].y, q[1].x, q[1].y, q[2].x, q[2].y, q[3].x,
                     q[3].y);
}

// Energy of the whole run per image, estimated or measured as the machine allows.
struct EnergyFigures {
  double joules = 0;
  std::string method;
  std::string description;
};

int run_ocr(const OcrCliOptions& o) {
  const int workers = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto load_start = std::chrono::steady_clock::now();
  ocr::OcrOptions options;
  options.models_dir = o.models_dir.empty() ? default_ocr_models_dir() : fs::path(o.models_dir);
  options.threads = o.intra_op;
  options.workers = workers;
  options.batch_size = o.batch_size;
  options.use_cls = !o.no_cls;
  options.max_pixels = o.max_pixels;
  options.save_model_inputs = o.save_model_inputs;
  auto precision = ocr::parse_ocr_precision(o.precision);
  if (!precision) return fail(precision.status().message());
  options.precision = *precision;
  auto ocr_pipeline = ocr::load_ocr_engine(options);  // loads libecoinfer_ocr.so
  if (!ocr_pipeline) return fail(ocr_pipeline.status().message());
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const ocr::OcrEngine& pipe = **ocr_pipeline;

  std::unique_ptr<pipeline::StageCache> cache;
  if (!o.no_cache) {
    auto c = pipeline::StageCache::open(o.cache_dir.empty() ? default_cache_dir() : fs::path(o.cache_dir),
                                        static_cast<uint64_t>(o.cache_size_mb * 1024 * 1024));
    if (!c) return fail(c.status().message());
    cache = std::move(*c);
  }
  // --compare-workers: the same images with 1 worker on the same models, for
  // the measured speed-up. A warm-up pass first, so neither timed run pays
  // for creating the engine's per-shape plans and primitives.
  std::optional<pipeline::RunProfile> single;
  if (o.compare_workers && workers > 1) {
    (void)pipe.run_files(o.images, nullptr);
    single = pipe.run_files(o.images, nullptr, 1).profile;
  }
  energy::EnergyOptions energy_options;
  energy_options.threads = workers * std::max(1, o.intra_op);
  auto meter = energy::probe_meter(energy_options);
  if (meter) (void)(*meter)->start();
  ocr::OcrBatchResult result = pipe.run_files(o.images, cache.get());
  EnergyFigures energy;
  if (meter) {
    if (auto reading = (*meter)->stop()) {
      energy.joules = reading->joules;
      energy.method = reading->method;
      energy.description = (*meter)->describe();
    }
  }
  if (cache) {
    std::ofstream(cache->dir() / "lineage.json") << result.lineage.dump(1);
  }

  int failed = 0, lines = 0;
  nlohmann::json doc;
  doc["precision"] = o.precision;
  doc["images"] = nlohmann::json::array();
  for (size_t i = 0; i < o.images.size(); ++i) {
    const auto& image = result.images[i];
    if (!image) {
      ++failed;
      fmt::print(stderr, "ecoinfer: error: {}: {}\n", o.images[i], image.status().message());
      if (o.json) doc["images"].push_back({{"file", o.images[i]}, {"error", image.status().message()}});
      continue;
    }
    lines += static_cast<int>(image->lines.size());
    if (o.json) {
      nlohmann::json img = {{"file", o.images[i]}, {"width", image->width}, {"height", image->height}};
      img["lines"] = nlohmann::json::array();
      for (const ocr::OcrLine& l : image->lines)
        img["lines"].push_back({{"text", l.text}, {"confidence", l.confidence}, {"box", box_json(l.box)},
                                {"box_score", l.box_score}, {"rotated", l.rotated}});
      doc["images"].push_back(std::move(img));
      continue;
    }
    fmt::print("{}: {} line(s)\n", o.images[i], image->lines.size());
    for (const ocr::OcrLine& l : image->lines) fmt::print("  {:.3f}  {}  {}\n", l.confidence, box_text(l.box), l.text);
  }

  if (o.profile) {
    // The Amdahl report is cleanest from the 1-worker run when there is one.
    const pipeline::RunProfile& base = single ? *single : result.profile;
    const auto report = pipeline::amdahl_report(base, single ? &result.profile : nullptr);
    const size_t ok = o.images.size() - failed;
    if (o.json) {
      doc["profile"] = pipeline::profile_json(result.profile);
      doc["profile"]["load_seconds"] = load_seconds;
      doc["profile"]["amdahl"] = pipeline::amdahl_json(report);
      doc["profile"]["images_per_second"] = ok / result.profile.wall_seconds;
      doc["profile"]["lines_per_second"] = lines / result.profile.wall_seconds;
      if (!energy.method.empty())
        doc["profile"]["energy"] = {{"joules", energy.joules}, {"joules_per_image", ok ? energy.joules / ok : 0.0},
                                    {"joules_per_line", lines ? energy.joules / lines : 0.0},
                                    {"method", energy.method}, {"meter", energy.description}};
    } else {
      fmt::print("\n{} models loaded in {} (not included)\n", o.precision, format_seconds(load_seconds));
      fmt::print("{}", pipeline::format_profile(result.profile));
      fmt::print("{}", pipeline::format_amdahl(report));
      fmt::print("throughput: {:.2f} images/s, {:.2f} lines/s\n", ok / result.profile.wall_seconds,
                 lines / result.profile.wall_seconds);
      if (!energy.method.empty())
        fmt::print("energy: {:.3f} J per image, {:.3f} J per line ({}; {})\n", ok ? energy.joules / ok : 0.0,
                   lines ? energy.joules / lines : 0.0, energy.method, energy.description);
    }
  }
  if (!o.save_model_inputs.empty())
    fmt::print(stderr, "saved the inputs of {} model runs under {} (calibration data: docs/OCR.md)\n",
               pipe.saved_model_inputs(), o.save_model_inputs);
  if (o.json) fmt::print("{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  return failed ? 1 : 0;
}

}  // namespace

// models/ under the current folder, else next to the binary or its parent
// (build/ecoinfer finds <repo>/models, where scripts/fetch-models.sh puts them).
std::filesystem::path default_ocr_models_dir() {
  auto has_models = [](const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / ocr::kDetModelFile, ec);
  };
  if (has_models("models")) return "models";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& dir : {exe.parent_path() / "models", exe.parent_path().parent_path() / "models"})
      if (has_models(dir)) return dir;
  }
  return "models";
}

void add_ocr_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<OcrCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "ocr", "Read the text in images with the PaddleOCR models (det, cls, rec), run as a pipeline:\n"
             "one line per text line, with confidence and box (clockwise from top-left, pixels).\n"
             "A bad file gets its own error line (exit code 1); the other files are still read.\n"
             "Stage results are cached by content, so a re-run over the same images skips the models.\n"
             "  ecoinfer ocr page.png --json\n"
             "  ecoinfer ocr corpus/*.png --threads 2 --profile --compare-workers --no-cache\n"
             "  ecoinfer ocr page.png --precision int8   (after `ecoinfer quantize --pipeline ocr`, docs/OCR.md)");
  sub->add_option("images", o->images, "image files (PNG, JPEG, BMP, TIFF, WebP)")->required();
  sub->add_option("--models-dir", o->models_dir,
                  "folder with the PaddleOCR models and ppocr_keys_v1.txt (default: ./models, else next to the binary)");
  sub->add_option("--threads", o->threads, "pipeline workers: stage tasks running at once (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--intra-op", o->intra_op, "threads inside each model run (default 1: the workers share the cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--batch-size", o->batch_size, "images per micro-batch (default 4)")->check(CLI::PositiveNumber);
  sub->add_flag("--json", o->json, "print one JSON document");
  sub->add_flag("--profile", o->profile,
                "print per-stage wall, CPU and waiting time, bytes moved, the Amdahl report and energy per image");
  sub->add_flag("--compare-workers", o->compare_workers,
                "with --profile: first a warm-up pass, then the images with 1 worker and no cache, for the measured speed-up");
  sub->add_flag("--no-cls", o->no_cls, "skip the 0/180 degree text direction classifier");
  sub->add_flag("--no-cache", o->no_cache, "do not read or write the stage cache");
  sub->add_option("--cache-dir", o->cache_dir, "stage cache folder (default: ~/.cache/ecoinfer/stages)");
  sub->add_option("--cache-size-mb", o->cache_size_mb, "bound on the stage cache; the oldest entries go (default 1024)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--precision", o->precision,
                  "fp32 (default); int8: the quantized models in MODELS_DIR/int8/, made once by\n"
                  "`ecoinfer quantize --pipeline ocr`; bf16: the fp32 files with bf16 matrix ops")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  sub->add_option("--save-model-inputs", o->save_model_inputs,
                  "also write every det, cls and rec input to DIR/<model>/x/<hash>.npy: calibration data for\n"
                  "`ecoinfer quantize MODEL --calibration DIR/<model>` (preprocessing then skips the cache)");
  sub->add_option("--max-pixels", o->max_pixels, "refuse images with more pixels (default 40000000)")
      ->check(CLI::PositiveNumber);
  commands.emplace_back(sub, [o] { return run_ocr(*o); });
}

}  // namespace ecoinfer::cli
