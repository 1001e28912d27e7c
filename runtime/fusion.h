// Graph rewrites the session applies before planning, so that common
// operator chains run as one kernel. Today: Conv followed by its activation
// (Relu, Clip with constant bounds, LeakyRelu, HardSigmoid, Sigmoid) becomes
// one Conv that applies bias and activation while the output is in cache.
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
// the values that no longer exist (the Conv outputs folded into their
// activation). A value that is a graph output or read by anything but the
// activation is never folded.
std::vector<std::string> FuseConvActivations(const Model& model, Graph& graph);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_FUSION_H_
