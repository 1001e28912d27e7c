// Activation ranges from calibration data, accumulated one sample at a time
// in fixed memory per tensor: exact min/max, their moving averages, and a
// histogram over a symmetric range that doubles (merging bin pairs) when a
// sample exceeds it. The methods:
//   MinMax         the extremes seen;
//   MovingAverage  exponential moving averages of each sample's extremes;
//   Percentile     the range keeping `percentile` % of the values;
//   Entropy        the clipping threshold whose quantized histogram (128 or
//                  255 levels) is closest to the original in KL divergence
//                  (TensorRT's method);
//   Mse            the clipping threshold with the least expected squared
//                  error (rounding plus clipping) for 8-bit codes.
#ifndef PARE_QUANTIZE_CALIBRATION_H_
#define PARE_QUANTIZE_CALIBRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantize/int8.h"

namespace pare::quantize {

enum class CalibrationMethod { kMinMax, kMovingAverage, kPercentile, kEntropy, kMse };

absl::StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& name);
const char* CalibrationMethodName(CalibrationMethod method);

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.999;  // kPercentile
  // kEntropy: quantization levels over [0, threshold]: 128 for symmetric
  // codes (one sign), 255 for asymmetric ones, whose range is mostly one sign.
  int entropy_levels = 255;
};

class TensorCalibrator {
 public:
  static constexpr int kBins = 2048;  // a multiple of 4 (doubling merges pairs)

  // moving_average: the weight of each new sample's extremes (kMovingAverage).
  explicit TensorCalibrator(double moving_average = 0.01) : moving_weight_(moving_average) {}

  void Add(const float* values, uint64_t n);  // one sample; NaN and inf are ignored
  uint64_t count() const { return count_; }
  Range Compute(const CalibrationOptions& options) const;

 private:
  void Grow(double magnitude);
  double BinCenter(int i) const { return -half_range_ + (i + 0.5) * 2 * half_range_ / kBins; }
  Range Percentile(double percentile) const;
  Range Entropy(int levels) const;
  Range Mse() const;
  Range Clip(double threshold) const;

  uint64_t count_ = 0, samples_ = 0;
  float min_ = 0, max_ = 0;
  double avg_min_ = 0, avg_max_ = 0;
  double moving_weight_;
  double half_range_ = 0;       // the histogram covers [-half_range_, half_range_]
  std::vector<uint64_t> bins_;  // allocated on first Add
};

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_CALIBRATION_H_
