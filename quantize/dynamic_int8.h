// Dynamic int8 quantization: MatMul/Gemm weights quantized offline (int8,
// symmetric, per output column or per tensor), activations quantized at run
// time by DynamicQuantizeLinear, the product computed by MatMulInteger in
// int32 and rescaled by activation scale x weight scale. Needs no data;
// needs opset 11 (DynamicQuantizeLinear).
//
//   MatMul(X, W) -> y   becomes
//   DynamicQuantizeLinear(X) -> Xq, Xs, Xz
//   MatMulInteger(Xq, Wq, Xz) -> int32;  Cast -> float;  * (Xs * Ws) -> y
#ifndef PARE_QUANTIZE_DYNAMIC_INT8_H_
#define PARE_QUANTIZE_DYNAMIC_INT8_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "quantize/static_int8.h"

namespace pare::quantize {

struct DynamicInt8Options {
  bool per_channel = true;
  std::vector<std::string> op_types = {"MatMul", "Gemm"};
  std::vector<std::string> exclude;  // node names kept in float
};

// The output name of each quantized node is kept (pare evaluate --per-layer
// matches it with the original).
// On any error `model` is unchanged (core/stage.h: the stage works on a copy
// and commits only when everything succeeded).
absl::StatusOr<QuantizeReport> QuantizeDynamicInt8(Model& model, const DynamicInt8Options& options);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_DYNAMIC_INT8_H_
