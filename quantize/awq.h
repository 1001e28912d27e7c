// AWQ (activation-aware weight quantization, Lin et al., 2023): a few input
// channels carry large activations, and their weight rows matter most.
// Scaling those rows up by s before quantizing (and the input down by s)
// shrinks their relative rounding error. s = mean|x_c|^alpha, with alpha
// searched on a grid for the least output error ||X W - (X / s) Q(s W)||^2
// over calibration rows, jointly for every weight that reads the same input
// (q/k/v, or gate/up). alpha = 0 is plain round-to-nearest, so the search
// never does worse than RTN on the calibration rows.
#ifndef PARE_QUANTIZE_AWQ_H_
#define PARE_QUANTIZE_AWQ_H_

#include <cstdint>
#include <vector>

#include "quantize/blockwise.h"

namespace pare::quantize {

// Per-channel mean |x| over every row seen, and a bounded sample of rows.
class ActivationSample {
 public:
  ActivationSample(int64_t k, int64_t max_rows) : k_(k), max_rows_(max_rows), abs_sum_(k, 0.0) {}
  void Add(const float* rows, int64_t count);
  int64_t k() const { return k_; }
  int64_t sampled_rows() const { return static_cast<int64_t>(rows_.size()) / k_; }
  const std::vector<float>& rows() const { return rows_; }
  std::vector<float> MeanAbs() const;

 private:
  int64_t k_, max_rows_, seen_ = 0;
  std::vector<double> abs_sum_;
  std::vector<float> rows_;
};

struct AwqWeight {
  const float* w;  // [k, n]
  int64_t n;
};

struct AwqResult {
  std::vector<float> scales;  // s per input channel (1 when alpha = 0)
  float alpha = 0;
  double error = 0, rtn_error = 0;  // output squared error on the sample rows
};

// `grid` points of alpha in [0, 1).
AwqResult SearchAwqScales(const ActivationSample& x, const std::vector<AwqWeight>& weights,
                          const BlockSpec& spec, int grid = 20);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_AWQ_H_
