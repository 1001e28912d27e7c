// The options of static int8 quantization, shared by its planning
// (static_plan.h), its rewrites (rewrite_util.h, qoperator.h) and its entry
// point (static_int8.h).
#ifndef PARE_QUANTIZE_STATIC_OPTIONS_H_
#define PARE_QUANTIZE_STATIC_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "data/calibration_data.h"
#include "quantize/calibration.h"

namespace pare::quantize {

// Calibration samples (runtime/calibration.h).
using CalibrationData = data::CalibrationData;

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
  // QDQ only: also quantize the outputs of the quantized ops and the ops
  // between them (integer_layout.h), so an integer runtime can fuse whole
  // chains (QLinearConv -> QLinearAdd -> QLinearConv) instead of running
  // float kernels between a DequantizeLinear and a QuantizeLinear.
  bool integer_graph = false;
  // QDQ only: after calibration, choose each activation's range among the
  // methods' by the output error on the first `range_search_samples`
  // calibration samples (range_search.h); `calibration` gives the start.
  bool range_search = false;
  int64_t range_search_samples = 8;
  std::function<void(int64_t done, int64_t total)> search_progress;
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

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_STATIC_OPTIONS_H_
