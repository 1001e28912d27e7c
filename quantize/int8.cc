#include "quantize/int8.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare::quantize {
namespace {

std::pair<int32_t, int32_t> CodeRange(DataType type) {
  switch (type) {
    case DataType::kUint8:
      return {0, 255};
    case DataType::kUint16:
      return {0, 65535};
    case DataType::kInt16:
      return {-32768, 32767};
    default:
      return {-128, 127};
  }
}

}  // namespace

QuantParams ChooseParams(Range range, DataType type, bool symmetric) {
  const float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  const auto [qmin, qmax] = CodeRange(type);
  QuantParams p;
  if (symmetric) {
    const bool wide = type == DataType::kUint16 || type == DataType::kInt16;
    const float absmax = std::max(-lo, hi);
    p.scale = absmax > 0 ? absmax / (wide ? 32767.0f : 127.0f) : 1.0f;
    p.zero_point = type == DataType::kUint8 ? 128 : type == DataType::kUint16 ? 32768 : 0;
    return p;
  }
  if (hi - lo <= 0) return p;
  p.scale = (hi - lo) / static_cast<float>(qmax - qmin);
  p.zero_point = static_cast<int32_t>(
      std::clamp<double>(std::nearbyint(qmin - lo / static_cast<double>(p.scale)), qmin, qmax));
  return p;
}

int32_t QuantizeValue(float x, const QuantParams& p, DataType type) {
  const auto [qmin, qmax] = CodeRange(type);
  const double q = std::nearbyint(static_cast<double>(x) / p.scale) + p.zero_point;
  if (std::isnan(q)) return p.zero_point;
  return static_cast<int32_t>(std::clamp<double>(q, qmin, qmax));
}

WeightQuantization QuantizeWeights(const std::vector<float>& values,
                                   const std::vector<int64_t>& dims, int64_t axis, bool mse_clip) {
  // View as [outer, channels, inner]; per tensor is one channel.
  int64_t outer = 1, channels = 1, inner = 1;
  if (axis >= 0 && axis < static_cast<int64_t>(dims.size())) {
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    channels = dims[axis];
    for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  } else {
    inner = static_cast<int64_t>(values.size());
  }
  WeightQuantization w;
  w.values.resize(values.size());
  w.scales.assign(channels, 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < inner; ++i) {
        const float v = std::abs(values[(o * channels + c) * inner + i]);
        if (std::isfinite(v)) w.scales[c] = std::max(w.scales[c], v);
      }
    }
  }
  for (float& s : w.scales) s = s > 0 ? s / 127.0f : 1.0f;
  if (mse_clip) {
    // Per channel, the clipping of the largest magnitudes (scale shrunk by
    // r in 1.0, 0.96, ..., 0.52) with the least squared error: a few
    // outlying weights stop costing every other weight its resolution.
    for (int64_t c = 0; c < channels; ++c) {
      double best = std::numeric_limits<double>::infinity();
      float best_scale = w.scales[c];
      for (int k = 0; k <= 12; ++k) {
        const QuantParams p{w.scales[c] * (1.0f - 0.04f * k), 0};
        double err = 0;
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) {
            const float v = values[(o * channels + c) * inner + i];
            const int32_t q = std::clamp(QuantizeValue(v, p, DataType::kInt8), -127, 127);
            const double e = static_cast<double>(q) * p.scale - v;
            err += e * e;
          }
        }
        if (err < best) best = err, best_scale = p.scale;
      }
      w.scales[c] = best_scale;
    }
  }
  double signal = 0, noise = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const QuantParams p{w.scales[c], 0};
      for (int64_t i = 0; i < inner; ++i) {
        const size_t at = (o * channels + c) * inner + i;
        const int32_t q = std::clamp(QuantizeValue(values[at], p, DataType::kInt8), -127, 127);
        w.values[at] = static_cast<int8_t>(q);
        const double err = static_cast<double>(q) * p.scale - values[at];
        signal += static_cast<double>(values[at]) * values[at];
        noise += err * err;
      }
    }
  }
  w.sqnr_db =
      noise == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(signal / noise);
  return w;
}

std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, float input_scale,
                                  const std::vector<float>& weight_scales) {
  std::vector<int32_t> out(bias.size());
  for (size_t c = 0; c < bias.size(); ++c) {
    const double scale =
        static_cast<double>(input_scale) * weight_scales[weight_scales.size() == 1 ? 0 : c];
    const double q = scale > 0 ? std::nearbyint(bias[c] / scale) : 0.0;
    out[c] = static_cast<int32_t>(std::clamp<double>(std::isnan(q) ? 0 : q,
                                                     std::numeric_limits<int32_t>::min() + 1.0,
                                                     std::numeric_limits<int32_t>::max()));
  }
  return out;
}

}  // namespace pare::quantize
