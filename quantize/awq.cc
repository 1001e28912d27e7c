#include "quantize/awq.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare::quantize {

void ActivationSample::Add(const float* rows, int64_t count) {
  for (int64_t r = 0; r < count; ++r) {
    const float* x = rows + r * k_;
    for (int64_t c = 0; c < k_; ++c) abs_sum_[c] += std::abs(x[c]);
    // Reservoir-free thinning: keep every row until full, then every
    // (seen / max)-th, so the sample spans all calibration data.
    ++seen_;
    const int64_t stride = std::max<int64_t>(1, seen_ / std::max<int64_t>(max_rows_, 1));
    if (sampled_rows() < max_rows_ && seen_ % stride == 0) rows_.insert(rows_.end(), x, x + k_);
  }
}

std::vector<float> ActivationSample::MeanAbs() const {
  std::vector<float> mean(static_cast<size_t>(k_));
  for (int64_t c = 0; c < k_; ++c) {
    mean[c] = static_cast<float>(abs_sum_[c] / static_cast<double>(std::max<int64_t>(seen_, 1)));
  }
  return mean;
}

namespace {

// Squared error of X [rows, k] (W - W_eff) summed over the sample.
double OutputError(const std::vector<float>& x, int64_t rows, int64_t k, const float* w,
                   const std::vector<float>& w_eff, int64_t n) {
  std::vector<float> diff(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k * n; ++i) diff[i] = w[i] - w_eff[i];
  double total = 0;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(out.begin(), out.end(), 0.0);
    const float* xr = &x[r * k];
    for (int64_t c = 0; c < k; ++c) {
      if (xr[c] == 0) continue;
      const float* d = &diff[c * n];
      for (int64_t j = 0; j < n; ++j) out[j] += static_cast<double>(xr[c]) * d[j];
    }
    for (double v : out) total += v * v;
  }
  return total;
}

// dequant(Q(diag(s) W)) / s: the weight the quantized model effectively uses.
std::vector<float> EffectiveWeight(const AwqWeight& w, int64_t k, const std::vector<float>& s,
                                   const BlockSpec& spec) {
  std::vector<float> scaled(w.w, w.w + k * w.n);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < w.n; ++j) scaled[c * w.n + j] *= s[c];
  }
  std::vector<float> eff = QuantizeRtn(scaled.data(), k, w.n, spec).DequantizeAll();
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < w.n; ++j) eff[c * w.n + j] /= s[c];
  }
  return eff;
}

}  // namespace

AwqResult SearchAwqScales(const ActivationSample& x, const std::vector<AwqWeight>& weights,
                          const BlockSpec& spec, int grid) {
  const int64_t k = x.k(), rows = x.sampled_rows();
  const std::vector<float> mean = x.MeanAbs();
  AwqResult best;
  best.error = std::numeric_limits<double>::infinity();
  for (int g = 0; g < grid; ++g) {
    const float alpha = static_cast<float>(g) / static_cast<float>(grid);
    std::vector<float> s(static_cast<size_t>(k));
    float lo = std::numeric_limits<float>::max(), hi = 0;
    for (int64_t c = 0; c < k; ++c) {
      s[c] = std::pow(std::max(mean[c], 1e-4f), alpha);
      lo = std::min(lo, s[c]);
      hi = std::max(hi, s[c]);
    }
    // Centre the scales around 1 (only their ratios matter).
    const float centre = std::sqrt(lo * hi);
    for (float& v : s) v /= centre;
    double error = 0;
    for (const AwqWeight& w : weights) {
      error += OutputError(x.rows(), rows, k, w.w, EffectiveWeight(w, k, s, spec), w.n);
    }
    if (g == 0) best.rtn_error = error;
    if (error < best.error) {
      best.error = error;
      best.alpha = alpha;
      best.scales = s;
    }
  }
  return best;
}

}  // namespace pare::quantize
