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

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "nlohmann/json.hpp"
#include "quantize/calibration.h"
#include "quantize/int8.h"
#include "runtime/calibration.h"

namespace pare::quantize {

// Calibration samples (runtime/calibration.h).
using CalibrationData = runtime::CalibrationData;

struct StaticInt8Options {
  // kQdq: QuantizeLinear/DequantizeLinear around float operators.
  // kQOperator: QLinearConv/QLinearMatMul on 8-bit tensors.
  enum class Format { kQdq, kQOperator } format = Format::kQdq;
  CalibrationOptions calibration;
  bool per_channel = true;
  bool weight_mse_clip = false;  // see QuantizeWeights
  // Subtract the output shift the weights' rounding causes from each Conv's
  // bias, using per-channel input means from calibration (bias_correction.h).
  bool bias_correction = false;
  DataType activation_type = DataType::kUint8;
  bool symmetric_activations = false;
  std::vector<std::string> op_types = {"Conv", "MatMul", "Gemm"};
  std::vector<std::string> exclude;  // node names kept in float
  // Mixed precision: nodes (matched like `exclude`) whose activation inputs
  // are quantized to 16 bits (uint16 when activation_type is uint8, int16
  // when int8) while the others keep 8; weights stay int8 everywhere.
  std::vector<std::string> wide_nodes;
  // SmoothQuant migration strength (0..1), for each Conv (ungrouped or
  // depthwise), MatMul and Gemm that is its activation's only quantized
  // reader; unset: off. Ranges of smoothed activations are their min/max.
  std::optional<double> smoothquant_alpha;
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;
};

struct QuantizedTensor {
  std::string name;
  std::string kind;  // "activation", "weight" or "bias"
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  Range observed;      // activations: the calibrated extremes (min/max)
  Range chosen;        // activations: the range the method chose
  double sqnr_db = 0;  // weights: of the dequantized weight
  uint64_t bytes_before = 0, bytes_after = 0;
  std::string code_type;  // activations: "uint8", "uint16"...
  // Weight-only (block-wise) weights: how each was quantized.
  std::string algorithm;
  int bits = 0;
  int64_t block_size = 0;
  uint64_t elements = 0;  // weights: how many values
};

struct QuantizeReport {
  std::string format = "qdq";  // "qdq", "qoperator" or "dynamic"
  std::string method;
  std::string calibration;
  int64_t samples = 0;
  std::vector<QuantizedTensor> tensors;
  std::vector<std::string> quantized_nodes;
  std::vector<std::string> skipped;  // "node: why"
  uint64_t weight_bytes_before = 0, weight_bytes_after = 0;
  double calibration_seconds = 0;
};

absl::StatusOr<QuantizeReport> QuantizeStaticInt8(Model& model, const CalibrationData& data,
                                                  const StaticInt8Options& options);

nlohmann::json QuantizeReportToJson(const QuantizeReport& report);

// Bytes after quantization (weights, scales, zero points, biases) per weight
// value, in bits.
double BitsPerWeight(const QuantizeReport& report);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_STATIC_INT8_H_
