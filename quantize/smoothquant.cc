#include "quantize/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare::quantize {
namespace {

// [outer, channels, inner] view of `dims` around `axis`.
struct Split {
  int64_t outer = 1, channels = 1, inner = 1;
};

Split SplitAt(const std::vector<int64_t>& dims, int64_t axis) {
  Split s;
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= dims[d];
  s.channels = dims[axis];
  for (int64_t d = axis + 1; d < rank; ++d) s.inner *= dims[d];
  return s;
}

}  // namespace

void ChannelRange::Add(const Tensor& value) {
  if (value.dtype() != DataType::kFloat32 || value.dims().empty()) return;
  const Split s = SplitAt(value.dims(), axis_);
  if (min_.empty()) {
    rank_ = static_cast<int64_t>(value.dims().size());
    sum_.assign(s.channels, 0.0);
    count_.assign(s.channels, 0);
    min_.assign(s.channels, std::numeric_limits<float>::infinity());
    max_.assign(s.channels, -std::numeric_limits<float>::infinity());
  }
  if (s.channels != channels()) return;
  const float* v = value.data<float>();
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float* row = v + (o * s.channels + c) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) {
        if (!std::isfinite(row[i])) continue;
        min_[c] = std::min(min_[c], row[i]);
        max_[c] = std::max(max_[c], row[i]);
        sum_[c] += row[i];
        ++count_[c];
      }
    }
  }
}

std::vector<double> ChannelRange::mean() const {
  std::vector<double> m(sum_.size(), 0.0);
  for (size_t c = 0; c < m.size(); ++c) m[c] = count_[c] ? sum_[c] / count_[c] : 0.0;
  return m;
}

std::vector<float> AbsMaxAlong(const std::vector<float>& w, const std::vector<int64_t>& dims,
                               int64_t axis) {
  const Split s = SplitAt(dims, axis);
  std::vector<float> m(s.channels, 0.0f);
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t i = 0; i < s.inner; ++i) {
        m[c] = std::max(m[c], std::abs(w[(o * s.channels + c) * s.inner + i]));
      }
    }
  }
  return m;
}

std::vector<float> SmoothingScales(const ChannelRange& x, const std::vector<float>& weight_absmax,
                                   double alpha) {
  std::vector<float> s(x.channels(), 1.0f);
  for (int64_t c = 0; c < x.channels() && c < static_cast<int64_t>(weight_absmax.size()); ++c) {
    const double a = std::max(std::abs(x.min()[c]), std::abs(x.max()[c]));
    const double w = weight_absmax[c];
    if (!(a > 0) || !(w > 0) || !std::isfinite(a)) continue;
    s[c] = static_cast<float>(std::clamp(std::pow(a, alpha) / std::pow(w, 1 - alpha), 1e-4, 1e4));
  }
  return s;
}

Range SmoothedRange(const ChannelRange& x, const std::vector<float>& s) {
  Range r{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (int64_t c = 0; c < x.channels(); ++c) {
    if (x.min()[c] > x.max()[c]) continue;  // channel never seen
    r.min = std::min(r.min, x.min()[c] / s[c]);
    r.max = std::max(r.max, x.max()[c] / s[c]);
  }
  if (r.min > r.max) r = {0, 0};
  return r;
}

void ScaleAlong(std::vector<float>& w, const std::vector<int64_t>& dims, int64_t axis,
                const std::vector<float>& s) {
  const Split sp = SplitAt(dims, axis);
  for (int64_t o = 0; o < sp.outer; ++o) {
    for (int64_t c = 0; c < sp.channels; ++c) {
      for (int64_t i = 0; i < sp.inner; ++i) w[(o * sp.channels + c) * sp.inner + i] *= s[c];
    }
  }
}

}  // namespace pare::quantize
