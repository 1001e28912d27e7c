// The memory account: weights, KV cache and activations against a device.

#include "analysis/memory_account.h"

#include <gtest/gtest.h>

#include "analysis/device.h"
#include "core/model_builder.h"
#include "core/test_util.h"

namespace pare::analysis_tests {

using analysis::AccountMemory;
using analysis::AccountOptions;
using analysis::AccountToText;
using analysis::BudgetDevice;
using analysis::MemoryAccount;

namespace {

using pare::testing::AttentionModel;

TEST(MemoryAccount, AddsUpAndGivesAVerdict) {
  const Model model = AttentionModel();
  AccountOptions o{.context = 1000, .prefill = 10};
  absl::StatusOr<MemoryAccount> a = AccountMemory(model, BudgetDevice(100000), o);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->weight_bytes, (16 * 16 * 2 + 16 * 8 + 8 * 16 + 1) * 4u);
  EXPECT_EQ(a->kv_bytes, 1000u * 24 * 2);
  EXPECT_EQ(a->total_bytes, a->weight_bytes + a->kv_bytes + a->activations.peak_bytes);
  EXPECT_EQ(a->fits, a->total_bytes <= 100000);
  a = AccountMemory(model, BudgetDevice(1000), o);
  EXPECT_FALSE(a->fits);
  EXPECT_LT(a->headroom_bytes, 0);
  EXPECT_NE(AccountToText(*a).find("does NOT fit"), std::string::npos);
}

// Weights held in Constant nodes (as PP-OCR's exports hold all of them)
// count exactly as initializers do.
TEST(MemoryAccount, ConstantNodeWeightsCountAsWeights) {
  const Model with_initializers = pare::testing::MatMulChain(13, {16, 32, 8});
  Model with_constants = with_initializers;
  std::vector<Node> constants;
  for (const Tensor& t : with_constants.graph.initializers) {
    Node n;
    n.op_type = "Constant";
    n.name = t.name() + "_constant";
    n.outputs = {t.name()};
    n.attributes = {TensorAttr("value", t)};
    constants.push_back(std::move(n));
  }
  with_constants.graph.initializers.clear();
  with_constants.graph.nodes.insert(with_constants.graph.nodes.begin(), constants.begin(),
                                    constants.end());
  const auto a = AccountMemory(with_initializers, BudgetDevice(1 << 20), {});
  const auto b = AccountMemory(with_constants, BudgetDevice(1 << 20), {});
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(a->weight_bytes, (16 * 32 + 32 * 8) * 4u);
  EXPECT_EQ(b->weight_bytes, a->weight_bytes);
}

}  // namespace
}  // namespace pare::analysis_tests
