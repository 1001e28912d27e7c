#include "evaluate/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare::evaluate {

QuantileHistogram::QuantileHistogram(double lo, double hi, int bins, bool log)
    : lo_(lo),
      hi_(hi),
      log_(log),
      counts_(static_cast<size_t>(std::max(1, bins)), 0),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {}

QuantileHistogram QuantileHistogram::Linear(double lo, double hi, int bins) {
  return QuantileHistogram(lo, hi, bins, false);
}

QuantileHistogram QuantileHistogram::Log(double lo, double hi, int per_decade) {
  const int bins = static_cast<int>(std::ceil(std::log10(hi / lo) * per_decade));
  return QuantileHistogram(std::log(lo), std::log(hi), bins, true);
}

double QuantileHistogram::Edge(int64_t i) const {
  const double x = lo_ + (hi_ - lo_) * static_cast<double>(i) / counts_.size();
  return log_ ? std::exp(x) : x;
}

int64_t QuantileHistogram::Bin(double value) const {
  const double x = log_ ? (value > 0 ? std::log(value) : lo_) : value;
  const double t = (x - lo_) / (hi_ - lo_) * counts_.size();
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor(std::clamp(t, -1.0, 1e18))), 0,
                             static_cast<int64_t>(counts_.size()) - 1);
}

void QuantileHistogram::Add(double value) {
  if (std::isnan(value)) {
    ++nans_;
    return;
  }
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  ++counts_[Bin(value)];
}

double QuantileHistogram::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  // The rank-th smallest value, 1-based, lies in the bin where the running
  // count reaches it; report that bin's centre.
  const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const double a = Edge(i), b = Edge(i + 1);
      const double mid = log_ ? std::sqrt(a * b) : (a + b) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::vector<QuantileHistogram::Bar> QuantileHistogram::Bars(int groups) const {
  std::vector<Bar> bars;
  if (count_ == 0 || groups <= 0) return bars;
  const int64_t first = Bin(min_), last = Bin(max_);
  const int64_t span = last - first + 1;
  const int64_t per = (span + groups - 1) / groups;
  for (int64_t b = first; b <= last; b += per) {
    Bar bar{Edge(b), Edge(std::min(b + per, last + 1)), 0};
    for (int64_t i = b; i < std::min(b + per, last + 1); ++i) bar.count += counts_[i];
    bars.push_back(bar);
  }
  return bars;
}

}  // namespace pare::evaluate
