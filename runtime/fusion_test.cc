#include "runtime/fusion.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "runtime/constant_folding.h"
#include "runtime/session.h"

namespace pare::runtime {
namespace {

// x -> Conv(3x3, pad 1, bias) -> act -> y, with act's extra inputs given.
Model ConvThen(const std::string& act, std::vector<Attribute> attrs = {},
               std::vector<std::string> extra_inputs = {}, bool also_output_conv = false) {
  ModelBuilder b("fusion", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 5, 5});
  b.Initializer(RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f));
  b.Initializer(RandomTensor("b", {3}, 2, 1.0f));
  b.Initializer(Tensor::FromVector<float>("lo", {}, {-0.25f}));
  b.Initializer(Tensor::FromVector<float>("hi", {}, {0.5f}));
  b.AddNode("Conv", {"x", "w", "b"}, {"c"}, "conv").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  std::vector<std::string> inputs = {"c"};
  inputs.insert(inputs.end(), extra_inputs.begin(), extra_inputs.end());
  b.AddNode(act, inputs, {"y"}, "act").attributes = std::move(attrs);
  b.Output("y", DataType::kFloat32, {1, 3, 5, 5});
  if (also_output_conv) b.Output("c", DataType::kFloat32, {1, 3, 5, 5});
  return std::move(b).Build();
}

std::vector<float> RunWith(const Model& model, bool fuse) {
  auto session = Session::Create(model, {.threads = 1, .fuse = fuse});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({RandomTensor("x", {1, 2, 5, 5}, 3, 1.0f)});
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

void ExpectFusedMatchesUnfused(const Model& model) {
  Model copy = model;
  EXPECT_EQ(FuseConvActivations(copy, copy.graph), std::vector<std::string>{"c"});
  EXPECT_EQ(copy.graph.nodes.size(), 1u);
  const std::vector<float> fused = RunWith(model, true), plain = RunWith(model, false);
  ASSERT_EQ(fused.size(), plain.size());
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], plain[i], 1e-6) << i;
}

TEST(Fusion, ConvActivationsMatchTheUnfusedGraph) {
  ExpectFusedMatchesUnfused(ConvThen("Relu"));
  ExpectFusedMatchesUnfused(ConvThen("Sigmoid"));
  ExpectFusedMatchesUnfused(ConvThen("LeakyRelu", {FloatAttr("alpha", 0.3f)}));
  ExpectFusedMatchesUnfused(
      ConvThen("HardSigmoid", {FloatAttr("alpha", 0.25f), FloatAttr("beta", 0.4f)}));
  ExpectFusedMatchesUnfused(ConvThen("Clip", {}, {"lo", "hi"}));
  ExpectFusedMatchesUnfused(ConvThen("Clip", {}, {"", "hi"}));
}

// Conv -> Mul(scalar) -> Add(per-channel) -> x * Clip(x + 3, 0, 6) / 6, as
// PP-OCR's exports spell a learnable affine and HardSwish.
Model ConvAffineHardSwish() {
  ModelBuilder b("fusion", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 5, 5});
  b.Initializer(RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f));
  b.Initializer(Tensor::FromVector<float>("s", {}, {1.5f}));
  b.Initializer(Tensor::FromVector<float>("t", {3, 1, 1}, {0.5f, -1.0f, 2.0f}));
  b.Initializer(Tensor::FromVector<float>("three", {}, {3.0f}));
  b.Initializer(Tensor::FromVector<float>("zero", {}, {0.0f}));
  b.Initializer(Tensor::FromVector<float>("six", {}, {6.0f}));
  b.AddNode("Conv", {"x", "w"}, {"c"}, "conv").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Mul", {"s", "c"}, {"scaled"}, "scale");
  b.AddNode("Add", {"scaled", "t"}, {"h"}, "shift");
  b.AddNode("Add", {"h", "three"}, {"h3"}, "plus3");
  b.AddNode("Clip", {"h3", "zero", "six"}, {"r6"}, "relu6");
  b.AddNode("Mul", {"h", "r6"}, {"hr"}, "gate");
  b.AddNode("Div", {"hr", "six"}, {"y"}, "div6");
  b.Output("y", DataType::kFloat32, {1, 3, 5, 5});
  return std::move(b).Build();
}

TEST(Fusion, AffineFoldsIntoWeightsAndHardSwishIntoTheConv) {
  const Model model = ConvAffineHardSwish();
  Model copy = model;
  EXPECT_EQ(FuseConvActivations(copy, copy.graph),
            (std::vector<std::string>{"c", "scaled", "h", "h3", "r6", "hr"}));
  ASSERT_EQ(copy.graph.nodes.size(), 1u);
  EXPECT_EQ(copy.graph.nodes[0].outputs[0], "y");
  const std::vector<float> fused = RunWith(model, true), plain = RunWith(model, false);
  ASSERT_EQ(fused.size(), plain.size());
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], plain[i], 1e-5) << i;
}

// A QDQ-style weight: int8 initializer -> DequantizeLinear -> Conv -> Relu.
Model DequantizedWeightConv() {
  ModelBuilder b("qdq", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 5, 5});
  std::vector<int8_t> codes(3 * 2 * 3 * 3);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int8_t>(i * 7 % 255 - 127);
  b.Initializer(Tensor::FromVector<int8_t>("wq", {3, 2, 3, 3}, codes));
  b.Initializer(Tensor::FromVector<float>("ws", {3}, {0.01f, 0.02f, 0.005f}));
  b.Initializer(Tensor::FromVector<int8_t>("wz", {3}, {0, 0, 0}));
  b.AddNode("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, "dq").attributes = {IntAttr("axis", 0)};
  b.AddNode("Conv", {"x", "w"}, {"c"}, "conv").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"c"}, {"y"}, "relu");
  b.Output("y", DataType::kFloat32, {1, 3, 5, 5});
  return std::move(b).Build();
}

TEST(Fusion, ConstantSubgraphsAreComputedOnce) {
  const Model model = DequantizedWeightConv();
  Model copy = model;
  EXPECT_EQ(FoldConstants(copy, uint64_t{1} << 30, RunAlone), std::vector<std::string>{"w"});
  ASSERT_EQ(copy.graph.nodes.size(), 2u);  // Conv and Relu; the int8 weight is gone
  for (const Tensor& t : copy.graph.initializers) EXPECT_NE(t.name(), "wq");
  // Folded, the weight is a constant again, so Conv and Relu fuse too.
  const std::vector<float> optimized = RunWith(model, true), plain = RunWith(model, false);
  ASSERT_EQ(optimized.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(optimized[i], plain[i], 1e-6) << i;
  auto session = Session::Create(model);
  ASSERT_TRUE(session.ok());
  RunOptions watch{.observer = [](const Node&, const Tensor&) {}, .watch = {"w"}};
  EXPECT_FALSE((*session)->Run({RandomTensor("x", {1, 2, 5, 5}, 3, 1.0f)}, watch).ok());
}

TEST(Fusion, LeavesValuesOthersNeed) {
  Model model = ConvThen("Relu", {}, {}, /*also_output_conv=*/true);
  EXPECT_TRUE(FuseConvActivations(model, model.graph).empty());
  EXPECT_EQ(model.graph.nodes.size(), 2u);
  // Clip bounds that are graph inputs are not known before running.
  Model dynamic = ConvThen("Clip", {}, {"lo", "hi"});
  dynamic.graph.inputs.push_back({.name = "hi", .elem_type = DataType::kFloat32});
  std::erase_if(dynamic.graph.initializers, [](const Tensor& t) { return t.name() == "hi"; });
  EXPECT_TRUE(FuseConvActivations(dynamic, dynamic.graph).empty());
}

TEST(Fusion, WatchingAFusedValueIsAnError) {
  auto session = Session::Create(ConvThen("Relu"));
  ASSERT_TRUE(session.ok());
  RunOptions options{.observer = [](const Node&, const Tensor&) {}, .watch = {"c"}};
  auto out = (*session)->Run({RandomTensor("x", {1, 2, 5, 5}, 3, 1.0f)}, options);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'c' was fused away"), std::string::npos);
}

}  // namespace
}  // namespace pare::runtime
