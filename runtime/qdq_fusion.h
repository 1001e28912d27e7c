// Session rewrites for QDQ models (what `pare quantize` writes): each
// activation's QuantizeLinear -> DequantizeLinear round trip runs as one
// kernel, and a Conv whose only reader is such a pair applies it in its own
// epilogue, while the output is in cache. The results are bit-identical to
// the two-node form: the fused kernels compute the same rounding, clamping
// and scaling, in the same order, in float32.
//
// Without this, a model quantized with `--integer-graph` spent most of its
// time writing and re-reading 8-bit copies of every activation.
#ifndef PARE_RUNTIME_QDQ_FUSION_H_
#define PARE_RUNTIME_QDQ_FUSION_H_

#include <string>
#include <vector>

#include "core/model.h"

namespace pare::runtime {

// A QuantizeLinear carrying this (int, 1) outputs the dequantized float
// value of its quantized result: DequantizeLinear(QuantizeLinear(x)).
inline constexpr char kFusedDequantize[] = "_pare_dequantize";

// A Conv carrying these applies a fake quantization after its bias and
// fused activation: (clamp(round(y / scale) + zero, lo, hi) - zero) * scale.
inline constexpr char kFakeQuantScale[] = "_pare_fq_scale";
inline constexpr char kFakeQuantZero[] = "_pare_fq_zero";
inline constexpr char kFakeQuantLow[] = "_pare_fq_lo";
inline constexpr char kFakeQuantHigh[] = "_pare_fq_hi";

// Rewrites the top level of `graph` in place: a QuantizeLinear (per tensor,
// constant scalar scale and 8/16-bit zero point) read only by one
// DequantizeLinear with the same parameters becomes one fused
// QuantizeLinear; then a Conv read only by such a node absorbs it. Returns
// the names of the values that no longer exist.
std::vector<std::string> FuseQuantizeDequantize(Graph& graph);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_QDQ_FUSION_H_
