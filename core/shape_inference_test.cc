#include "core/shape_inference.h"

#include <gtest/gtest.h>

#include "core/model_builder.h"
#include "core/model_summary.h"

namespace pare {
namespace {

TEST(InferShapes, FillsIntermediateAndOutputShapes) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, 16});
  b.Initializer(RandomTensor("w", {16, 8}, 1));
  b.Initializer(Tensor::FromVector<int64_t>("shape", {2}, {-1, 4}));
  b.AddNode("MatMul", {"x", "w"}, {"h"});
  b.AddNode("Relu", {"h"}, {"r"});
  b.AddNode("Reshape", {"r", "shape"}, {"y"});
  Model model = std::move(b).Build();
  model.graph.outputs.push_back(ValueInfo{.name = "y"});
  ASSERT_TRUE(InferShapes(model).ok());
  ASSERT_GE(model.graph.value_info.size(), 2u);
  EXPECT_EQ(model.graph.value_info[0].name, "h");
  EXPECT_EQ(DescribeValue(model.graph.value_info[0]), "float[N,8]");
  ASSERT_TRUE(model.graph.outputs[0].shape.has_value());
  ASSERT_EQ(model.graph.outputs[0].shape->size(), 2u);
  EXPECT_EQ((*model.graph.outputs[0].shape)[1].value, 4);
}

TEST(InferShapes, LeavesUnknownOperatorsAlone) {
  ModelBuilder b("contrib");
  b.Opset("com.example", 1);
  b.Input("x", DataType::kFloat32, {2});
  b.AddNode("Mystery", {"x"}, {"y"}).domain = "com.example";
  Model model = std::move(b).Build();
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_TRUE(model.graph.value_info.empty());
}

}  // namespace
}  // namespace pare
