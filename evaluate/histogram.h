// Quantiles in fixed memory: a histogram over fixed bins, linear or
// logarithmic, plus the exact minimum and maximum. Evaluating millions of
// tokens keeps a few thousand counters instead of every value.
//
//   QuantileHistogram kl = QuantileHistogram::Log(1e-10, 1e4, 200);
//   kl.Add(0.03);
//   double median = kl.Quantile(0.5);
#ifndef PARE_EVALUATE_HISTOGRAM_H_
#define PARE_EVALUATE_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace pare::evaluate {

class QuantileHistogram {
 public:
  // Bins of equal width over [lo, hi].
  static QuantileHistogram Linear(double lo, double hi, int bins);
  // `per_decade` bins per factor of ten over [lo, hi] (lo > 0); values at or
  // below lo (zero included) share the first bin.
  static QuantileHistogram Log(double lo, double hi, int per_decade);

  void Add(double value);  // NaN is counted apart and never binned
  uint64_t count() const { return count_; }
  uint64_t nan_count() const { return nans_; }
  double min() const { return min_; }
  double max() const { return max_; }

  // The q-quantile (0 <= q <= 1), within one bin's width, clamped to the
  // exact [min, max]. NaN when nothing was added.
  double Quantile(double q) const;

  // The bins merged into `groups` groups: (lower edge, upper edge, count)
  // over the occupied range, for drawing.
  struct Bar {
    double lo, hi;
    uint64_t count;
  };
  std::vector<Bar> Bars(int groups) const;

 private:
  QuantileHistogram(double lo, double hi, int bins, bool log);
  double Edge(int64_t i) const;  // lower edge of bin i
  int64_t Bin(double value) const;

  double lo_, hi_;
  bool log_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0, nans_ = 0;
  double min_, max_;
};

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_HISTOGRAM_H_
