// Static int8 quantization in the QDQ format: activation ranges from
// calibration samples, weights per channel (or per tensor), biases as int32,
// written as QuantizeLinear/DequantizeLinear pairs around the float
// operators, which ONNX Runtime fuses into integer kernels and pare's
// executor runs as written.
//
//   ASSIGN_OR_RETURN(QuantizeReport report,
//                    QuantizeStaticInt8(model, calibration, {.per_channel = true}));
//
// Activation names are kept: the float value X still exists, followed by
// X_quantized and X_dequantized, so `pare evaluate --per-layer` matches the
// layers of the result with the original.
#ifndef PARE_QUANTIZE_STATIC_INT8_H_
#define PARE_QUANTIZE_STATIC_INT8_H_

#include "absl/status/statusor.h"
#include "core/model.h"
#include "quantize/report.h"
#include "quantize/static_options.h"

namespace pare::quantize {

// On any error `model` is unchanged (core/stage.h: the stage works on a copy
// and commits only when everything succeeded).
absl::StatusOr<QuantizeReport> QuantizeStaticInt8(Model& model, const CalibrationData& data,
                                                  const StaticInt8Options& options);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_STATIC_INT8_H_
