// ecoinfer ocr IMAGE... : the PaddleOCR system (det -> cls -> rec) on images,
// text lines with confidence and box, optionally a per-stage time profile.
#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "ocr/image_io.h"
#include "ocr/ocr_pipeline.h"

namespace ecoinfer::cli {
namespace {
namespace fs = std::filesystem;
using ocr::Stage;
using ocr::StageTimes;

struct OcrCliOptions {
  std::vector<std::string> images;
  std::string models_dir;
  int threads = 0;
  bool json = false;
  bool profile = false;
  bool no_cls = false;
};

// models/ under the current folder, else next to the binary or its parent
// (build/ecoinfer finds <repo>/models, where scripts/fetch-models.sh puts them).
fs::path default_models_dir() {
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

nlohmann::json box_json(const ocr::Quad& q) {
  nlohmann::json j = nlohmann::json::array();
  for (const cv::Point2f& p : q) j.push_back({static_cast<int>(p.x), static_cast<int>(p.y)});
  return j;
}

std::string box_text(const ocr::Quad& q) {
  return fmt::format("({},{}) ({},{}) ({},{}) ({},{})", q[0].x, q[0].y, q[1].x, q[1].y, q[2].x, q[2].y, q[3].x,
                     q[3].y);
}

// The stage that takes the largest share bounds any speed-up of the others
// (Amdahl): say which one and by how much.
nlohmann::json profile_json(const StageTimes& t, int images) {
  nlohmann::json j;
  j["method"] = "wall time per stage (steady clock), summed over all images; model loading excluded";
  j["images"] = images;
  j["total_seconds"] = t.total();
  size_t top = 0;
  for (size_t i = 0; i < ocr::kStageCount; ++i) {
    const double s = t.seconds[i];
    if (s > t.seconds[top]) top = i;
    j["stages"].push_back({{"stage", ocr::stage_name(static_cast<Stage>(i))},
                           {"seconds", s},
                           {"share", t.total() > 0 ? s / t.total() : 0.0}});
  }
  const double share = t.total() > 0 ? t.seconds[top] / t.total() : 0.0;
  j["bottleneck"] = {{"stage", ocr::stage_name(static_cast<Stage>(top))},
                     {"share", share},
                     {"max_speedup_from_other_stages", share > 0 ? 1.0 / share : 0.0}};
  return j;
}

void print_profile(const StageTimes& t, int images, double load_seconds) {
  fmt::print("\nprofile: wall time per stage, summed over {} image(s) (models loaded in {}, not included)\n",
             images, format_seconds(load_seconds));
  size_t top = 0;
  for (size_t i = 0; i < ocr::kStageCount; ++i) {
    const double share = t.total() > 0 ? t.seconds[i] / t.total() : 0.0;
    if (t.seconds[i] > t.seconds[top]) top = i;
    fmt::print("  {:<16} {:>12} {:>6.1f}%\n", ocr::stage_name(static_cast<Stage>(i)), format_seconds(t.seconds[i]),
               100 * share);
  }
  fmt::print("  {:<16} {:>12} {:>6.1f}%\n", "total", format_seconds(t.total()), 100.0);
  const double share = t.total() > 0 ? t.seconds[top] / t.total() : 0.0;
  if (share > 0 && share < 1)
    fmt::print("bottleneck: {} ({:.1f}%); making every other stage free would speed OCR up by at most {:.2f}x\n",
               ocr::stage_name(static_cast<Stage>(top)), 100 * share, 1.0 / share);
}

int run_ocr(const OcrCliOptions& o) {
  // Decode every image first: a bad file fails fast, before models load.
  StageTimes times;
  std::vector<cv::Mat> images;
  for (const std::string& path : o.images) {
    const auto start = std::chrono::steady_clock::now();
    auto image = ocr::read_image(path);
    times[Stage::kImageDecode] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!image) return fail(image.status().message());
    images.push_back(std::move(*image));
  }
  const auto load_start = std::chrono::steady_clock::now();
  ocr::OcrOptions options;
  options.models_dir = o.models_dir.empty() ? default_models_dir() : fs::path(o.models_dir);
  options.threads = o.threads;
  options.use_cls = !o.no_cls;
  auto pipeline = ocr::OcrPipeline::load(options);
  if (!pipeline) return fail(pipeline.status().message());
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  nlohmann::json doc;
  doc["images"] = nlohmann::json::array();
  for (size_t i = 0; i < images.size(); ++i) {
    auto lines = (*pipeline)->run(images[i], &times);
    if (!lines) return fail(lines.status().with_context(o.images[i]).message());
    if (o.json) {
      nlohmann::json img = {{"file", o.images[i]}, {"width", images[i].cols}, {"height", images[i].rows}};
      img["lines"] = nlohmann::json::array();
      for (const ocr::OcrLine& l : *lines)
        img["lines"].push_back({{"text", l.text}, {"confidence", l.confidence}, {"box", box_json(l.box)},
                                {"box_score", l.box_score}, {"rotated", l.rotated}});
      doc["images"].push_back(std::move(img));
      continue;
    }
    fmt::print("{}: {} line(s)\n", o.images[i], lines->size());
    for (const ocr::OcrLine& l : *lines) fmt::print("  {:.3f}  {}  {}\n", l.confidence, box_text(l.box), l.text);
  }
  if (o.json) {
    if (o.profile) {
      doc["profile"] = profile_json(times, static_cast<int>(images.size()));
      doc["profile"]["load_seconds"] = load_seconds;
    }
    // Replace invalid UTF-8 rather than throw: a model could emit anything.
    fmt::print("{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (o.profile) {
    print_profile(times, static_cast<int>(images.size()), load_seconds);
  }
  return 0;
}

}  // namespace

void add_ocr_command(CLI::App& app, CommandList& commands) {
  auto o = std::make_shared<OcrCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "ocr", "Read the text in images with the PaddleOCR models (det, cls, rec): one line per text line,\n"
             "with confidence and box (clockwise from top-left, pixels).\n"
             "  ecoinfer ocr page.png --json --profile");
  sub->add_option("images", o->images, "image files (PNG, JPEG, BMP, TIFF, WebP)")->required();
  sub->add_option("--models-dir", o->models_dir,
                  "folder with the PaddleOCR models and ppocr_keys_v1.txt (default: ./models, else next to the binary)");
  sub->add_option("--threads", o->threads, "intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", o->json, "print one JSON document");
  sub->add_flag("--profile", o->profile, "print wall time per stage and its share of the total");
  sub->add_flag("--no-cls", o->no_cls, "skip the 0/180 degree text direction classifier");
  commands.emplace_back(sub, [o] { return run_ocr(*o); });
}

}  // namespace ecoinfer::cli
