// The QOperator form of static int8 (internal to quantize/): Conv becomes
// QLinearConv and MatMul with a constant weight QLinearMatMul, consuming and
// producing uint8/int8 tensors. A quantized output feeds the next quantized
// operator directly; float readers get a DequantizeLinear under the
// original name. Other operators stay in float.
#ifndef PARE_QUANTIZE_QOPERATOR_H_
#define PARE_QUANTIZE_QOPERATOR_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "quantize/static_plan.h"

namespace pare::quantize {

// Keeps only the targets QOperator can express (Conv, MatMul with a
// constant weight), noting the others in `skipped`.
std::vector<Target> QOperatorTargets(const Graph& g, std::vector<Target> targets,
                                     std::vector<std::string>& skipped);

// Rewrites the targets; `calibrators` hold every target's input and output.
absl::Status WriteQOperator(Model& model, const std::vector<Target>& targets,
                            const Constants& constants,
                            const absl::flat_hash_map<std::string, TensorCalibrator>& calibrators,
                            const StaticInt8Options& options, QuantizeReport& report);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_QOPERATOR_H_
