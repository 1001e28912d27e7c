// Peak activation memory of one inference step, planned statically: shapes
// come from ONNX shape inference with the inputs' symbolic sizes bound, and
// a replay of the execution order frees each value after its last reader
// (as pare's executor and ONNX Runtime's planner do). Nothing is run and no
// weight is read, so it works on models larger than memory.
//
//   ActivationShape s{.batch = 1, .tokens = 512, .context = 8192};
//   ASSIGN_OR_RETURN(ActivationEstimate a, EstimatePeakActivations(model, s, kv));
#ifndef PARE_ANALYSIS_ACTIVATIONS_H_
#define PARE_ANALYSIS_ACTIVATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::analysis {

struct ActivationShape {
  int64_t batch = 1;
  int64_t tokens = 512;   // tokens per step (the prefill chunk)
  int64_t context = 512;  // keys each token attends to, with a cache
};

struct ActivationEstimate {
  uint64_t peak_bytes = 0;
  std::string peak_node;       // the node running at the peak
  int64_t values = 0;          // intermediate values planned
  int64_t unknown_values = 0;  // whose size inference could not give (not counted)
};

// `score_values` (attention scores through softmax, from kv_cache.h) are
// sized for `context` keys instead of `tokens`: with a cache, each new token
// attends to the whole context.
absl::StatusOr<ActivationEstimate> EstimatePeakActivations(
    const Model& model, const ActivationShape& shape, const std::vector<std::string>& score_values);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_ACTIVATIONS_H_
