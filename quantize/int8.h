// 8-bit linear quantization arithmetic shared by pare's int8 paths:
// choosing a scale and zero point for a range, and quantizing weights per
// tensor or per channel.
//
//   QuantParams p = ChooseParams({-1.5f, 6.0f}, DataType::kUint8, /*symmetric=*/false);
//   WeightQuantization w = QuantizeWeights(values, dims, /*axis=*/0);   // int8, symmetric
#ifndef PARE_QUANTIZE_INT8_H_
#define PARE_QUANTIZE_INT8_H_

#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace pare::quantize {

// What a non-finite weight's error (CheckFiniteWeight) tells the user.
inline constexpr char kNonFiniteWeightAdvice[] =
    "an 8-bit code cannot represent it; fix the weight or leave its node out with --exclude";

struct Range {
  float min = 0, max = 0;
};

struct QuantParams {
  float scale = 1;
  int32_t zero_point = 0;
};

// Scale and zero point mapping `range` (widened to include 0, so that zero is
// exact) onto int8 or uint8 (or their 16-bit forms, for activations). Symmetric: zero point 0
// (int8) or 128 (uint8) and the scale from the larger magnitude over 127; asymmetric: the whole
// code range. A range of only zeros gets scale 1.
QuantParams ChooseParams(Range range, DataType type, bool symmetric);

// round-half-to-even(x / scale) + zero point, saturated to the type.
int32_t QuantizeValue(float x, const QuantParams& p, DataType type);

struct WeightQuantization {
  std::vector<int8_t> values;  // same layout as the input
  std::vector<float> scales;   // one per channel (or one)
  double sqnr_db = 0;          // of the dequantized weight against the original
};

// Symmetric int8 with codes in [-127, 127] (so that -x quantizes to -q),
// per channel along `axis` of `dims`, or per tensor when axis < 0. With
// mse_clip, each channel's scale is the one (from absmax/127 down to 52% of
// it) with the least squared error, clipping rare outlying weights.
WeightQuantization QuantizeWeights(const std::vector<float>& values,
                                   const std::vector<int64_t>& dims, int64_t axis,
                                   bool mse_clip = false);

// Bias for an integer convolution or matmul: int32 with
// scale = input_scale * weight_scale[channel] (zero point 0).
std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, float input_scale,
                                  const std::vector<float>& weight_scales);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_INT8_H_
