#include "quantize/passes.h"

#include <gtest/gtest.h>

#include "core/graph.h"
#include "core/model_builder.h"
#include "runtime/rewrite_test_util.h"

namespace pare::quantize {
namespace {

using pare::testing::ExpectRewriteKeepsOutputs;

// The pass of QdqPreparation named `name`, alone.
RewritePasses OnlyPass(const std::string& name, bool per_channel) {
  RewritePasses one;
  for (auto& pass : QdqPreparation(per_channel)) {
    if (pass->name() == name) one.push_back(std::move(pass));
  }
  EXPECT_EQ(one.size(), 1u) << name;
  return one;
}

// Each pass keeps the numbers and raises the opset; the ops whose
// signature changed on the way are what each model holds.

TEST(QuantizePasses, Opset10KeepsSliceAndTopK) {
  ModelBuilder b("slice", 9);
  b.Input("x", DataType::kFloat32, {2, 6});
  b.AddNode("Slice", {"x"}, {"s"}, "slice").attributes = {
      IntsAttr("starts", {1}), IntsAttr("ends", {5}), IntsAttr("axes", {1})};
  b.AddNode("TopK", {"s"}, {"v", "i"}, "topk").attributes = {IntAttr("k", 2)};
  b.Output("v", DataType::kFloat32, {2, 2});
  const Model after = ExpectRewriteKeepsOutputs(std::move(b).Build(), OnlyPass("opset-10", false),
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
  // opset-10 has nothing to do at 11, so only opset-13 is checked for a
  // change.
  const Model after = ExpectRewriteKeepsOutputs(before, OnlyPass("opset-13", true),
                                                {RandomTensor("x", {2, 1, 3}, 2, 1.0f)});
  EXPECT_EQ(OpsetVersion(after, "").value_or(0), 13);
}

// A BatchNormalization after a Conv would rescale the Conv's quantized
// output in float; preparation folds it into the weights and bias.
TEST(QuantizePasses, BatchNormalizationFoldsIntoTheConvBeforeQuantization) {
  ModelBuilder b("conv_bn", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 4, 4});
  b.Initializer(RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f));
  b.Initializer(Tensor::FromVector<float>("gamma", {3}, {0.5f, 2.0f, -1.0f}));
  b.Initializer(Tensor::FromVector<float>("beta", {3}, {0.1f, -0.2f, 0.3f}));
  b.Initializer(Tensor::FromVector<float>("mean", {3}, {0.2f, 0.0f, -0.4f}));
  b.Initializer(Tensor::FromVector<float>("var", {3}, {1.5f, 0.25f, 4.0f}));
  b.AddNode("Conv", {"x", "w"}, {"c"}, "conv");
  b.AddNode("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
  b.Output("y", DataType::kFloat32, {1, 3, 2, 2});
  const Model after =
      ExpectRewriteKeepsOutputs(std::move(b).Build(), OnlyPass("fold-conv-affine", true),
                                {RandomTensor("x", {1, 2, 4, 4}, 2, 1.0f)}, 1e-5f);
  ASSERT_EQ(after.graph.nodes.size(), 1u);
  EXPECT_EQ(after.graph.nodes[0].op_type, "Conv");
  EXPECT_EQ(after.graph.nodes[0].outputs[0], "y");
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
