// Reading `ecoinfer ocr --json` results against the rendered corpus's ground
// truth (make_ocr_corpus.sh writes image.txt beside image.png): shared by the
// fp32 corpus test and the int8 one.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecoinfer::ocr::corpus {

// PaddleOCR's RecMetric compares with spaces removed (ignore_space=True):
// whether the recognizer emits a space between two words is not an error.
inline std::string without_spaces(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

// Boxes of one image grouped into rows (a line may come back as one box
// per word), each row's words in reading order: left to right, or right
// to left when the classifier turned them (the image is upside down).
inline std::vector<std::string> read_rows(const nlohmann::json& lines) {
  struct Word {
    std::string text;
    float x, top, bottom;
    bool rotated;
  };
  std::vector<Word> words;
  for (const auto& l : lines) {
    float x = 1e9f, top = 1e9f, bottom = -1e9f;
    for (const auto& p : l["box"]) {
      x = std::min(x, p[0].get<float>());
      top = std::min(top, p[1].get<float>());
      bottom = std::max(bottom, p[1].get<float>());
    }
    words.push_back({l["text"].get<std::string>(), x, top, bottom, l["rotated"].get<bool>()});
  }
  std::sort(words.begin(), words.end(), [](const Word& a, const Word& b) { return a.top < b.top; });
  std::vector<std::vector<Word>> rows;
  for (const Word& w : words) {
    const float centre = (w.top + w.bottom) / 2;
    if (!rows.empty() && centre > rows.back()[0].top && centre < rows.back()[0].bottom) rows.back().push_back(w);
    else rows.push_back({w});
  }
  std::vector<std::string> out;
  for (auto& row : rows) {
    const bool turned = row[0].rotated;
    std::sort(row.begin(), row.end(), [&](const Word& a, const Word& b) { return turned ? a.x > b.x : a.x < b.x; });
    std::string text;
    for (const Word& w : row) text += w.text;
    out.push_back(without_spaces(text));
  }
  return out;
}

inline std::vector<std::string> truth_of(const std::filesystem::path& png) {
  std::ifstream in(std::filesystem::path(png).replace_extension(".txt"));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  return lines;
}

// Ground-truth lines read exactly (each row matches at most one line).
inline int exact_lines(const std::vector<std::string>& truth, std::vector<std::string> rows) {
  int exact = 0;
  for (const std::string& line : truth) {
    auto it = std::find(rows.begin(), rows.end(), without_spaces(line));
    if (it == rows.end()) continue;
    ++exact;
    rows.erase(it);
  }
  return exact;
}

// Rows of `a` with no equal row in `b`, or the other way round, whichever
// is more: how many lines read differently in two runs over one image.
inline int changed_rows(std::vector<std::string> a, std::vector<std::string> b) {
  int only_a = 0;
  for (const std::string& row : a) {
    auto it = std::find(b.begin(), b.end(), row);
    if (it == b.end()) ++only_a;
    else b.erase(it);
  }
  return std::max(only_a, static_cast<int>(b.size()));
}

}  // namespace ecoinfer::ocr::corpus
