// Where Q/DQ pairs go so that an integer runtime can keep activations in
// 8 bits from one operator to the next (internal to quantize/).
//
// ONNX Runtime turns DQ -> op -> Q into one integer kernel (QLinearConv,
// QLinearMatMul, QLinearAdd, ...) only when the op's output is quantized
// too, and it drops the Q/DQ around data-movement ops (Reshape, MaxPool...)
// only when both sides share one scale. So besides the inputs of each
// Conv/MatMul/Gemm, this layout quantizes:
//  - their outputs, or the output of the Relu/Clip that is their only
//    reader (the clamp is then folded into the output's range);
//  - the inputs and output of Add and Mul of two activations, Concat,
//    GlobalAveragePool, AveragePool and Sigmoid;
//  - the inputs and outputs of data-movement ops, the output taking its
//    input's scale and zero point.
// Graph outputs stay float, as do values no quantized op touches.
#ifndef PARE_QUANTIZE_INTEGER_LAYOUT_H_
#define PARE_QUANTIZE_INTEGER_LAYOUT_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/graph_edit.h"
#include "core/model.h"
#include "quantize/static_plan.h"

namespace pare::quantize {

struct IntegerLayout {
  // Activations to quantize (beyond the targets' inputs), in graph order.
  std::vector<std::string> values;
  // A data-movement op's output -> the value whose parameters it takes
  // (followed to the first value that has its own).
  absl::flat_hash_map<std::string, std::string> shared;

  // The value whose calibrated range sets `value`'s parameters.
  const std::string& RangeSource(const std::string& value) const;
};

IntegerLayout PlanIntegerLayout(const Graph& g, const Constants& constants,
                                const std::vector<Target>& targets);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_INTEGER_LAYOUT_H_
