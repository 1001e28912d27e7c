// Bias correction (Nagel et al., 2019, "Data-Free Quantization"): rounding a
// convolution's weights shifts the mean of each output channel by
// sum_k (Wq - W)[m, k] * E[x_k]. Subtracting that shift from the bias, with
// E[x] from calibration, removes the systematic part of the weight error,
// which deep networks otherwise accumulate layer after layer.
#ifndef PARE_QUANTIZE_BIAS_CORRECTION_H_
#define PARE_QUANTIZE_BIAS_CORRECTION_H_

#include <cstdint>
#include <vector>

#include "quantize/int8.h"

namespace pare::quantize {

// The expected output shift per output map of a convolution with weights
// `w` [M, C/group, k...] quantized as `q`, whose input channels have means
// `input_mean` (C values). `depthwise`: group == C == M.
std::vector<float> ConvOutputShift(const std::vector<float>& w, const std::vector<int64_t>& dims,
                                   const WeightQuantization& q,
                                   const std::vector<double>& input_mean, bool depthwise);

// The same for a 2-D weight `w` of a MatMul ([K, N], output_axis 1) or a
// Gemm with transB ([N, K], output_axis 0): the shift of each of the N
// outputs, sum_k (Wq - W)[k, n] * E[x_k].
std::vector<float> MatMulOutputShift(const std::vector<float>& w, const std::vector<int64_t>& dims,
                                     int64_t output_axis, const WeightQuantization& q,
                                     const std::vector<double>& input_mean);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_BIAS_CORRECTION_H_
