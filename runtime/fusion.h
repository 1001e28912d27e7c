// Graph rewrites the session applies before planning, so that common
// operator chains run as one kernel, all around Conv:
//  - Conv -> Mul/Add by a constant (scalar or per output map) or an
//    inference BatchNormalization is folded into the Conv's weights and bias
//    (new initializers; the originals are kept);
//  - Conv -> x * Clip(x + 3, 0, 6) / 6 (HardSwish spelled out) and Conv ->
//    Relu, Clip with constant bounds, LeakyRelu, HardSigmoid or Sigmoid
//    become one Conv that applies bias and activation while the output is in
//    cache.
#ifndef PARE_RUNTIME_FUSION_H_
#define PARE_RUNTIME_FUSION_H_

#include <string>
#include <vector>

#include "core/model.h"

namespace pare::runtime {

// Attributes a fused Conv carries (names no ONNX operator uses).
inline constexpr char kFusedActivation[] = "_pare_activation";
inline constexpr char kFusedAlpha[] = "_pare_alpha";
inline constexpr char kFusedBeta[] = "_pare_beta";

// Rewrites `graph` (the top level only) in place and returns the names of
// the values that no longer exist. A value that is a graph output or read by
// anything outside the chain is never fused away.
std::vector<std::string> FuseConvActivations(const Model& model, Graph& graph);

// Only the first rewrite: Mul/Add by constants and BatchNormalization folded
// into the Conv before them. The result is standard ONNX (quantization
// prepares models with it, so each Conv's weights carry the scale that
// multiplies its output).
std::vector<std::string> FoldConvAffine(const Model& model, Graph& graph);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_FUSION_H_
