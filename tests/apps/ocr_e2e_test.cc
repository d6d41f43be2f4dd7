// The whole OCR system on a rendered image: text drawn with OpenCV's Hershey
// font must be read back, line by line, with boxes where it was drawn;
// through the library and through `ecoinfer ocr --json`. Bad input must end
// with one error line and exit code 1.
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "ocr/image_io.h"
#include "ocr/ocr_pipeline.h"
#include "test_util.h"

namespace ecoinfer::ocr {
namespace {
namespace fs = std::filesystem;

struct DrawnLine {
  std::string text;
  cv::Rect where;  // the drawn glyphs' extent
};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kScale = 2.5;
constexpr int kThickness = 6;

// Black text on white, one line each at the given baseline origins.
cv::Mat render(const std::vector<std::pair<std::string, cv::Point>>& lines, std::vector<DrawnLine>* drawn) {
  cv::Mat img(300, 800, CV_8UC3, cv::Scalar(255, 255, 255));
  for (const auto& [text, origin] : lines) {
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, kFont, kScale, kThickness, &baseline);
    cv::putText(img, text, origin, kFont, kScale, cv::Scalar(0, 0, 0), kThickness, cv::LINE_AA);
    drawn->push_back({text, cv::Rect(origin.x, origin.y - size.height, size.width, size.height + baseline)});
  }
  return img;
}

const std::vector<std::pair<std::string, cv::Point>> kLines = {{"HELLO 2026", {50, 110}}, {"ecoinfer ocr", {50, 240}}};

struct ReadLine {
  std::string text;
  cv::Rect where;
};

// Words of one line may come back as separate boxes (Hershey's word gap is
// wide): boxes whose vertical centres fall inside the first box's height are
// one line, joined left to right with a space.
std::vector<ReadLine> group_lines(std::vector<std::pair<std::string, cv::Rect>> words) {
  std::sort(words.begin(), words.end(), [](auto& a, auto& b) { return a.second.y < b.second.y; });
  std::vector<std::vector<std::pair<std::string, cv::Rect>>> rows;
  for (auto& w : words) {
    const int cy = w.second.y + w.second.height / 2;
    if (!rows.empty() && cy >= rows.back()[0].second.y && cy <= rows.back()[0].second.br().y)
      rows.back().push_back(w);
    else
      rows.push_back({w});
  }
  std::vector<ReadLine> out;
  for (auto& row : rows) {
    std::sort(row.begin(), row.end(), [](auto& a, auto& b) { return a.second.x < b.second.x; });
    ReadLine line;
    for (auto& [text, rect] : row) {
      const size_t b = text.find_first_not_of(' '), e = text.find_last_not_of(' ');
      const std::string trimmed = b == std::string::npos ? "" : text.substr(b, e - b + 1);
      line.text += (line.text.empty() ? "" : " ") + trimmed;
      line.where = line.where.area() ? (line.where | rect) : rect;
    }
    out.push_back(line);
  }
  return out;
}

int edit_distance_ignoring_case(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

double iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// Both drawn lines read back (case-insensitive, at most one character off),
// each box overlapping where the line was drawn.
void expect_lines_read(const std::vector<ReadLine>& read, const std::vector<DrawnLine>& drawn) {
  ASSERT_EQ(read.size(), drawn.size());
  for (size_t i = 0; i < drawn.size(); ++i) {
    std::cout << "[ read     ] '" << read[i].text << "' at " << read[i].where << ", drawn '" << drawn[i].text
              << "' at " << drawn[i].where << "\n";
    EXPECT_LE(edit_distance_ignoring_case(read[i].text, drawn[i].text), 1)
        << "read '" << read[i].text << "', drawn '" << drawn[i].text << "'";
    EXPECT_GT(iou(read[i].where, drawn[i].where), 0.5) << read[i].where << " vs " << drawn[i].where;
  }
}

cv::Rect bounding(const LineBox& box) {
  std::vector<cv::Point2f> points;
  for (const BoxPoint& p : box) points.emplace_back(p.x, p.y);
  return cv::boundingRect(points);
}

class OcrEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    OcrOptions options;
    options.models_dir = testing::models_dir();
    options.threads = 2;  // intra-op: one image at a time here
    auto p = OcrPipeline::load(options);
    ASSERT_TRUE(p) << p.status().message() << " (run scripts/fetch-models.sh)";
    pipeline_ = std::move(*p).release();
  }
  static void TearDownTestSuite() { delete pipeline_; }
  static OcrPipeline* pipeline_;
};
OcrPipeline* OcrEndToEnd::pipeline_ = nullptr;

TEST_F(OcrEndToEnd, ReadsRenderedLinesWhereTheyWereDrawn) {
  std::vector<DrawnLine> drawn;
  const cv::Mat img = render(kLines, &drawn);
  const fs::path png = testing::temp_dir("ocr_e2e_lib") / "hello.png";
  ASSERT_TRUE(cv::imwrite(png.string(), img));
  auto image = read_image(png);
  ASSERT_TRUE(image) << image.status().message();
  pipeline::RunProfile profile;
  auto lines = pipeline_->run(*image, &profile);
  ASSERT_TRUE(lines) << lines.status().message();
  std::vector<std::pair<std::string, cv::Rect>> words;
  for (const OcrLine& l : *lines) {
    std::cout << "[ box      ] '" << l.text << "' confidence " << l.confidence << "\n";
    EXPECT_GE(l.confidence, 0.5f);
    words.emplace_back(l.text, bounding(l.box));
  }
  expect_lines_read(group_lines(words), drawn);
  for (const auto& stage : profile.stages) {
    EXPECT_EQ(stage.items, 1u) << stage.name;
    if (stage.is_model) EXPECT_GT(stage.wall_seconds, 0) << stage.name;
  }
}

TEST_F(OcrEndToEnd, UpsideDownImageIsTurnedByTheClassifier) {
  std::vector<DrawnLine> drawn;
  cv::Mat img = render(kLines, &drawn);
  cv::rotate(img, img, cv::ROTATE_180);
  auto lines = pipeline_->run(img);
  ASSERT_TRUE(lines) << lines.status().message();
  std::vector<std::pair<std::string, cv::Rect>> words;
  for (const OcrLine& l : *lines) {
    std::cout << "[ box      ] '" << l.text << "' rotated " << l.rotated << "\n";
    EXPECT_TRUE(l.rotated) << l.text;
    cv::Rect r = bounding(l.box);  // back into the unrotated frame
    words.emplace_back(l.text, cv::Rect(img.cols - r.br().x, img.rows - r.br().y, r.width, r.height));
  }
  // Rotated, the second drawn line comes first in reading order; group_lines sorts by the unrotated frame.
  expect_lines_read(group_lines(words), drawn);
}

TEST_F(OcrEndToEnd, BlankImageHasNoLines) {
  auto lines = pipeline_->run(cv::Mat(200, 300, CV_8UC3, cv::Scalar(255, 255, 255)));
  ASSERT_TRUE(lines) << lines.status().message();
  EXPECT_TRUE(lines->empty());
}

TEST(OcrCli, JsonOutputHasBothLinesAndAProfile) {
  std::vector<DrawnLine> drawn;
  const fs::path png = testing::temp_dir("ocr_e2e_cli") / "hello.png";
  ASSERT_TRUE(cv::imwrite(png.string(), render(kLines, &drawn)));
  const testing::CliOutcome o = testing::run_cli("ocr " + png.string() + " --json --profile --no-cache --threads 2 --models-dir " +
                            testing::models_dir().string());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const nlohmann::json j = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << o.out;
  ASSERT_EQ(j["images"].size(), 1u);
  EXPECT_EQ(j["images"][0]["width"], 800);
  std::vector<std::pair<std::string, cv::Rect>> words;
  for (const auto& line : j["images"][0]["lines"]) {
    std::vector<cv::Point> pts;
    for (const auto& p : line["box"]) pts.emplace_back(p[0].get<int>(), p[1].get<int>());
    ASSERT_EQ(pts.size(), 4u);
    words.emplace_back(line["text"].get<std::string>(), cv::boundingRect(pts));
  }
  expect_lines_read(group_lines(words), drawn);
  ASSERT_EQ(j["profile"]["stages"].size(), 12u);  // read file ... CTC decode
  double shares = 0;
  for (const auto& s : j["profile"]["stages"]) shares += s["share"].get<double>();
  EXPECT_NEAR(shares, 1.0, 1e-6);
  EXPECT_EQ(j["profile"]["amdahl"]["predicted_speedup"].size(), 4u);
  EXPECT_FALSE(j["profile"]["amdahl"]["limiting_stage"]["stage"].get<std::string>().empty());
  EXPECT_GT(j["profile"]["energy"]["joules_per_image"].get<double>(), 0);
  EXPECT_EQ(j["profile"]["energy"]["method"], "estimated:cpu-time");
}

TEST(OcrCli, MissingImageFile) {
  testing::expect_clean_failure(testing::run_cli("ocr /nonexistent/page.png"), "does not exist");
}

TEST(OcrCli, NonImageFile) {
  const fs::path dir = testing::temp_dir("ocr_cli_not_image");
  std::ofstream(dir / "page.png") << "this is a text file, not an image\n";
  testing::expect_clean_failure(testing::run_cli("ocr " + (dir / "page.png").string()), "not an image");
}

TEST(OcrCli, MissingModelsFolder) {
  std::vector<DrawnLine> drawn;
  const fs::path png = testing::temp_dir("ocr_cli_no_models") / "hello.png";
  ASSERT_TRUE(cv::imwrite(png.string(), render(kLines, &drawn)));
  testing::expect_clean_failure(testing::run_cli("ocr " + png.string() + " --models-dir /nonexistent"), "fetch-models");
}

}  // namespace
}  // namespace ecoinfer::ocr
