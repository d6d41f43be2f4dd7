// Real-ish inputs for the OCR models: dark words rendered with OpenCV on a
// light, slightly noisy page, normalized the way PaddleOCR feeds each model
// (det: ImageNet mean/std; cls and rec: to [-1, 1]), written as .npy files
// in the calibration folder layout DIR/<input>/NNN.npy.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include <opencv2/imgproc.hpp>

#include "ecoinfer/session.h"

namespace ecoinfer::testing {

enum class Normalization { kImageNet, kHalf };

inline cv::Mat render_text_image(int height, int width, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const int paper = static_cast<int>(uniform(200, 255));
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(paper, paper - uniform(0, 20), paper - uniform(0, 30)));
  static const char* kWords[] = {"HELLO", "ecoinfer", "2026", "int8", "Quant", "OCR", "text", "energy", "AMX", "model"};
  // Whole words that fit the line: clipped glyphs are ambiguous even in
  // fp32, and a near tie flips under any perturbation, int8 or not.
  const int lines = std::max(1, height / 40);
  const int line_height = height / lines;
  for (int l = 0; l < lines; ++l) {
    const std::string word = std::string(kWords[rng() % 10]) + " " + kWords[rng() % 10];
    int baseline = 0;
    const cv::Size unit = cv::getTextSize(word, cv::FONT_HERSHEY_SIMPLEX, 1.0, 2, &baseline);
    const double fit = std::min(line_height * 0.6 / (unit.height + baseline), width * 0.9 / unit.width);
    const double scale = fit * uniform(0.75, 1.0);
    const int ink = static_cast<int>(uniform(0, 80));
    const int text_width = static_cast<int>(unit.width * scale);
    const cv::Point origin(static_cast<int>(uniform(0, std::max(1, width - text_width))),
                           l * line_height + static_cast<int>(line_height * 0.5 + unit.height * scale * 0.5));
    cv::putText(img, word, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(ink, ink, ink),
                std::max(1, static_cast<int>(std::lround(scale * 2))), cv::LINE_AA);
  }
  // Seeded here, not through OpenCV's global RNG, so an image depends on its
  // seed alone and not on what the process rendered before.
  cv::Mat noise(img.size(), CV_32FC3);
  cv::RNG(seed).fill(noise, cv::RNG::NORMAL, 0, 6);
  cv::Mat noisy;
  img.convertTo(noisy, CV_32FC3);
  noisy += noise;
  noisy.convertTo(img, CV_8UC3);  // saturates at 0 and 255
  return img;
}

inline Tensor normalize_chw(const cv::Mat& bgr, Normalization norm) {
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  Tensor t = Tensor::zeros(DataType::kFloat32, {1, 3, bgr.rows, bgr.cols});
  float* out = t.data<float>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < bgr.rows; ++y)
      for (int x = 0; x < bgr.cols; ++x) {
        const float v = bgr.at<cv::Vec3b>(y, x)[2 - c] / 255.0f;  // RGB order
        out[(c * bgr.rows + y) * bgr.cols + x] = norm == Normalization::kHalf ? (v - 0.5f) / 0.5f : (v - mean[c]) / stdev[c];
      }
  return t;
}

// Writes `count` images of height x width as DIR/<input>/000.npy ...
inline Status write_text_images(const std::filesystem::path& dir, const std::string& input, int count, int height,
                                int width, Normalization norm, uint32_t seed) {
  std::filesystem::create_directories(dir / input);
  for (int i = 0; i < count; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%03d.npy", i);
    ECOINFER_RETURN_IF_ERROR(write_npy(dir / input / name, normalize_chw(render_text_image(height, width, seed + i), norm)));
  }
  return Status::ok();
}

}  // namespace ecoinfer::testing
