// Which weights unstructured and N:M pruning reaches, and how each is laid
// out. Internal to prune/.
#ifndef PARE_PRUNE_TARGETS_H_
#define PARE_PRUNE_TARGETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/graph_edit.h"
#include "core/model.h"
#include "prune/options.h"

namespace pare::prune {

struct WeightTarget {
  Graph* graph = nullptr;  // the main graph or an If/Loop/Scan body
  int depth = 0;           // 0: the main graph
  size_t node = 0;
  std::string input, weight;  // the activation multiplied by the weight, the weight
  const Tensor* tensor = nullptr;
  // The weight as [k inputs, n outputs]; `transposed` when stored [n, k]
  // (Gemm with transB, Conv's [O, I/group x kernel]).
  int64_t k = 0, n = 0;
  bool transposed = false;
  PruneMethod method = PruneMethod::kMagnitude;
  double sparsity = 0;
  NmPattern pattern;
};

bool NeedsData(PruneMethod m);

// The weights to prune, with each one's method, sparsity and pattern after
// the rules; nodes left dense are listed in `skipped` with the reason.
// Errors: an N:M pattern that does not divide a target's input dimension.
// In a subgraph (`main_graph` false) no MatMul is the model's output head.
absl::StatusOr<std::vector<WeightTarget>> PlanTargets(const Graph& g, const Constants& constants,
                                                      const PruneOptions& o,
                                                      std::vector<std::string>& skipped,
                                                      bool main_graph = true);

// The weight's values as float32 [k, n], and back into its own dtype and
// layout under its own name.
absl::StatusOr<std::vector<float>> LoadKn(const WeightTarget& t);
Tensor StoreKn(const WeightTarget& t, const std::vector<float>& kn);

}  // namespace pare::prune

#endif  // PARE_PRUNE_TARGETS_H_
