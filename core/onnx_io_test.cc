#include "core/onnx_io.h"

#include <gtest/gtest.h>

#include "core/graph.h"
#include "core/int4.h"
#include "core/model_builder.h"
#include "core/model_summary.h"
#include "core/test_util.h"

namespace pare {
namespace {

using testing::SameTensor;
using testing::TempDir;

// A model with every storage case the saver handles: large and small
// initializers, int4, float16, strings, a Constant node and an If subgraph.
Model SampleModel() {
  ModelBuilder b("sample", 17);
  b.Input("x", DataType::kFloat32, {-1, 64});
  b.Initializer(RandomTensor("w", {64, 64}, 7));
  b.Initializer(Tensor::FromVector<int64_t>("shape", {2}, {-1, 64}));
  std::vector<uint8_t> int4(PackedInt4Bytes(33));
  for (size_t i = 0; i < int4.size(); ++i) int4[i] = static_cast<uint8_t>(i * 37);
  int4.back() &= 0x0f;
  b.Initializer(Tensor::FromBytes("q4", DataType::kInt4, {3, 11}, int4));
  b.Initializer(Tensor::FromBytes("h", DataType::kFloat16, {600}, std::vector<uint8_t>(1200, 1)));
  b.Initializer(Tensor::FromStrings("labels", {2}, {"cat", "dog"}));
  b.AddNode("MatMul", {"x", "w"}, {"y"});
  b.AddNode("Constant", {}, {"c"})
      .attributes.push_back(TensorAttr("value", RandomTensor("", {512}, 3)));
  ModelBuilder then_branch("then");
  then_branch.Initializer(RandomTensor("sub_w", {300}, 5));
  then_branch.AddNode("Identity", {"sub_w"}, {"t"});
  then_branch.Output("t", DataType::kFloat32, {300});
  ModelBuilder else_branch("else");
  else_branch.AddNode("Identity", {"c"}, {"e"});
  else_branch.Output("e", DataType::kFloat32, {512});
  b.Input("cond", DataType::kBool, {});
  Node& if_node = b.AddNode("If", {"cond"}, {"z"});
  if_node.attributes.push_back(GraphAttr("then_branch", std::move(then_branch).Build().graph));
  if_node.attributes.push_back(GraphAttr("else_branch", std::move(else_branch).Build().graph));
  b.Output("y", DataType::kFloat32, {-1, 64});
  b.Output("z", DataType::kFloat32, {});
  return std::move(b).Build();
}

// All tensors of a model in a stable order: initializers and attribute
// tensors of every graph.
std::vector<Tensor> AllTensors(const Model& model) {
  std::vector<Tensor> out;
  ForEachGraph(model.graph, [&](const Graph& g, int) {
    out.insert(out.end(), g.initializers.begin(), g.initializers.end());
    for (const Node& n : g.nodes) {
      for (const Attribute& a : n.attributes)
        out.insert(out.end(), a.tensors.begin(), a.tensors.end());
    }
  });
  return out;
}

void ExpectSameTensors(const Model& a, const Model& b) {
  const auto x = AllTensors(a);
  const auto y = AllTensors(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(SameTensor(x[i], y[i]));
}

TEST(OnnxIo, InlineRoundTripKeepsEveryTensorAndTheStructure) {
  TempDir dir;
  const Model model = SampleModel();
  ASSERT_TRUE(SaveModel(model, dir / "m.onnx", {.all_inline = true}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "m.onnx.data"));
  auto loaded = LoadModel(dir / "m.onnx");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameTensors(model, *loaded);
  EXPECT_EQ(loaded->graph.nodes.size(), 3u);
  EXPECT_EQ(loaded->graph.nodes[2].attributes[0].graphs[0].initializers[0].name(), "sub_w");
  EXPECT_EQ(DescribeValue(loaded->graph.inputs[0]), "float[N,64]");
}

TEST(OnnxIo, ExternalRoundTripAlignsLargeTensorsAndKeepsSmallOnesInline) {
  TempDir dir;
  const Model model = SampleModel();
  ASSERT_TRUE(SaveModel(model, dir / "m.onnx").ok());
  auto loaded = LoadModel(dir / "m.onnx");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameTensors(model, *loaded);
  int external = 0;
  for (const Tensor& t : loaded->graph.initializers) {
    if (t.external_source()) continue;
    EXPECT_LT(t.bytes().size(), 1024u) << t.name();
  }
  for (const Tensor& t : AllTensors(*loaded)) {
    if (!t.external_source()) continue;
    ++external;
    EXPECT_EQ(t.external_source()->location, "m.onnx.data");
    EXPECT_EQ(t.external_source()->offset % 4096, 0u) << t.name();
  }
  EXPECT_EQ(external, 3);  // w, h and the subgraph's sub_w; not the Constant

  // Saving the loaded model again (data now mmapped) gives identical files.
  ASSERT_TRUE(SaveModel(*loaded, dir / "again.onnx", {.external_data_name = "m.onnx.data2"}).ok());
  EXPECT_EQ(testing::ReadFile(dir / "m.onnx.data"), testing::ReadFile(dir / "m.onnx.data2"));
}

TEST(OnnxIo, SaveLeavesNoTemporaryFiles) {
  TempDir dir;
  ASSERT_TRUE(SaveModel(SampleModel(), dir / "m.onnx").ok());
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST(OnnxIo, FailedSaveKeepsTheExistingFile) {
  TempDir dir;
  testing::WriteFile(dir / "m.onnx", "previous good model");
  const absl::Status status =
      SaveModel(SampleModel(), dir / "m.onnx", {.external_data_name = "../escape.data"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(testing::ReadFile(dir / "m.onnx"), "previous good model");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(OnnxIo, SaveIntoAMissingFolderFailsCleanly) {
  TempDir dir;
  const absl::Status status = SaveModel(SampleModel(), dir / "no/such/m.onnx");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find("no/such"), std::string::npos);
}

TEST(OnnxIo, ZeroRunsBecomeHolesInTheDataFile) {
  TempDir dir;
  ModelBuilder b("zeros");
  b.Initializer(
      Tensor::FromBytes("z", DataType::kFloat32, {1 << 20}, std::vector<uint8_t>(4 << 20, 0)));
  ASSERT_TRUE(SaveModel(std::move(b).Build(), dir / "z.onnx").ok());
  EXPECT_EQ(std::filesystem::file_size(dir / "z.onnx.data"), 4u << 20);
  auto loaded = LoadModel(dir / "z.onnx");
  ASSERT_TRUE(loaded.ok());
  for (uint8_t byte : loaded->graph.initializers[0].bytes()) ASSERT_EQ(byte, 0);
}

}  // namespace
}  // namespace pare
