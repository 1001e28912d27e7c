#include "runtime/passes.h"

#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "runtime/rewrite_test_util.h"
#include "runtime/session.h"

namespace pare::runtime {
namespace {

using pare::testing::ExpectRewriteKeepsOutputs;

RewritePasses Only(const std::string& name) {
  RewritePasses all = SessionPasses(uint64_t{1} << 26, RunAlone), one;
  for (auto& p : all) {
    if (p->name() == name) one.push_back(std::move(p));
  }
  EXPECT_EQ(one.size(), 1u) << name;
  return one;
}

// x + (Constant a * Constant b): the product folds to one initializer.
Model ConstantArithmetic() {
  ModelBuilder b("fold", 13);
  b.Input("x", DataType::kFloat32, {2, 3});
  b.AddNode("Constant", {}, {"a"}, "a").attributes = {
      TensorAttr("value", RandomTensor("a", {2, 3}, 1, 1.0f))};
  b.Initializer(RandomTensor("b", {2, 3}, 2, 1.0f));
  b.AddNode("Mul", {"a", "b"}, {"ab"}, "mul");
  b.AddNode("Add", {"x", "ab"}, {"y"}, "add");
  b.Output("y", DataType::kFloat32, {2, 3});
  return std::move(b).Build();
}

// x -> Conv -> BatchNormalization -> Relu -> y; the weight in a Constant
// node, as PP-OCR's exports hold every weight, when `constant_weight`.
// With `quantized_output`, y is also quantized and dequantized (uint8), as a
// QDQ model's activations are.
Model ConvBatchNormRelu(bool constant_weight = false, bool quantized_output = false) {
  ModelBuilder b("fuse", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 5, 5});
  if (constant_weight) {
    b.AddNode("Constant", {}, {"w"}, "w").attributes = {
        TensorAttr("value", RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f))};
  } else {
    b.Initializer(RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f));
  }
  b.Initializer(Tensor::FromVector<float>("scale", {3}, {1.5f, 0.5f, -1.0f}));
  b.Initializer(Tensor::FromVector<float>("shift", {3}, {0.1f, -0.2f, 0.3f}));
  b.Initializer(Tensor::FromVector<float>("mean", {3}, {0.0f, 0.5f, -0.5f}));
  b.Initializer(Tensor::FromVector<float>("var", {3}, {1.0f, 2.0f, 0.5f}));
  b.AddNode("Conv", {"x", "w"}, {"c"}, "conv").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"n"}, "bn");
  b.AddNode("Relu", {"n"}, {quantized_output ? "r" : "y"}, "relu");
  if (quantized_output) {
    b.Initializer(Tensor::FromVector<float>("ys", {}, {0.05f}));
    b.Initializer(Tensor::FromVector<uint8_t>("yz", {}, {0}));
    b.AddNode("QuantizeLinear", {"r", "ys", "yz"}, {"rq"}, "q");
    b.AddNode("DequantizeLinear", {"rq", "ys", "yz"}, {"y"}, "dq");
  }
  b.Output("y", DataType::kFloat32, {1, 3, 5, 5});
  return std::move(b).Build();
}

TEST(SessionPasses, AreFoldingThenFusion) {
  const RewritePasses passes = SessionPasses(1024, RunAlone);
  ASSERT_EQ(passes.size(), 3u);
  EXPECT_EQ(passes[0]->name(), "fold-constants");
  EXPECT_EQ(passes[1]->name(), "fuse-conv-activations");
  EXPECT_EQ(passes[2]->name(), "fuse-quantize-dequantize");
}

TEST(SessionPasses, FoldingKeepsTheOutputs) {
  const Model after = ExpectRewriteKeepsOutputs(ConstantArithmetic(), Only("fold-constants"),
                                                {RandomTensor("x", {2, 3}, 3, 1.0f)});
  EXPECT_EQ(after.graph.nodes.size(), 1u);  // the Add alone
}

TEST(SessionPasses, FusionKeepsTheOutputs) {
  const Model after = ExpectRewriteKeepsOutputs(ConvBatchNormRelu(), Only("fuse-conv-activations"),
                                                {RandomTensor("x", {1, 2, 5, 5}, 3, 1.0f)}, 1e-5f);
  EXPECT_EQ(after.graph.nodes.size(), 1u);  // one Conv with its activation
}

TEST(SessionPasses, TheWholeListKeepsTheOutputs) {
  // Fusion needs the weight that folding makes a constant.
  const Model after = ExpectRewriteKeepsOutputs(ConvBatchNormRelu(/*constant_weight=*/true,
                                                                  /*quantized_output=*/true),
                                                SessionPasses(uint64_t{1} << 26, RunAlone),
                                                {RandomTensor("x", {1, 2, 5, 5}, 4, 1.0f)}, 1e-5f);
  EXPECT_EQ(after.graph.nodes.size(), 1u);
}

TEST(SessionPasses, AnErrorNamesThePass) {
  RewritePasses passes;
  passes.push_back(std::make_unique<FunctionRewrite>(
      "always-fails",
      [](Model&) -> absl::StatusOr<RewriteOutcome> { return absl::InternalError("no"); }));
  Model m = ConstantArithmetic();
  auto done = ApplyRewrites(m, passes);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().message(), "always-fails: no");
}

}  // namespace
}  // namespace pare::runtime
