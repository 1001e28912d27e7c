// Helpers for quantized operators: reading and writing integer tensors of
// any quantized type (int4/uint4 packed), and the layout of scales and zero
// points (per tensor, per axis, or in blocks along an axis).
#ifndef PARE_RUNTIME_OPS_QUANT_UTIL_H_
#define PARE_RUNTIME_OPS_QUANT_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "runtime/kernel.h"

namespace pare::runtime {

// Values of an int8/uint8/int16/uint16/int32/int4/uint4 tensor.
absl::StatusOr<std::vector<int32_t>> ReadQuantized(const Tensor& t);

// Smallest and largest value of a quantized type.
absl::StatusOr<std::pair<int32_t, int32_t>> QuantRange(DataType type);

// Packs values (already in range) into a new tensor of `type`.
Tensor WriteQuantized(DataType type, std::vector<int64_t> dims, const std::vector<int32_t>& values);

// Where the scale (and zero point) of element e lives.
struct QuantLayout {
  int64_t dim = 1, inner = 1;  // along the quantization axis
  int64_t block = 0;           // 0: one scale per axis index
  int64_t scale_dim = 1;       // scales along the axis
  bool per_tensor = true;

  int64_t ScaleIndex(int64_t e) const {
    if (per_tensor) return 0;
    const int64_t outer = e / (dim * inner);
    const int64_t a = (e / inner) % dim;
    if (block == 0) return a;
    return (outer * scale_dim + a / block) * inner + e % inner;
  }
};

// Resolves the layout from x's shape, the scale's shape and the node's axis
// and block_size attributes.
absl::StatusOr<QuantLayout> ResolveQuantLayout(const KernelContext& ctx,
                                               const std::vector<int64_t>& x,
                                               const std::vector<int64_t>& scale);

// Round half to even, as QuantizeLinear requires.
inline float RoundEven(float v) { return __builtin_nearbyintf(v); }

// Clamps a rounded value into [lo, hi]; NaN (from NaN inputs or a zero
// scale) becomes `nan_value`, since converting NaN to int is undefined.
inline int32_t Saturate(float v, int32_t lo, int32_t hi, int32_t nan_value) {
  if (v != v) return nan_value;
  return static_cast<int32_t>(std::clamp(v, static_cast<float>(lo), static_cast<float>(hi)));
}

// DequantizeLinear(QuantizeLinear(x)) per tensor, element by element in the
// order the two operators compute it (so the result is bit-identical): NaN
// becomes the zero point's value, 0. `lo` and `hi` bound the integer type.
inline void FakeQuantize(const float* in, float* out, int64_t n, float scale, float zero, float lo,
                         float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = RoundEven(in[i] / scale) + zero;
    const float q = v == v ? std::clamp(v, lo, hi) : zero;
    out[i] = (q - zero) * scale;
  }
}

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_QUANT_UTIL_H_
