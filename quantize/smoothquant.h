// SmoothQuant (Xiao et al., 2023): move the hard-to-quantize spread of an
// activation's channels into the weights. For y = W·x, with per-channel
// factors s_c, y = (W·diag(s))·(diag(1/s)·x): the activation divided by s
// (a Mul pare inserts before its quantizer) has evened-out channels, and
// the weight, quantized per output channel, absorbs s along its input
// channels. s_c = max|x_c|^alpha / max|W_:,c|^(1 - alpha).
#ifndef PARE_QUANTIZE_SMOOTHQUANT_H_
#define PARE_QUANTIZE_SMOOTHQUANT_H_

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "quantize/int8.h"

namespace pare::quantize {

// Per-channel extremes of an activation along `axis` (negative: from the
// end), accumulated over samples in fixed memory.
class ChannelRange {
 public:
  explicit ChannelRange(int64_t axis = -1) : axis_(axis) {}
  void Add(const Tensor& value);  // float32; a sample whose channel count changes is ignored
  int64_t channels() const { return static_cast<int64_t>(min_.size()); }
  int64_t rank() const { return rank_; }  // of the values seen
  const std::vector<float>& min() const { return min_; }
  const std::vector<float>& max() const { return max_; }
  std::vector<double> mean() const;  // per channel, over every value seen

 private:
  int64_t axis_, rank_ = 0;
  std::vector<float> min_, max_;
  std::vector<double> sum_;
  std::vector<uint64_t> count_;
};

// The largest magnitude of `w` along each index of `axis`.
std::vector<float> AbsMaxAlong(const std::vector<float>& w, const std::vector<int64_t>& dims,
                               int64_t axis);

// s_c, clamped to [1e-4, 1e4]; 1 where either side is all zeros.
std::vector<float> SmoothingScales(const ChannelRange& x, const std::vector<float>& weight_absmax,
                                   double alpha);

// The range of x / s over all channels (exact for the min/max seen).
Range SmoothedRange(const ChannelRange& x, const std::vector<float>& s);

// w[..., c, ...] *= s[c] along `axis`.
void ScaleAlong(std::vector<float>& w, const std::vector<int64_t>& dims, int64_t axis,
                const std::vector<float>& s);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_SMOOTHQUANT_H_
