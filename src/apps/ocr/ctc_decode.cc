#include "ocr/ctc_decode.h"

#include <fstream>

namespace ecoinfer::ocr {

Expected<CtcDecoder> CtcDecoder::load(const std::filesystem::path& keys_file) {
  std::ifstream in(keys_file, std::ios::binary);
  if (!in)
    return not_found(keys_file.string() + ": character key file not found (scripts/fetch-models.sh fetches it)");
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    keys.push_back(line);
  }
  if (keys.empty()) return invalid_argument(keys_file.string() + ": character key file is empty");
  return CtcDecoder(std::move(keys));
}

CtcDecoder::CtcDecoder(std::vector<std::string> keys) {
  characters_.reserve(keys.size() + 2);
  characters_.push_back("");  // blank
  for (std::string& k : keys) characters_.push_back(std::move(k));
  characters_.push_back(" ");
}

RecText CtcDecoder::decode(const float* probs, int steps, int classes) const {
  RecText out;
  double sum = 0;
  int kept = 0;
  int previous = -1;
  for (int t = 0; t < steps; ++t) {
    const float* row = probs + static_cast<size_t>(t) * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;  // first maximum wins, as numpy's argmax
    const bool repeat = best == previous;
    previous = best;
    if (repeat || best == 0 || best >= static_cast<int>(characters_.size())) continue;
    out.text += characters_[best];
    sum += row[best];
    ++kept;
  }
  out.confidence = kept ? static_cast<float>(sum / kept) : 0.0f;
  return out;
}

}  // namespace ecoinfer::ocr
