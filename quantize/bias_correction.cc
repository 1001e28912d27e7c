#include "quantize/bias_correction.h"

namespace pare::quantize {

std::vector<float> ConvOutputShift(const std::vector<float>& w, const std::vector<int64_t>& dims,
                                   const WeightQuantization& q,
                                   const std::vector<double>& input_mean, bool depthwise) {
  const int64_t maps = dims[0], per_map_channels = dims[1];
  int64_t taps = 1;
  for (size_t d = 2; d < dims.size(); ++d) taps *= dims[d];
  std::vector<float> shift(maps, 0.0f);
  for (int64_t m = 0; m < maps; ++m) {
    const float scale = q.scales[q.scales.size() == 1 ? 0 : m];
    double sum = 0;
    for (int64_t c = 0; c < per_map_channels; ++c) {
      const int64_t channel = depthwise ? m : c;
      if (channel >= static_cast<int64_t>(input_mean.size())) continue;
      double delta = 0;  // summed over the kernel's taps
      for (int64_t k = 0; k < taps; ++k) {
        const size_t at = (m * per_map_channels + c) * taps + k;
        delta += static_cast<double>(q.values[at]) * scale - w[at];
      }
      sum += delta * input_mean[channel];
    }
    shift[m] = static_cast<float>(sum);
  }
  return shift;
}

std::vector<float> MatMulOutputShift(const std::vector<float>& w, const std::vector<int64_t>& dims,
                                     int64_t output_axis, const WeightQuantization& q,
                                     const std::vector<double>& input_mean) {
  const int64_t rows = dims[0], cols = dims[1];
  const int64_t outputs = output_axis == 1 ? cols : rows;
  std::vector<double> shift(outputs, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t n = output_axis == 1 ? c : r, k = output_axis == 1 ? r : c;
      if (k >= static_cast<int64_t>(input_mean.size())) continue;
      const size_t at = r * cols + c;
      const float scale = q.scales[q.scales.size() == 1 ? 0 : n];
      shift[n] += (static_cast<double>(q.values[at]) * scale - w[at]) * input_mean[k];
    }
  }
  return std::vector<float>(shift.begin(), shift.end());
}

}  // namespace pare::quantize
