// Precision candidates and the knapsack planner.

#include "plan/planner.h"

#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "core/test_util.h"
#include "plan/precision.h"

namespace pare::plan_tests {

using namespace pare::plan;

namespace {

PlanLayer Layer(std::vector<uint64_t> bytes, std::vector<double> loss) {
  return PlanLayer{.bytes = std::move(bytes), .loss = std::move(loss)};
}

TEST(Precision, BytesAndParsing) {
  EXPECT_EQ(StoredBytes(*ParsePrecision("f16"), 64, 32), 64u * 32 * 2);
  // 4-bit, block 32: 64 x 32 codes in half a byte each, 2 blocks x 32 columns of 4-byte scales.
  EXPECT_EQ(StoredBytes(*ParsePrecision("int4-g32"), 64, 32), 64u * 32 / 2 + 2 * 32 * 4);
  EXPECT_FALSE(ParsePrecision("int4-g48").ok());
  EXPECT_FALSE(ParsePrecision("int3").ok());
  // Coarser blocks and fewer bits cost more error on the same weight.
  const Tensor w = RandomTensor("w", {256, 16}, 5);
  const std::vector<float> v = *w.ToFloat32();
  const std::vector<double> e =
      ProxyErrors(v, 256, 16, *ParsePrecisions("f16,int8,int4-g32,int4-g128"));
  EXPECT_LT(e[0], e[1]);
  EXPECT_LT(e[1], e[2]);
  EXPECT_LT(e[2], e[3]);
}

TEST(Planner, SpendsBytesWhereTheyBuyTheMostAccuracy) {
  // Two options per layer: big (loss 0) and small. Layer 0 loses much when
  // small, layer 1 little: with room for one big layer, layer 0 gets it.
  const std::vector<PlanLayer> layers = {Layer({100, 30}, {0, 5.0}), Layer({100, 30}, {0, 0.1}),
                                         Layer({100, 30}, {0, 1.0})};
  absl::StatusOr<Plan> p = SolvePlan(layers, 160);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->choice, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(p->bytes, 160u);
  EXPECT_DOUBLE_EQ(p->predicted_loss, 1.1);
  p = SolvePlan(layers, 230);
  EXPECT_EQ(p->choice, (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(SolvePlan(layers, 90)->choice, (std::vector<int>{1, 1, 1}));  // exactly the smallest
  EXPECT_EQ(SolvePlan(layers, 89).status().code(), absl::StatusCode::kResourceExhausted);
  // The smallest plan within a loss of 1.5: only layer 0 stays big.
  EXPECT_EQ(SmallestPlanWithin(layers, 300, 1.5)->choice, (std::vector<int>{0, 1, 1}));
}

}  // namespace
}  // namespace pare::plan_tests
