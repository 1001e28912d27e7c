// Every prune method leaves the caller's model unchanged when it fails,
// whether an option is refused or a weight is, and however late the failure
// comes (after other layers were pruned).
#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "core/test_util.h"
#include "data/inputs.h"
#include "prune/prune.h"

namespace pare::prune {
namespace {

using pare::testing::Snapshot;

// With `nan_weight`, w2 (the second weight the stages reach) holds a NaN; at
// opset 9 every stage that needs a later opset upgrades it first.
Model ThreeLayers(int64_t opset, bool nan_weight) {
  return pare::testing::MatMulChain(opset, {64, 64, 64, 16}, nan_weight ? 2 : 0);
}

data::CalibrationData Calibration(const Model& model) {
  return {4,
          [&model](int64_t i) {
            return data::RandomInputs(model, 10 + i, {{"N", 2}});
          },
          "random"};
}

void ExpectFailsAndLeavesModel(Model model, const PruneOptions& options) {
  const std::string before = Snapshot(model);
  const data::CalibrationData data = Calibration(model);
  const auto result = Prune(model, &data, options);
  EXPECT_FALSE(result.ok()) << PruneMethodName(options.method);
  EXPECT_TRUE(Snapshot(model) == before)
      << PruneMethodName(options.method) << ": the failed stage changed its input";
}

TEST(StageContract, PruneLeavesModelOnFailedOption) {
  ExpectFailsAndLeavesModel(ThreeLayers(13, false), {.sparsity = 1.5});
  ExpectFailsAndLeavesModel(ThreeLayers(13, false),
                            {.method = PruneMethod::kChannels, .pattern = {2, 4}});
  // Compact storage needs opset 11, found out after both layers are pruned.
  ExpectFailsAndLeavesModel(ThreeLayers(9, false), {.compact_storage = true});
}

TEST(StageContract, PruneLeavesModelOnFailedWeight) {
  for (PruneMethod method : {PruneMethod::kMagnitude, PruneMethod::kWanda, PruneMethod::kSparseGpt,
                             PruneMethod::kChannels}) {
    ExpectFailsAndLeavesModel(ThreeLayers(13, true), {.method = method, .sparsity = 0.5});
  }
}

TEST(StageContract, CompactStorageLeavesModelOnFailure) {
  Model model = ThreeLayers(9, false);
  const std::string before = Snapshot(model);
  EXPECT_FALSE(StoreSparseWeightsCompact(model).ok());
  EXPECT_TRUE(Snapshot(model) == before);
}

}  // namespace
}  // namespace pare::prune
