#include "quantize/integer_layout.h"

#include <gtest/gtest.h>

#include "core/graph.h"
#include "core/model_builder.h"
#include "data/inputs.h"
#include "quantize/static_int8.h"
#include "quantize/static_test_util.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

using testing::RandomCalibration;
using testing::SqnrDb;

// x -> Conv -> Relu -> MaxPool -> m; m -> Conv(1x1) -> c2; Add(c2, m) -> a;
// a -> Reshape -> r -> Identity -> y (the graph output).
Model ResidualCnn() {
  ModelBuilder b("residual", 13);
  b.Input("x", DataType::kFloat32, {1, 3, 8, 8});
  b.Initializer(RandomTensor("w1", {8, 3, 3, 3}, 1, 0.3f));
  b.Initializer(RandomTensor("b1", {8}, 2, 0.1f));
  b.Initializer(RandomTensor("w2", {8, 8, 1, 1}, 3, 0.3f));
  b.Initializer(Tensor::FromVector<int64_t>("shape", {2}, {1, 128}));
  b.AddNode("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").attributes = {
      IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"c1"}, {"r1"}, "relu1");
  b.AddNode("MaxPool", {"r1"}, {"m"}, "pool").attributes = {IntsAttr("kernel_shape", {2, 2}),
                                                            IntsAttr("strides", {2, 2})};
  b.AddNode("Conv", {"m", "w2"}, {"c2"}, "conv2");
  b.AddNode("Add", {"c2", "m"}, {"a"}, "add");
  b.AddNode("Reshape", {"a", "shape"}, {"r"}, "reshape");
  b.AddNode("Identity", {"r"}, {"y"}, "out");
  b.Output("y", DataType::kFloat32, {1, 128});
  return std::move(b).Build();
}

std::vector<float> Outputs(const Model& model) {
  auto session = runtime::Session::Create(model, {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(data::RandomInputs(model, 7, {}).value());
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

const QuantizedTensor* Entry(const QuantizeReport& report, const std::string& name) {
  for (const QuantizedTensor& t : report.tensors) {
    if (t.name == name && t.kind == "activation") return &t;
  }
  return nullptr;
}

TEST(IntegerLayout, PlansOutputsClampsAndSharedScales) {
  const Model model = ResidualCnn();
  const Constants constants(model.graph);
  // conv1 and conv2, as PlanTargets would give them.
  const IntegerLayout layout = PlanIntegerLayout(model.graph, constants, {{0}, {3}});
  // Relu is conv1's only reader: its output carries conv1's result.
  EXPECT_EQ(layout.values, (std::vector<std::string>{"r1", "m", "c2", "a", "r"}));
  EXPECT_EQ(layout.RangeSource("m"), "r1");
  EXPECT_EQ(layout.RangeSource("r"), "a");
  EXPECT_EQ(layout.RangeSource("c2"), "c2");
}

TEST(IntegerLayout, EveryReaderTakesTheDequantizedValue) {
  const Model original = ResidualCnn();
  Model model = original;
  StaticInt8Options o;
  o.integer_graph = true;
  auto report = QuantizeStaticInt8(model, RandomCalibration(original, 16), o);
  ASSERT_TRUE(report.ok()) << report.status();
  const GraphIndex index(model.graph);
  for (const std::string v : {"r1", "m", "c2", "a", "r"}) {
    const auto& readers = index.Consumers(v);
    ASSERT_EQ(readers.size(), 1u) << v;
    EXPECT_EQ(readers[0]->op_type, "QuantizeLinear") << v;
  }
  // conv1's output goes straight to the Relu; nothing quantizes the graph
  // output.
  EXPECT_EQ(index.Consumers("c1")[0]->op_type, "Relu");
  EXPECT_EQ(Entry(*report, "y"), nullptr);
  EXPECT_EQ(index.Producer(index.Producer("y")->inputs[0])->op_type, "DequantizeLinear");
  // The Relu's range starts at zero; MaxPool and Reshape keep their input's
  // parameters, so an integer runtime can drop their Q/DQ.
  ASSERT_NE(Entry(*report, "r1"), nullptr);
  EXPECT_EQ(Entry(*report, "r1")->zero_points[0], 0);
  EXPECT_EQ(Entry(*report, "m")->scales, Entry(*report, "r1")->scales);
  EXPECT_EQ(Entry(*report, "r")->scales, Entry(*report, "a")->scales);
  EXPECT_EQ(Entry(*report, "r")->zero_points, Entry(*report, "a")->zero_points);
  EXPECT_GT(SqnrDb(Outputs(original), Outputs(model)), 25);
}

TEST(IntegerLayout, QOperatorFormatRefusesIt) {
  const Model original = ResidualCnn();
  Model model = original;
  StaticInt8Options o;
  o.integer_graph = true;
  o.format = StaticInt8Options::Format::kQOperator;
  auto report = QuantizeStaticInt8(model, RandomCalibration(original, 2), o);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("integer-graph"), std::string::npos);
}

}  // namespace
}  // namespace pare::quantize
