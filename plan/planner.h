// The fit planner: one precision per layer, chosen to minimise the
// predicted accuracy loss subject to a byte budget.
//
//   ASSIGN_OR_RETURN(std::vector<PlanLayer> layers, PlannableLayers(model, candidates));
//   RETURN_IF_ERROR(MeasureSensitivity(model, samples, task, layers, options));  // or
//   ProxySensitivity ASSIGN_OR_RETURN(Plan plan, SolvePlan(layers, candidates, budget_bytes));
//   RETURN_IF_ERROR(ApplyPlan(model, layers, candidates, plan, apply_options));
//
// Losses are per layer and assumed additive (each layer's loss is measured
// with only that layer changed): KL divergence of the next-token
// distribution for language models, relative noise power of the outputs
// (10^(-SQNR/10)) otherwise, or the weight's relative error without data.
// The choice is a multiple-choice knapsack, solved exactly by dynamic
// programming over bytes in 4096 steps of the budget, each layer's bytes
// rounded up, so the plan never exceeds the budget.
#ifndef PARE_PLAN_PLANNER_H_
#define PARE_PLAN_PLANNER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/samples.h"
#include "nlohmann/json.hpp"
#include "plan/precision.h"
#include "quantize/weight_only.h"

namespace pare::plan {

struct PlanLayer {
  std::string node, weight;
  int64_t k = 0, n = 0;
  std::vector<uint64_t> bytes;  // per candidate
  std::vector<double> loss;     // per candidate, predicted
};

// Every MatMul in the main graph with a constant 2-D float weight.
absl::StatusOr<std::vector<PlanLayer>> PlannableLayers(const Model& model,
                                                       const std::vector<Precision>& candidates);

enum class LossKind { kKl, kNoisePower, kWeightError };
const char* LossName(LossKind kind);

struct SensitivityOptions {
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;
};

// Each (layer, candidate) applied alone through the quantize stage (RTN) or
// float16 rounding, run on `samples`, compared with the original's outputs.
// `lm`: KL on next-token logits; else noise power.
absl::Status MeasureSensitivity(const Model& model, const data::SampleSource& samples, bool lm,
                                const std::vector<Precision>& candidates,
                                std::vector<PlanLayer>& layers, const SensitivityOptions& options);

// Without data: each weight's relative error (precision.h ProxyErrors).
absl::Status ProxySensitivity(const Model& model, const std::vector<Precision>& candidates,
                              std::vector<PlanLayer>& layers,
                              const std::function<void(int64_t, int64_t)>& progress);

struct Plan {
  std::vector<int> choice;  // candidate index per layer
  uint64_t bytes = 0;       // of the planned layers
  double predicted_loss = 0;
};

// The least predicted loss within `budget` bytes; fails when even the
// smallest candidate of every layer does not fit.
absl::StatusOr<Plan> SolvePlan(const std::vector<PlanLayer>& layers, uint64_t budget);
// Every layer at candidate `index` (a uniform recipe).
Plan UniformPlan(const std::vector<PlanLayer>& layers, int index);
// The smallest budget (to 0.1%) whose plan's predicted loss is at most
// `max_loss`, up to `budget`.
absl::StatusOr<Plan> SmallestPlanWithin(const std::vector<PlanLayer>& layers, uint64_t budget,
                                        double max_loss);

struct ApplyOptions {
  quantize::WeightAlgorithm algorithm = quantize::WeightAlgorithm::kRtn;
  const data::CalibrationData* calibration = nullptr;  // for gptq / awq
  std::filesystem::path spill_directory;
  int threads = 0;
  std::function<void(int64_t, int64_t)> progress;
};

// Builds the planned model through the real stages: integer layers by the
// quantize stage (one rule per layer), f16 layers stored in float16.
absl::Status ApplyPlan(Model& model, const std::vector<PlanLayer>& layers,
                       const std::vector<Precision>& candidates, const Plan& plan,
                       const ApplyOptions& options);

nlohmann::json PlanToJson(const std::vector<PlanLayer>& layers,
                          const std::vector<Precision>& candidates, const Plan& plan);

}  // namespace pare::plan

#endif  // PARE_PLAN_PLANNER_H_
