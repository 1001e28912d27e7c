// The planning and calibration steps of static quantization, shared by its
// QDQ and QOperator writers (internal to quantize/).
#ifndef PARE_QUANTIZE_STATIC_PLAN_H_
#define PARE_QUANTIZE_STATIC_PLAN_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "core/model.h"
#include "quantize/calibration.h"
#include "quantize/report.h"
#include "quantize/rewrite_util.h"
#include "quantize/smoothquant.h"
#include "quantize/static_options.h"

namespace pare::quantize {

// One operator to quantize and the roles of its inputs.
struct Target {
  size_t node;
  std::vector<int> activations;  // input indices
  int weight = -1;
  int64_t weight_axis = -1;  // output-channel axis of the weight
  int bias = -1;
  // SmoothQuant: the channel axis of input 0 and the matching weight axis
  // (-100: this node cannot be smoothed).
  int64_t x_channel_axis = -100, w_input_axis = -100;
};

// Decides what to quantize in each candidate node; explains what it skips.
std::vector<Target> PlanTargets(const Graph& g, const Constants& constants,
                                const StaticInt8Options& o, std::vector<std::string>& skipped);

// A scalar zero point of `type` (uint8, int8, uint16 or int16).
Tensor Scalar(const std::string& name, DataType type, int32_t value);

// Runs the calibration samples, feeding every watched activation to its
// calibrator (and per-channel ranges where `channels` asks for them).
absl::Status Calibrate(const Model& model, const CalibrationData& data, const StaticInt8Options& o,
                       absl::flat_hash_map<std::string, TensorCalibrator>& calibrators,
                       absl::flat_hash_map<std::string, ChannelRange>& channels);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_STATIC_PLAN_H_
