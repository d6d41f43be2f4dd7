// Activation ranges from calibration data: min/max, a percentile of |x|, or
// the KL-divergence threshold (TensorRT's entropy calibration).
//
//   RangeStats s;                        // pass 1: every calibration sample
//   s.observe_minmax(values);
//   s.start_histogram();                 // pass 2: bins over [0, max|x|]
//   s.observe_histogram(values);
//   FloatRange r = s.range(RangeMethod::kEntropy, 99.99);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/quantize.h"

namespace ecoinfer::quant {

struct FloatRange {
  float min = 0;
  float max = 0;
};

// Where the bins of |x| start to be cut: 2048 bins, as TensorRT uses.
inline constexpr int kHistogramBins = 2048;

class RangeStats {
 public:
  void observe_minmax(std::span<const float> values);
  // Fixes the bin edges at [0, max(|min|, |max|)] seen so far.
  void start_histogram();
  void observe_histogram(std::span<const float> values);

  bool has_values() const { return seen_; }
  FloatRange minmax() const { return {min_, max_}; }
  const std::vector<double>& histogram() const { return bins_; }
  float bin_width() const { return bin_width_; }
  // The range the method gives. kMinMax needs only pass 1.
  FloatRange range(RangeMethod method, double percentile) const;

 private:
  bool seen_ = false;
  float min_ = 0;
  float max_ = 0;
  float bin_width_ = 0;
  std::vector<double> bins_;
};

// The smallest threshold t such that `percentile` % of the histogram's mass
// lies at or below t (bin upper edges).
float percentile_threshold(std::span<const double> bins, float bin_width, double percentile);

// TensorRT's entropy calibration: the threshold t (a bin upper edge, at least
// `levels` bins) whose `levels`-level quantization of the clipped histogram
// loses the least information, KL(P || Q).
float entropy_threshold(std::span<const double> bins, float bin_width, int levels);

// Clips [min, max] to [-t, t]: a tensor that never goes negative keeps 0.
FloatRange clip_range(FloatRange r, float threshold);

}  // namespace ecoinfer::quant
