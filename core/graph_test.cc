#include "core/graph.h"

#include <gtest/gtest.h>

#include "core/graph_edit.h"
#include "core/model_builder.h"

namespace pare {
namespace {

TEST(TopologicalOrder, OrdersNodesAfterTheirProducers) {
  ModelBuilder b("g");
  b.AddNode("Relu", {"b"}, {"c"}, "second");
  b.AddNode("Relu", {"a"}, {"b"}, "first");
  b.AddNode("Add", {"c", "b"}, {"d"}, "third");
  const auto order = TopologicalOrder(b.graph());
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<size_t>{1, 0, 2}));
}

TEST(TopologicalOrder, NamesANodeOnACycle) {
  ModelBuilder b("loop");
  b.AddNode("Relu", {"y"}, {"x"}, "n1");
  b.AddNode("Relu", {"x"}, {"y"}, "n2");
  const auto order = TopologicalOrder(b.graph());
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(order.status().message().find("cycle through node 'n1'"), std::string::npos);
}

Graph BranchReading(const std::string& outer) {
  ModelBuilder sub("branch");
  sub.AddNode("Identity", {outer}, {"out"});
  sub.Output("out", DataType::kFloat32, {});
  return std::move(sub).Build().graph;
}

TEST(TopologicalOrder, SubgraphReadsOfOuterValuesAreDependencies) {
  ModelBuilder b("g");
  Node& if_node = b.AddNode("If", {"cond"}, {"z"}, "if");
  if_node.attributes.push_back(GraphAttr("then_branch", BranchReading("late")));
  b.AddNode("Relu", {"x"}, {"late"}, "producer");
  const auto order = TopologicalOrder(b.graph());
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<size_t>{1, 0}));
  GraphIndex index(b.graph());
  ASSERT_EQ(index.Consumers("late").size(), 1u);
  EXPECT_EQ(index.Consumers("late")[0]->name, "if");
}

TEST(OuterScopeReads, ExcludesValuesTheSubgraphDefines) {
  ModelBuilder sub("s");
  sub.Initializer(RandomTensor("w", {2}, 1));
  sub.AddNode("Add", {"w", "outer"}, {"t"});
  sub.AddNode("Relu", {"t"}, {"u"});
  const auto reads = OuterScopeReads(sub.graph());
  EXPECT_EQ(reads.size(), 1u);
  EXPECT_TRUE(reads.contains("outer"));
}

TEST(GraphIndex, ProducersConsumersInitializersOutputs) {
  ModelBuilder b("g");
  b.Initializer(RandomTensor("w", {4, 4}, 1));
  b.AddNode("MatMul", {"x", "w"}, {"y"}, "mm");
  b.AddNode("Relu", {"y"}, {"r"}, "relu");
  b.AddNode("Add", {"y", "y"}, {"s"}, "add");
  b.Output("s", DataType::kFloat32, {4});
  GraphIndex index(b.graph());
  EXPECT_EQ(index.Producer("y")->name, "mm");
  EXPECT_EQ(index.Producer("x"), nullptr);
  ASSERT_EQ(index.Consumers("y").size(), 2u);  // Add counted once
  EXPECT_TRUE(index.Consumers("nothing").empty());
  EXPECT_EQ(index.Initializer("w")->dims(), (std::vector<int64_t>{4, 4}));
  EXPECT_TRUE(index.IsGraphOutput("s"));
  EXPECT_FALSE(index.IsGraphOutput("r"));
}

TEST(OpsetVersion, TreatsEmptyAndAiOnnxAlike) {
  ModelBuilder b("g", 13);
  b.Opset("com.microsoft", 1);
  const Model m = std::move(b).Build();
  EXPECT_EQ(OpsetVersion(m, ""), 13);
  EXPECT_EQ(OpsetVersion(m, "ai.onnx"), 13);
  EXPECT_EQ(OpsetVersion(m, "com.microsoft"), 1);
  EXPECT_EQ(OpsetVersion(m, "ai.onnx.ml"), std::nullopt);
}

TEST(MakeNodeNamesUnique, RenamesLaterRepeatsOnly) {
  ModelBuilder b("g");
  b.AddNode("Relu", {"x"}, {"y"}, "y");
  b.AddNode("Relu", {"y"}, {"z"}, "y");
  b.AddNode("Relu", {"z"}, {"w"}, "y_2");  // the first free suffix skips this one
  b.AddNode("Relu", {"w"}, {"v"}, "y");
  b.AddNode("Relu", {"v"}, {"u"});
  b.AddNode("Relu", {"u"}, {"t"});
  Model m = std::move(b).Build();
  m.graph.nodes[4].name.clear();  // unnamed nodes stay unnamed
  m.graph.nodes[5].name.clear();
  MakeNodeNamesUnique(m.graph);
  std::vector<std::string> names;
  for (const Node& n : m.graph.nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"y", "y_3", "y_2", "y_4", "", ""}));
}

}  // namespace
}  // namespace pare
