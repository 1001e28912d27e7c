// Accuracy-driven mixed precision for static int8: quantize everything to
// 8 bits, rank the layers by the output error each causes when quantized
// alone (sensitivity.h), then find the fewest of the worst layers that must go to
// 16-bit activations (or stay in float) for the model's outputs to meet an
// SQNR target on validation samples.
//
//   ASSIGN_OR_RETURN(MixedPrecisionResult r,
//                    QuantizeToTarget(float_model, calibration, validation,
//                                     {.min_sqnr_db = 25}));
//   // r.model is the quantized model, r.promoted the layers kept wider.
//
// The search assumes that promoting more of the ranked layers never hurts:
// it doubles the count until the target holds, then bisects. Each step is a
// full quantization (calibration included) and a validation run.
#ifndef PARE_PLAN_MIXED_PRECISION_H_
#define PARE_PLAN_MIXED_PRECISION_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/samples.h"
#include "quantize/static_int8.h"

namespace pare::plan {

struct MixedPrecisionOptions {
  quantize::StaticInt8Options quantize;  // the 8-bit recipe (QDQ)
  double min_sqnr_db = 25;               // on the worst output, over the validation samples
  bool fallback_float = false;  // promoted layers stay in float instead of 16-bit activations
  // The ranking calibrates on this many validation samples and measures on
  // as many more.
  int64_t ranking_samples = 4;
  int threads = 0;
  std::function<void(const std::string& line)> log;
};

struct MixedPrecisionStep {
  int64_t promoted = 0;
  double sqnr_db = 0;
};

struct MixedPrecisionResult {
  Model model;  // the chosen quantized model
  quantize::QuantizeReport report;
  std::vector<std::string> promoted;  // worst first
  double sqnr_db = 0;                 // of the chosen model
  bool met = false;                   // false: even promoting every layer missed the target
  std::vector<MixedPrecisionStep> steps;
};

absl::StatusOr<MixedPrecisionResult> QuantizeToTarget(const Model& float_model,
                                                      const quantize::CalibrationData& calibration,
                                                      const data::SampleSource& validation,
                                                      const MixedPrecisionOptions& options);

}  // namespace pare::plan

#endif  // PARE_PLAN_MIXED_PRECISION_H_
