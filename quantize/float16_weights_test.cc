// Float16 storage of bulk weights.

#include "quantize/float16_weights.h"

#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "core/test_util.h"
#include "runtime/session.h"

namespace pare::quantize_tests {

using quantize::HalfWeights;
using quantize::StoreWeightsInHalf;

namespace {

TEST(HalfWeights, BulkWeightsGoHalfAndTheModelStillRuns) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {2, 64});
  b.Output("y", DataType::kFloat32, {2, 64});
  b.Initializer(RandomTensor("w", {64, 64}, 1));
  b.Initializer(RandomTensor("gamma", {64}, 2));
  b.AddNode("MatMul", {"x", "w"}, {"h"});
  b.AddNode("Mul", {"h", "gamma"}, {"y"});
  Model model = std::move(b).Build();
  absl::StatusOr<HalfWeights> half = StoreWeightsInHalf(model, DataType::kFloat16);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->converted, 1);
  EXPECT_EQ(half->bytes_after * 2, half->bytes_before);
  auto session = runtime::Session::Create(model);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->Run({RandomTensor("x", {2, 64}, 3)}).ok());
}

}  // namespace
}  // namespace pare::quantize_tests
