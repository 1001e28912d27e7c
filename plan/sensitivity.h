// Quantization sensitivity: each quantizable layer (Conv, MatMul, Gemm)
// quantized alone to static int8 through the quantize stage, and the
// model's output error measured against the float original. The ranking,
// most sensitive first, is what a mixed-precision plan needs: the layers at
// the top are the ones to keep at higher precision.
#ifndef PARE_PLAN_SENSITIVITY_H_
#define PARE_PLAN_SENSITIVITY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "evaluate/evaluate.h"
#include "quantize/static_int8.h"

namespace pare::plan {

struct SensitivityOptions {
  int64_t calibration_samples = 4;  // the first samples calibrate
  int64_t evaluation_samples = 4;   // the next ones measure
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;
  quantize::StaticInt8Options quantize;  // the recipe each layer is quantized with
};

// Most sensitive (lowest output SQNR) first.
absl::StatusOr<std::vector<evaluate::SensitivityEntry>> QuantizationSensitivity(
    const Model& reference, const data::SampleSource& samples, const SensitivityOptions& options);

}  // namespace pare::plan

#endif  // PARE_PLAN_SENSITIVITY_H_
