#include "core/model_summary.h"

#include <gtest/gtest.h>

#include "core/model_builder.h"

namespace pare {
namespace {

Model ModelWithWeightsEverywhere() {
  ModelBuilder b("m");
  b.Input("x", DataType::kFloat32, {-1, 8});
  b.Input("w", DataType::kFloat32, {8, 8});  // old-style: initializer listed as input
  b.Initializer(RandomTensor("w", {8, 8}, 1));
  b.Initializer(Tensor::FromBytes("q", DataType::kInt4, {3}, {0x21, 0x03}));
  b.AddNode("Constant", {}, {"c"})
      .attributes.push_back(TensorAttr("value", RandomTensor("", {5}, 2)));
  ModelBuilder sub("body");
  sub.Initializer(Tensor::FromVector<int64_t>("k", {2}, {1, 2}));
  sub.AddNode("Identity", {"k"}, {"o"});
  b.AddNode("If", {"cond"}, {"z"})
      .attributes.push_back(GraphAttr("then_branch", std::move(sub).Build().graph));
  b.AddNode("MatMulNBits", {"x", "q"}, {"y"}).domain = "com.microsoft";
  return std::move(b).Build();
}

TEST(Summarize, CountsInitializersConstantsAndSubgraphWeights) {
  const ModelSummary s = Summarize(ModelWithWeightsEverywhere());
  EXPECT_EQ(s.parameter_count, 64u + 3 + 5 + 2);
  EXPECT_EQ(s.parameter_bytes, 256u + 2 + 20 + 16);
  EXPECT_EQ(s.by_dtype.at("float").tensors, 2u);
  EXPECT_EQ(s.by_dtype.at("int4").bytes, 2u);
  EXPECT_EQ(s.by_dtype.at("int64").elements, 2u);
  EXPECT_EQ(s.node_count, 4u);
  EXPECT_EQ(s.subgraph_count, 1u);
  EXPECT_EQ(s.op_histogram.at("com.microsoft.MatMulNBits"), 1u);
  ASSERT_EQ(s.inputs.size(), 1u);  // "w" is an initializer, not a real input
  EXPECT_EQ(s.largest[0].name, "w");
  EXPECT_EQ(s.largest[1].name, "c");
  EXPECT_EQ(s.largest[1].kind, "constant");
}

TEST(SummaryToJson, FollowsTheDocumentedSchema) {
  const auto j = SummaryToJson(Summarize(ModelWithWeightsEverywhere(), 2));
  EXPECT_EQ(j["schema"], "pare.inspect/1");
  EXPECT_EQ(j["parameters"]["count"], 74);
  EXPECT_EQ(j["opsets"]["ai.onnx"], 17);
  EXPECT_EQ(j["inputs"][0]["shape"][0], "N");
  EXPECT_EQ(j["inputs"][0]["shape"][1], 8);
  EXPECT_EQ(j["largest"].size(), 2u);
  EXPECT_TRUE(j["largest"][0]["external"].is_null());
  EXPECT_TRUE(j["external_data"].empty());
}

}  // namespace
}  // namespace pare
