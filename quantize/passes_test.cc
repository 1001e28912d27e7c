#include "quantize/passes.h"

#include <gtest/gtest.h>

#include "core/graph.h"
#include "core/model_builder.h"
#include "runtime/rewrite_test_util.h"

namespace pare::quantize {
namespace {

using pare::testing::ExpectRewriteKeepsOutputs;

// Each pass keeps the numbers and raises the opset; the ops whose
// signature changed on the way are what each model holds.

TEST(QuantizePasses, Opset10KeepsSliceAndTopK) {
  ModelBuilder b("slice", 9);
  b.Input("x", DataType::kFloat32, {2, 6});
  b.AddNode("Slice", {"x"}, {"s"}, "slice").attributes = {
      IntsAttr("starts", {1}), IntsAttr("ends", {5}), IntsAttr("axes", {1})};
  b.AddNode("TopK", {"s"}, {"v", "i"}, "topk").attributes = {IntAttr("k", 2)};
  b.Output("v", DataType::kFloat32, {2, 2});
  const Model after = ExpectRewriteKeepsOutputs(std::move(b).Build(), QdqPreparation(false),
                                                {RandomTensor("x", {2, 6}, 1, 1.0f)});
  EXPECT_EQ(OpsetVersion(after, "").value_or(0), 10);
}

TEST(QuantizePasses, Opset13ForPerChannelKeepsSqueeze) {
  ModelBuilder b("squeeze", 11);
  b.Input("x", DataType::kFloat32, {2, 1, 3});
  b.AddNode("Squeeze", {"x"}, {"s"}, "squeeze").attributes = {IntsAttr("axes", {1})};
  b.AddNode("Unsqueeze", {"s"}, {"y"}, "unsqueeze").attributes = {IntsAttr("axes", {0})};
  b.Output("y", DataType::kFloat32, {1, 2, 3});
  const Model before = std::move(b).Build();
  const RewritePasses passes = QdqPreparation(/*per_channel=*/true);
  ASSERT_EQ(passes.size(), 2u);
  EXPECT_EQ(passes[1]->name(), "opset-13");
  // opset-10 has nothing to do at 11, so only the second pass is checked
  // for a change.
  RewritePasses second;
  second.push_back(std::move(QdqPreparation(true)[1]));
  const Model after =
      ExpectRewriteKeepsOutputs(before, second, {RandomTensor("x", {2, 1, 3}, 2, 1.0f)});
  EXPECT_EQ(OpsetVersion(after, "").value_or(0), 13);
}

TEST(QuantizePasses, Opset21KeepsReduceMean) {
  ModelBuilder b("reduce", 13);
  b.Input("x", DataType::kFloat32, {2, 4});
  b.AddNode("ReduceMean", {"x"}, {"y"}, "mean").attributes = {IntsAttr("axes", {1})};
  b.Output("y", DataType::kFloat32, {2, 1});
  const Model after = ExpectRewriteKeepsOutputs(
      std::move(b).Build(), BlockedDequantizePreparation(), {RandomTensor("x", {2, 4}, 3, 1.0f)});
  EXPECT_EQ(OpsetVersion(after, "").value_or(0), 21);
}

}  // namespace
}  // namespace pare::quantize
