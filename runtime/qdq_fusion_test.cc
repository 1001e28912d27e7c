#include "runtime/qdq_fusion.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/model_builder.h"
#include "runtime/session.h"

namespace pare::runtime {
namespace {

// x -> Q -> DQ -> Conv(3x3, bias) -> Relu -> Q -> DQ -> Sigmoid -> Q -> DQ
// -> y: the integer layout's shape, with activations of `zp_type`.
Model QdqChain(DataType zp_type, float out_scale = 0.02f) {
  ModelBuilder b("qdq", 13);
  b.Input("x", DataType::kFloat32, {1, 2, 6, 6});
  b.Initializer(RandomTensor("w", {3, 2, 3, 3}, 1, 1.0f));
  b.Initializer(RandomTensor("b", {3}, 2, 1.0f));
  b.Initializer(Tensor::FromVector<float>("s_in", {}, {0.01f}));
  b.Initializer(Tensor::FromVector<float>("s_conv", {}, {out_scale}));
  b.Initializer(Tensor::FromVector<float>("s_sig", {}, {1.0f / 255}));
  const bool signed_q = zp_type == DataType::kInt8;
  auto zero = [&](const std::string& name, int value) {
    if (signed_q) return Tensor::FromVector<int8_t>(name, {}, {static_cast<int8_t>(value - 128)});
    return Tensor::FromVector<uint8_t>(name, {}, {static_cast<uint8_t>(value)});
  };
  b.Initializer(zero("z_in", 128));
  b.Initializer(zero("z_conv", 0));
  b.Initializer(zero("z_sig", 0));
  b.AddNode("QuantizeLinear", {"x", "s_in", "z_in"}, {"xq"}, "q_in");
  b.AddNode("DequantizeLinear", {"xq", "s_in", "z_in"}, {"xd"}, "dq_in");
  b.AddNode("Conv", {"xd", "w", "b"}, {"c"}, "conv").attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"c"}, {"r"}, "relu");
  b.AddNode("QuantizeLinear", {"r", "s_conv", "z_conv"}, {"rq"}, "q_conv");
  b.AddNode("DequantizeLinear", {"rq", "s_conv", "z_conv"}, {"rd"}, "dq_conv");
  b.AddNode("Sigmoid", {"rd"}, {"g"}, "sigmoid");
  b.AddNode("QuantizeLinear", {"g", "s_sig", "z_sig"}, {"gq"}, "q_sig");
  b.AddNode("DequantizeLinear", {"gq", "s_sig", "z_sig"}, {"y"}, "dq_sig");
  b.Output("y", DataType::kFloat32, {1, 3, 6, 6});
  return std::move(b).Build();
}

std::vector<float> Run(const Model& model, bool fuse) {
  auto session = Session::Create(model, {.threads = 2, .fuse = fuse});
  EXPECT_TRUE(session.ok()) << session.status();
  Tensor x = RandomTensor("x", {1, 2, 6, 6}, 3, 1.5f);
  auto out = (*session)->Run({x});
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

void ExpectBitIdentical(const Model& model) {
  const std::vector<float> fused = Run(model, true), plain = Run(model, false);
  ASSERT_EQ(fused.size(), plain.size());
  EXPECT_EQ(std::memcmp(fused.data(), plain.data(), fused.size() * sizeof(float)), 0);
}

TEST(QdqFusion, PairsBecomeOneNodeAndTheConvAbsorbsItsOwn) {
  Model m = QdqChain(DataType::kUint8);
  const std::vector<std::string> removed = FuseQuantizeDequantize(m.graph);
  // Three pairs fused; then the Conv (not yet fused with its Relu here)
  // has Relu as its reader, so only the pairs go.
  EXPECT_EQ(removed, (std::vector<std::string>{"xq", "rq", "gq"}));
  ASSERT_EQ(m.graph.nodes.size(), 6u);
  EXPECT_EQ(m.graph.nodes[0].outputs[0], "xd");
  EXPECT_NE(m.graph.nodes[0].FindAttribute(kFusedDequantize), nullptr);
  EXPECT_EQ(m.graph.nodes.back().outputs[0], "y");
}

TEST(QdqFusion, ConvWithoutActivationAbsorbsThePair) {
  Model m = QdqChain(DataType::kUint8);
  // Drop the Relu: the Conv writes r directly.
  m.graph.nodes[2].outputs[0] = "r";
  m.graph.nodes.erase(m.graph.nodes.begin() + 3);
  const std::vector<std::string> removed = FuseQuantizeDequantize(m.graph);
  EXPECT_EQ(removed.back(), "r");
  EXPECT_NE(m.graph.nodes[1].FindAttribute(kFakeQuantScale), nullptr);
  EXPECT_EQ(m.graph.nodes[1].outputs[0], "rd");
}

TEST(QdqFusion, SessionResultsAreBitIdenticalToTheUnfusedGraph) {
  ExpectBitIdentical(QdqChain(DataType::kUint8));
  ExpectBitIdentical(QdqChain(DataType::kInt8));
  // A scale small enough that the Conv output saturates both ends.
  ExpectBitIdentical(QdqChain(DataType::kInt8, 0.001f));
}

TEST(QdqFusion, LeavesPairsWithDifferentParametersOrOtherReaders) {
  Model m = QdqChain(DataType::kUint8);
  m.graph.nodes[1].inputs[1] = "s_conv";  // dq_in dequantizes with another scale
  ValueInfo extra;
  extra.name = "rq";
  extra.elem_type = DataType::kUint8;
  m.graph.outputs.push_back(extra);
  const std::vector<std::string> removed = FuseQuantizeDequantize(m.graph);
  EXPECT_EQ(removed, (std::vector<std::string>{"gq"}));
  ExpectBitIdentical(m);
}

TEST(QdqFusion, AZeroScaleStaysTwoNodes) {
  Model m = QdqChain(DataType::kUint8, 0.0f);
  m.graph.nodes[2].outputs[0] = "r";
  m.graph.nodes.erase(m.graph.nodes.begin() + 3);
  FuseQuantizeDequantize(m.graph);
  for (const Node& n : m.graph.nodes) EXPECT_EQ(n.FindAttribute(kFakeQuantScale), nullptr);
  ExpectBitIdentical(m);
}

}  // namespace
}  // namespace pare::runtime
