#include "quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace pare::quantize {
namespace {

double KlDivergence(const std::vector<double>& p, std::vector<double> q) {
  // Smooth Q so that every bin P uses has some mass, then renormalize both.
  const double eps = 1e-4;
  double p_sum = std::accumulate(p.begin(), p.end(), 0.0), q_sum = 0;
  size_t zeros = 0;
  for (size_t i = 0; i < q.size(); ++i) zeros += p[i] > 0 && q[i] == 0;
  for (size_t i = 0; i < q.size(); ++i) {
    if (p[i] > 0 && q[i] == 0) q[i] = eps;
    q_sum += q[i];
  }
  if (p_sum <= 0 || q_sum <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) kl += p[i] / p_sum * std::log((p[i] / p_sum) / (q[i] / q_sum));
  }
  return kl + static_cast<double>(zeros) * 1e-9;  // prefer fewer emptied bins on ties
}

}  // namespace

absl::StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "moving-average") return CalibrationMethod::kMovingAverage;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "entropy") return CalibrationMethod::kEntropy;
  if (name == "mse") return CalibrationMethod::kMse;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown calibration method '", name,
                   "' (minmax, moving-average, percentile, entropy or mse)"));
}

const char* CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kMovingAverage:
      return "moving-average";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kEntropy:
      return "entropy";
    case CalibrationMethod::kMse:
      return "mse";
  }
  return "?";
}

void TensorCalibrator::Grow(double magnitude) {
  if (bins_.empty()) {
    bins_.assign(kBins, 0);
    half_range_ = std::max(magnitude, 1e-6);
    return;
  }
  while (magnitude > half_range_) {
    // Doubling the range: old bins 2m and 2m+1 land in new bin kBins/4 + m.
    std::vector<uint64_t> merged(kBins, 0);
    for (int m = 0; m < kBins / 2; ++m) merged[kBins / 4 + m] = bins_[2 * m] + bins_[2 * m + 1];
    bins_ = std::move(merged);
    half_range_ *= 2;
  }
}

void TensorCalibrator::Add(const float* values, uint64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (uint64_t i = 0; i < n; ++i) {
    if (std::isfinite(values[i])) lo = std::min(lo, values[i]), hi = std::max(hi, values[i]);
  }
  if (lo > hi) return;  // nothing finite
  Grow(std::max(-static_cast<double>(lo), static_cast<double>(hi)));
  const double to_bin = kBins / (2 * half_range_);
  for (uint64_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) continue;
    const int b = static_cast<int>((values[i] + half_range_) * to_bin);
    ++bins_[std::clamp(b, 0, kBins - 1)];
    ++count_;
  }
  if (samples_ == 0) {
    min_ = lo, max_ = hi, avg_min_ = lo, avg_max_ = hi;
  } else {
    min_ = std::min(min_, lo), max_ = std::max(max_, hi);
    avg_min_ += moving_weight_ * (lo - avg_min_);
    avg_max_ += moving_weight_ * (hi - avg_max_);
  }
  ++samples_;
}

Range TensorCalibrator::Clip(double threshold) const {
  return {std::max(min_, static_cast<float>(-threshold)),
          std::min(max_, static_cast<float>(threshold))};
}

Range TensorCalibrator::Percentile(double percentile) const {
  const double tail = std::clamp((100.0 - percentile) / 100.0, 0.0, 0.5);
  const uint64_t cut = static_cast<uint64_t>(std::floor(tail * static_cast<double>(count_)));
  const double width = 2 * half_range_ / kBins;
  // Lower bound: the edge below which at most `cut` values lie; upper likewise.
  uint64_t seen = 0;
  int lo_bin = 0;
  while (lo_bin < kBins - 1 && seen + bins_[lo_bin] <= cut) seen += bins_[lo_bin++];
  seen = 0;
  int hi_bin = kBins - 1;
  while (hi_bin > 0 && seen + bins_[hi_bin] <= cut) seen += bins_[hi_bin--];
  return {std::max(min_, static_cast<float>(-half_range_ + lo_bin * width)),
          std::min(max_, static_cast<float>(-half_range_ + (hi_bin + 1) * width))};
}

Range TensorCalibrator::Entropy(int levels) const {
  // On the histogram of |x|: the threshold (a bin edge) whose distribution,
  // clipped there and squeezed into `levels` levels, loses the least
  // information.
  const int half = kBins / 2;
  std::vector<double> abs(half, 0.0);
  for (int i = 0; i < kBins; ++i) abs[i < half ? half - 1 - i : i - half] += bins_[i];
  int last = half;
  while (last > 0 && abs[last - 1] == 0) --last;
  if (last <= levels) return {min_, max_};
  double best_kl = std::numeric_limits<double>::infinity();
  int best = last;
  for (int i = levels; i <= last; ++i) {
    std::vector<double> p(abs.begin(), abs.begin() + i);
    for (int j = i; j < half; ++j) p[i - 1] += abs[j];  // outliers clip into the last bin
    std::vector<double> q(i, 0.0);
    for (int g = 0; g < levels; ++g) {
      const int b0 = g * i / levels, b1 = (g + 1) * i / levels;
      double total = 0;
      int nonzero = 0;
      for (int b = b0; b < b1; ++b) total += abs[b], nonzero += abs[b] > 0;
      for (int b = b0; b < b1; ++b) q[b] = abs[b] > 0 ? total / nonzero : 0;
    }
    const double kl = KlDivergence(p, q);
    if (kl < best_kl) best_kl = kl, best = i;
  }
  return Clip(best * 2 * half_range_ / kBins);
}

Range TensorCalibrator::Mse() const {
  // Expected squared error of uint8 asymmetric codes for each candidate
  // clipping threshold, over the histogram's bin centres.
  const double absmax = std::max(-static_cast<double>(min_), static_cast<double>(max_));
  double best_err = std::numeric_limits<double>::infinity();
  Range best{min_, max_};
  for (int k = 1; k <= 100; ++k) {
    const Range r = Clip(absmax * k / 100.0);
    const QuantParams p = ChooseParams(r, DataType::kUint8, false);
    double err = 0;
    for (int i = 0; i < kBins; ++i) {
      if (bins_[i] == 0) continue;
      const double c = BinCenter(i);
      const double dq = (QuantizeValue(static_cast<float>(c), p, DataType::kUint8) - p.zero_point) *
                        static_cast<double>(p.scale);
      err += bins_[i] * (c - dq) * (c - dq);
    }
    if (err < best_err) best_err = err, best = r;
  }
  return best;
}

Range TensorCalibrator::Compute(const CalibrationOptions& options) const {
  if (samples_ == 0) return {0, 0};
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      return {min_, max_};
    case CalibrationMethod::kMovingAverage:
      return {static_cast<float>(avg_min_), static_cast<float>(avg_max_)};
    case CalibrationMethod::kPercentile:
      return Percentile(options.percentile);
    case CalibrationMethod::kEntropy:
      return Entropy(options.entropy_levels);
    case CalibrationMethod::kMse:
      return Mse();
  }
  return {min_, max_};
}

}  // namespace pare::quantize
