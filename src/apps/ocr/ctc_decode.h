// CTC greedy decoding of the rec model's output (PaddleOCR's CTCLabelDecode
// with use_space_char=True): per time step take the most probable class,
// merge repeats, drop blanks. Class 0 is the CTC blank, classes 1..K the
// lines of ppocr_keys_v1.txt, class K+1 a space.
//
//   auto decoder = CtcDecoder::load("models/ppocr_keys_v1.txt");
//   RecText t = decoder->decode(probs.data<float>() + n * steps * classes, steps, classes);
//   // t.text "HELLO 2026", t.confidence: mean probability of the kept steps
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ecoinfer/status.h"

namespace ecoinfer::ocr {

struct RecText {
  std::string text;        // UTF-8
  float confidence = 0;    // mean of the kept steps' max probabilities; 0 when empty
};

class CtcDecoder {
 public:
  // The key file: one character per line (UTF-8), "\n" or "\r\n" endings.
  static Expected<CtcDecoder> load(const std::filesystem::path& keys_file);
  // `keys` without the blank and the space, which this adds.
  explicit CtcDecoder(std::vector<std::string> keys);

  // Number of classes the rec model must output: blank + keys + space.
  size_t class_count() const { return characters_.size(); }

  // probs: `steps` rows of `classes` probabilities (one item of N x T x C).
  RecText decode(const float* probs, int steps, int classes) const;

 private:
  std::vector<std::string> characters_;  // [0] is the blank (never printed)
};

}  // namespace ecoinfer::ocr
