// Activation ranges chosen tensor by tensor by the error they cause at the
// model's outputs (internal to quantize/).
//
// No one calibration method suits every tensor: min/max wastes codes on a
// heavy-tailed Conv output, a percentile clips the few large values a
// residual stream needs. So each quantized activation (with the values that
// share its parameters) tries the range every method gives and keeps the
// one with the least output error on the search samples, in graph order,
// the earlier choices already in place.
#ifndef PARE_QUANTIZE_RANGE_SEARCH_H_
#define PARE_QUANTIZE_RANGE_SEARCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/model.h"
#include "quantize/calibration.h"
#include "quantize/static_options.h"

namespace pare::quantize {

using NamedRange = std::pair<std::string, Range>;  // method label, range

// One activation whose range is searched, with its candidates.
struct RangeChoice {
  std::string value;
  std::vector<NamedRange> candidates;
};

// The candidate ranges of one calibrated tensor: min/max, MSE, entropy and
// percentiles 99.9 to 99.999 (duplicates dropped).
std::vector<NamedRange> CandidateRanges(const TensorCalibrator& c, int entropy_levels);

using RangeOverrides = absl::flat_hash_map<std::string, NamedRange>;
// Writes the quantized model with `overrides` in place of the default ranges.
using QuantizedBuilder = std::function<absl::StatusOr<Model>(const RangeOverrides& overrides)>;

struct RangeSearchOptions {
  int64_t samples = 8;  // the first calibration samples
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;
};

// The ranges with the least summed relative squared output error against
// `reference` (the float model) on the search samples, one choice at a time.
absl::StatusOr<RangeOverrides> SearchRanges(const Model& reference, const CalibrationData& data,
                                            const std::vector<RangeChoice>& choices,
                                            const QuantizedBuilder& build,
                                            const RangeSearchOptions& o);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_RANGE_SEARCH_H_
