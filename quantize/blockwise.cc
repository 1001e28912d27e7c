#include "quantize/blockwise.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/float16.h"

namespace pare::quantize {

BlockQuantized::BlockQuantized(int64_t k_, int64_t n_, const BlockSpec& spec_)
    : k(k_), n(n_), blocks((k_ + spec_.block - 1) / spec_.block), spec(spec_) {
  codes.assign(static_cast<size_t>(k * n), 0);
  scales.assign(static_cast<size_t>(n * blocks), 1.0f);
  zeros.assign(static_cast<size_t>(n * blocks), 0.0f);
}

std::vector<float> BlockQuantized::DequantizeAll() const {
  std::vector<float> w(static_cast<size_t>(k * n));
  for (int64_t col = 0; col < n; ++col) {
    for (int64_t row = 0; row < k; ++row) w[row * n + col] = Dequantize(row, col);
  }
  return w;
}

bool BlockQuantized::IntegerZeros() const {
  return std::all_of(zeros.begin(), zeros.end(), [](float z) { return z == std::nearbyint(z); });
}

int MaxCode(int bits) { return (1 << bits) - 1; }

namespace {

float RoundScale(float scale, bool fp16) {
  return fp16 ? Float16ToFloat32(Float32ToFloat16(scale)) : scale;
}

}  // namespace

void ChooseBlockParams(const float* values, int64_t count, int64_t stride, const BlockSpec& spec,
                       float* scale, float* zero) {
  const int max_code = MaxCode(spec.bits);
  if (spec.symmetric) {
    float extreme = 0;  // the value of largest magnitude, with its sign
    for (int64_t i = 0; i < count; ++i) {
      const float v = values[i * stride];
      if (std::abs(v) > std::abs(extreme)) extreme = v;
    }
    const float half = static_cast<float>(1 << (spec.bits - 1));
    *zero = half;
    *scale = extreme != 0 ? RoundScale(extreme / -half, spec.fp16_scales) : 1.0f;
    return;
  }
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, values[i * stride]);
    hi = std::max(hi, values[i * stride]);
  }
  if (hi == lo) {
    *scale = 1;
    *zero = 0;
    return;
  }
  *scale = RoundScale((hi - lo) / static_cast<float>(max_code), spec.fp16_scales);
  *zero = std::clamp(std::nearbyint(-lo / *scale), 0.0f, static_cast<float>(max_code));
}

uint8_t QuantizeCode(float x, float scale, float zero, int bits) {
  const float q = std::nearbyint(x / scale + zero);
  if (std::isnan(q)) return static_cast<uint8_t>(zero);  // callers refuse NaN weights first
  return static_cast<uint8_t>(std::clamp(q, 0.0f, static_cast<float>(MaxCode(bits))));
}

BlockQuantized QuantizeRtn(const float* w, int64_t k, int64_t n, const BlockSpec& spec) {
  BlockQuantized q(k, n, spec);
  for (int64_t col = 0; col < n; ++col) {
    for (int64_t b = 0; b < q.blocks; ++b) {
      const int64_t start = b * spec.block, count = std::min(spec.block, k - start);
      float& scale = q.scales[col * q.blocks + b];
      float& zero = q.zeros[col * q.blocks + b];
      ChooseBlockParams(w + start * n + col, count, n, spec, &scale, &zero);
      for (int64_t row = start; row < start + count; ++row) {
        q.Code(row, col) = QuantizeCode(w[row * n + col], scale, zero, spec.bits);
      }
    }
  }
  return q;
}

namespace {

// The lp-norm proximal step: shrinks each residual toward 0 by
// |x|^(p-1) / beta (generalized soft thresholding).
float Shrink(float x, float beta, float p) {
  const float a = std::abs(x);
  if (a == 0) return 0;
  return std::copysign(std::max(0.0f, a - std::pow(a, p - 1) / beta), x);
}

}  // namespace

BlockQuantized QuantizeHqq(const float* w, int64_t k, int64_t n, const BlockSpec& spec,
                           const HqqOptions& o) {
  BlockQuantized q = QuantizeRtn(w, k, n, spec);
  std::vector<float> error(static_cast<size_t>(spec.block));
  for (int64_t col = 0; col < n; ++col) {
    for (int64_t b = 0; b < q.blocks; ++b) {
      const int64_t start = b * spec.block, count = std::min(spec.block, k - start);
      const float scale = q.scales[col * q.blocks + b];
      float zero = q.zeros[col * q.blocks + b];
      auto value = [&](int64_t i) { return w[(start + i) * n + col]; };
      auto sum_error = [&](float z) {
        double e = 0;
        for (int64_t i = 0; i < count; ++i) {
          const float r = (QuantizeCode(value(i), scale, z, spec.bits) - z) * scale;
          e += std::abs(value(i) - r);
        }
        return e;
      };
      float best_zero = zero;
      double best = sum_error(zero);
      float beta = o.beta;
      for (int it = 0; it < o.iterations; ++it) {
        // Sparse error of the current reconstruction.
        for (int64_t i = 0; i < count; ++i) {
          const float code = QuantizeCode(value(i), scale, zero, spec.bits);
          error[i] = Shrink(value(i) - (code - zero) * scale, beta, o.p);
        }
        // The zero that best explains the rest: mean of code - (w - e) / s.
        double z = 0;
        for (int64_t i = 0; i < count; ++i) {
          const float code = QuantizeCode(value(i), scale, zero, spec.bits);
          z += code - (value(i) - error[i]) / scale;
        }
        zero = static_cast<float>(z / static_cast<double>(count));
        beta *= o.kappa;
        const double e = sum_error(zero);
        if (e < best) {
          best = e;
          best_zero = zero;
        }
      }
      q.zeros[col * q.blocks + b] = best_zero;
      for (int64_t i = 0; i < count; ++i) {
        q.Code(start + i, col) = QuantizeCode(value(i), scale, best_zero, spec.bits);
      }
    }
  }
  return q;
}

double ReconstructionSqnrDb(const float* w, const BlockQuantized& q) {
  double signal = 0, noise = 0;
  for (int64_t row = 0; row < q.k; ++row) {
    for (int64_t col = 0; col < q.n; ++col) {
      const double v = w[row * q.n + col], e = v - q.Dequantize(row, col);
      signal += v * v;
      noise += e * e;
    }
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(signal / noise);
}

}  // namespace pare::quantize
