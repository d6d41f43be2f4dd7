// OCR on a corpus rendered at test time (tests/apps/make_ocr_corpus.sh:
// 100 lines from a fixed word list, DejaVu faces, three sizes, multi-line
// and upside-down images, blank images), through the real `ecoinfer ocr`
// binary: line-level exact-match accuracy of at least 95%, no lines on
// blank images; bad files fail alone in a run; the stage cache skips every
// model stage on a re-run and a changed parameter reruns only its stage.
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ocr/ocr_pipeline.h"
#include "ocr_corpus_util.h"
#include "test_util.h"

namespace ecoinfer::ocr {
namespace {
namespace fs = std::filesystem;

// A hang guard, not a speed check: the sanitizer build reads the corpus
// several times slower than Release.
constexpr int kSlowRunSeconds = 600;

using corpus::read_rows;
using corpus::truth_of;
using corpus::without_spaces;

class OcrCorpus : public ::testing::Test {
 protected:
  // Rendered once per process, in SetUp rather than SetUpTestSuite: temp_dir
  // keys its folder by the running test, and ctest runs each test in its own
  // process at the same time as the others (a suite-level folder was shared,
  // and wiped by one process while another rendered into it).
  void SetUp() override {
    dir_ = testing::temp_dir("ocr_corpus");
    if (!corpus_.empty()) return;
    const std::string script = (testing::source_dir() / "tests/apps/make_ocr_corpus.sh").string();
    const testing::CliOutcome o = testing::run_command(script + " " + (dir_ / "corpus").string() + " 100", 300);
    ASSERT_EQ(o.exit_code, 0) << o.err << " (scripts/setup.sh installs imagemagick and fonts-dejavu-core)";
    corpus_ = dir_ / "corpus";
    for (const auto& e : fs::directory_iterator(corpus_))
      if (e.path().extension() == ".png") images_.push_back(e.path());
    std::sort(images_.begin(), images_.end());
  }
  fs::path dir_;                        // this test's own folder
  static fs::path corpus_;
  static std::vector<fs::path> images_;
};
fs::path OcrCorpus::corpus_;
std::vector<fs::path> OcrCorpus::images_;

TEST_F(OcrCorpus, ReadsAtLeast95PercentOfLinesExactlyAndNothingOnBlankImages) {
  std::string args;
  for (const fs::path& p : images_) args += " " + p.string();
  const testing::CliOutcome o = testing::run_cli("ocr --json --no-cache --threads 2 --models-dir " + testing::models_dir().string() + args, kSlowRunSeconds);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const nlohmann::json doc = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << o.out;
  ASSERT_EQ(doc["images"].size(), images_.size());
  int total = 0, exact = 0, blanks = 0;
  for (const auto& image : doc["images"]) {
    const std::vector<std::string> truth = truth_of(image["file"].get<std::string>());
    std::vector<std::string> rows = read_rows(image["lines"]);
    if (truth.empty()) {
      ++blanks;
      EXPECT_TRUE(image["lines"].empty()) << image["file"] << " is blank but gave " << image["lines"].dump();
      continue;
    }
    for (const std::string& line : truth) {
      ++total;
      auto it = std::find(rows.begin(), rows.end(), without_spaces(line));
      if (it != rows.end()) {
        ++exact;
        rows.erase(it);
      } else {
        std::cout << "[ miss     ] " << fs::path(image["file"].get<std::string>()).filename().string() << ": '" << line
                  << "', read " << image["lines"].dump() << "\n";
      }
    }
  }
  const double accuracy = static_cast<double>(exact) / total;
  std::cout << "[ accuracy ] " << exact << "/" << total << " lines exact (" << 100 * accuracy << "%)\n";
  EXPECT_GE(total, 100);
  EXPECT_EQ(blanks, 2);
  EXPECT_GE(accuracy, 0.95);
}

TEST_F(OcrCorpus, BadFilesFailAloneAndTheOthersAreRead) {
  const fs::path bad = testing::temp_dir("ocr_corpus_bad");
  std::ofstream(bad / "notes.png") << "meeting notes, not an image\n";
  std::ofstream(bad / "empty.png");
  const fs::path first = corpus_ / "img-000.png", second = corpus_ / "img-001.png";
  std::ifstream first_file(first, std::ios::binary);
  const std::string png(std::istreambuf_iterator<char>(first_file), {});
  std::ofstream(bad / "truncated.png", std::ios::binary) << png.substr(0, png.size() / 3);
  // Over a pixel limit of 2 megapixels (the default is 40; a 40-megapixel file takes seconds to write).
  const testing::CliOutcome huge = testing::run_command("/usr/bin/convert -size 2000x1100 xc:white " + (bad / "huge.png").string());
  ASSERT_EQ(huge.exit_code, 0) << huge.err;
  const std::vector<std::string> files = {first.string(), (bad / "notes.png").string(), (bad / "empty.png").string(),
                                          (bad / "truncated.png").string(), (bad / "huge.png").string(),
                                          (bad / "missing.png").string(), second.string()};
  std::string args;
  for (const std::string& f : files) args += " " + f;
  const testing::CliOutcome o =
      testing::run_cli("ocr --json --no-cache --max-pixels 2000000 --models-dir " + testing::models_dir().string() + args,
                       kSlowRunSeconds);
  EXPECT_EQ(o.exit_code, 1) << o.err;
  const std::map<std::string, std::string> expected = {{"notes.png", "not an image"},
                                                       {"empty.png", "empty"},
                                                       {"truncated.png", "truncated"},
                                                       {"huge.png", "over the limit of 2000000 pixels"},
                                                       {"missing.png", "does not exist"}};
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 5) << o.err;
  for (const auto& [file, reason] : expected) {
    const std::string line = "ecoinfer: error: " + (bad / file).string() + ": ";
    const size_t at = o.err.find(line);
    ASSERT_NE(at, std::string::npos) << "no error line for " << file << " in:\n" << o.err;
    EXPECT_NE(o.err.substr(at, o.err.find('\n', at) - at).find(reason), std::string::npos) << o.err;
  }
  const nlohmann::json doc = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << o.out;
  ASSERT_EQ(doc["images"].size(), files.size());
  for (size_t i : {size_t{0}, files.size() - 1}) {
    EXPECT_FALSE(doc["images"][i].contains("error")) << doc["images"][i].dump();
    EXPECT_FALSE(doc["images"][i]["lines"].empty()) << files[i];
  }
}

// Figures per stage by name.
std::map<std::string, pipeline::StageProfile> by_name(const pipeline::RunProfile& p) {
  std::map<std::string, pipeline::StageProfile> m;
  for (const auto& s : p.stages) m[s.name] = s;
  return m;
}

std::string lines_text(const OcrBatchResult& r) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& image : r.images) {
    nlohmann::json lines = nlohmann::json::array();
    for (const OcrLine& l : image->lines)
      lines.push_back({l.text, l.confidence, l.box[0].x, l.box[0].y, l.box[2].x, l.box[2].y, l.rotated});
    j.push_back(lines);
  }
  return j.dump();
}

TEST_F(OcrCorpus, SecondRunRunsNoModelAndAChangedParameterRerunsOnlyItsStage) {
  const fs::path cache_dir = testing::temp_dir("ocr_corpus_cache");
  auto cache = pipeline::StageCache::open(cache_dir, 256 << 20);
  ASSERT_TRUE(cache) << cache.status().message();
  OcrOptions options;
  options.models_dir = testing::models_dir();
  options.workers = 2;
  auto ocr = OcrPipeline::load(options);
  ASSERT_TRUE(ocr) << ocr.status().message();
  const std::vector<std::string> files = {(corpus_ / "img-002.png").string(), (corpus_ / "img-003.png").string(),
                                          (corpus_ / "blank-0.png").string()};

  const OcrBatchResult first = (*ocr)->run_files(files, cache->get());
  for (const auto& image : first.images) ASSERT_TRUE(image) << image.status().message();
  EXPECT_EQ(by_name(first.profile)["rec model"].executed_items, files.size());

  const OcrBatchResult second = (*ocr)->run_files(files, cache->get());
  for (const auto& [name, stage] : by_name(second.profile)) {
    if (name == "read file") continue;  // reads the files: never cached
    EXPECT_EQ(stage.executed_items, 0u) << name << " ran again";
    EXPECT_EQ(stage.cache_hits, files.size()) << name;
  }
  EXPECT_EQ(lines_text(second), lines_text(first));

  // Lineage: every stage of every item, with the model file's hash on model stages.
  ASSERT_EQ(second.lineage["items"].size(), files.size());
  for (const auto& stage : second.lineage["items"][0]["stages"]) {
    if (stage["stage"] == "det model") {
      EXPECT_EQ(stage["model_hash"].get<std::string>().size(), 16u);
    }
    EXPECT_FALSE(stage["outputs"].empty()) << stage.dump();
  }

  options.drop_score = 0.99f;  // a CTC decode parameter: nothing upstream changes
  auto stricter = OcrPipeline::load(options);
  ASSERT_TRUE(stricter);
  const OcrBatchResult third = (*stricter)->run_files(files, cache->get());
  for (const auto& [name, stage] : by_name(third.profile)) {
    if (name == "read file") continue;
    EXPECT_EQ(stage.executed_items, name == "CTC decode" ? files.size() : 0u) << name;
  }
}

}  // namespace
}  // namespace ecoinfer::ocr
