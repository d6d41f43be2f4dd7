#include "quant/range_methods.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ecoinfer::quant {

void RangeStats::observe_minmax(std::span<const float> values) {
  for (float v : values) {
    if (!std::isfinite(v)) continue;  // an inf would make every scale useless
    if (!seen_) {
      min_ = max_ = v;
      seen_ = true;
    }
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
}

void RangeStats::start_histogram() {
  const float amax = std::max(std::fabs(min_), std::fabs(max_));
  bins_.assign(kHistogramBins, 0.0);
  bin_width_ = amax > 0 ? amax / kHistogramBins : 1.0f;
}

void RangeStats::observe_histogram(std::span<const float> values) {
  if (bins_.empty()) start_histogram();
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    const auto bin = static_cast<int64_t>(std::fabs(v) / bin_width_);
    bins_[static_cast<size_t>(std::min<int64_t>(bin, kHistogramBins - 1))] += 1;
  }
}

FloatRange RangeStats::range(RangeMethod method, double percentile) const {
  if (method == RangeMethod::kMinMax || bins_.empty()) return minmax();
  if (method == RangeMethod::kPercentile) return clip_range(minmax(), percentile_threshold(bins_, bin_width_, percentile));
  // uint8 spends all 256 levels on [0, t] for a tensor that is never
  // negative (after ReLU), half of them on each side otherwise.
  const int levels = min_ >= 0 ? 256 : 128;
  return clip_range(minmax(), entropy_threshold(bins_, bin_width_, levels));
}

float percentile_threshold(std::span<const double> bins, float bin_width, double percentile) {
  const double total = std::accumulate(bins.begin(), bins.end(), 0.0);
  if (total <= 0) return 0;
  const double wanted = total * std::clamp(percentile, 0.0, 100.0) / 100.0;
  double cumulative = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    cumulative += bins[i];
    if (cumulative >= wanted) return static_cast<float>(i + 1) * bin_width;
  }
  return static_cast<float>(bins.size()) * bin_width;
}

namespace {

// KL(P || Q) of two unnormalized histograms; a bin where P has mass and Q
// none costs as if Q held a tiny share there (TensorRT smooths the same way).
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  const double p_sum = std::accumulate(p.begin(), p.end(), 0.0);
  const double q_sum = std::accumulate(q.begin(), q.end(), 0.0);
  if (p_sum <= 0 || q_sum <= 0) return std::numeric_limits<double>::infinity();
  constexpr double kEpsilon = 1e-4;
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / p_sum;
    const double qi = q[i] > 0 ? q[i] / q_sum : kEpsilon / q_sum;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

// Merges the first `count` bins into `levels` groups and spreads each group's
// mass evenly over the bins of the group that held any (zero bins stay zero).
std::vector<double> quantize_bins(std::span<const double> bins, size_t count, int levels) {
  std::vector<double> q(count, 0.0);
  const double per_level = static_cast<double>(count) / levels;
  for (int level = 0; level < levels; ++level) {
    const auto begin = static_cast<size_t>(std::floor(level * per_level));
    const auto end = std::min(count, static_cast<size_t>(std::floor((level + 1) * per_level)));
    double mass = 0;
    size_t nonzero = 0;
    for (size_t i = begin; i < end; ++i) {
      mass += bins[i];
      nonzero += bins[i] > 0;
    }
    if (nonzero == 0) continue;
    for (size_t i = begin; i < end; ++i)
      if (bins[i] > 0) q[i] = mass / static_cast<double>(nonzero);
  }
  return q;
}

}  // namespace

float entropy_threshold(std::span<const double> bins, float bin_width, int levels) {
  const size_t n = bins.size();
  if (n <= static_cast<size_t>(levels)) return static_cast<float>(n) * bin_width;
  size_t last = n;  // ignore empty bins at the top: they cannot move the choice
  while (last > static_cast<size_t>(levels) && bins[last - 1] <= 0) --last;
  double best_kl = std::numeric_limits<double>::infinity();
  size_t best = last;
  // Outliers above the threshold are clipped into its last bin (P), so P is
  // the distribution the clipped quantizer really sees.
  for (size_t count = static_cast<size_t>(levels); count <= last; ++count) {
    std::vector<double> p(bins.begin(), bins.begin() + static_cast<std::ptrdiff_t>(count));
    p[count - 1] += std::accumulate(bins.begin() + static_cast<std::ptrdiff_t>(count), bins.end(), 0.0);
    const double kl = kl_divergence(p, quantize_bins(bins, count, levels));
    if (kl < best_kl) {
      best_kl = kl;
      best = count;
    }
  }
  return static_cast<float>(best) * bin_width;
}

FloatRange clip_range(FloatRange r, float threshold) {
  return {std::max(r.min, -threshold), std::min(r.max, threshold)};
}

}  // namespace ecoinfer::quant
