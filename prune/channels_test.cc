#include <gtest/gtest.h>

#include <cmath>

#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "data/inputs.h"
#include "prune/prune.h"
#include "runtime/session.h"

namespace pare::prune {
namespace {

std::vector<float> Values(const Tensor& t) { return t.ToFloat32().value(); }

// The tensor a node reads at `input` (pruned tensors are renamed).
const Tensor& Input(const Model& m, const std::string& node, size_t input) {
  static const Tensor none;
  for (const Node& n : m.graph.nodes) {
    if (n.name != node) continue;
    for (const Tensor& t : m.graph.initializers) {
      if (t.name() == n.inputs[input]) return t;
    }
  }
  ADD_FAILURE() << node << " input " << input << " is not an initializer";
  return none;
}

std::vector<float> Outputs(const Model& m) {
  auto session = runtime::Session::Create(m, {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  auto out = (*session)->Run(data::RandomInputs(m, 5, {}).value());
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? Values((*out)[0]) : std::vector<float>{};
}

// A tensor with the given channels (slices along axis 0) set to zero.
Tensor ZeroChannels(Tensor t, const std::vector<int64_t>& channels, int64_t axis_size, bool last) {
  std::vector<float> v = Values(t);
  const int64_t per = static_cast<int64_t>(v.size()) / axis_size;
  for (int64_t c : channels) {
    for (int64_t e = 0; e < per; ++e) v[last ? e * axis_size + c : c * per + e] = 0;
  }
  return Tensor::FromVector<float>(t.name(), t.dims(), v);
}

void ExpectNear(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << i;
}

// conv (4->8) -> BatchNormalization -> Relu -> depthwise conv -> Relu ->
// conv (8->6); channels 1 and 5 of the first conv are dead.
Model ConvChain() {
  ModelBuilder b("chain");
  b.Input("x", DataType::kFloat32, {1, 4, 8, 8});
  b.Initializer(ZeroChannels(RandomTensor("w1", {8, 4, 3, 3}, 1, 0.3f), {1, 5}, 8, false));
  b.Initializer(ZeroChannels(RandomTensor("b1", {8}, 2, 0.3f), {1, 5}, 8, false));
  b.Initializer(Tensor::FromVector<float>("gamma", {8}, std::vector<float>(8, 1.5f)));
  b.Initializer(ZeroChannels(RandomTensor("beta", {8}, 3, 0.3f), {1, 5}, 8, false));
  b.Initializer(Tensor::FromVector<float>("mean", {8}, std::vector<float>(8, 0.0f)));
  b.Initializer(Tensor::FromVector<float>("var", {8}, std::vector<float>(8, 1.0f)));
  b.Initializer(RandomTensor("wd", {8, 1, 3, 3}, 4, 0.3f));
  b.Initializer(RandomTensor("w2", {6, 8, 1, 1}, 5, 0.3f));
  b.AddNode("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1")
      .attributes.push_back(IntsAttr("pads", {1, 1, 1, 1}));
  b.AddNode("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, {"bn"}, "bn");
  b.AddNode("Relu", {"bn"}, {"r1"}, "relu1");
  Node& dw = b.AddNode("Conv", {"r1", "wd"}, {"d"}, "dw");
  dw.attributes = {IntAttr("group", 8), IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"d"}, {"r2"}, "relu2");
  b.AddNode("Conv", {"r2", "w2"}, {"y"}, "conv2");
  b.Output("y", DataType::kFloat32, {1, 6, 8, 8});
  return std::move(b).Build();
}

TEST(Channels, DeadChannelsGoFirstAndTheModelComputesTheSame) {
  Model m = ConvChain();
  const std::vector<float> before = Outputs(m);
  auto r = Prune(m, nullptr,
                 {.method = PruneMethod::kChannels, .sparsity = 0.25, .channel_multiple = 1});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_EQ(r->layers[0].channels_before, 8);
  EXPECT_EQ(r->layers[0].channels_after, 6);
  EXPECT_EQ(Input(m, "conv1", 1).dims(), (std::vector<int64_t>{6, 4, 3, 3}));
  EXPECT_EQ(Input(m, "conv1", 2).dims(), (std::vector<int64_t>{6}));
  EXPECT_EQ(Input(m, "bn", 4).dims(), (std::vector<int64_t>{6}));
  EXPECT_EQ(Input(m, "dw", 1).dims(), (std::vector<int64_t>{6, 1, 3, 3}));
  EXPECT_EQ(Input(m, "conv2", 1).dims(), (std::vector<int64_t>{6, 6, 1, 1}));
  for (const Node& n : m.graph.nodes) {
    if (n.name == "dw") {
      EXPECT_EQ(n.FindAttribute("group")->i, 6);
    }
  }
  EXPECT_LT(r->bytes_after, r->bytes_before);
  ExpectNear(Outputs(m), before);
}

TEST(Channels, ResidualAddCutsBothProducersTogether) {
  ModelBuilder b("residual");
  b.Input("x", DataType::kFloat32, {1, 4, 6, 6});
  b.Initializer(RandomTensor("wa", {8, 4, 1, 1}, 1, 0.3f));
  b.Initializer(RandomTensor("wb", {8, 8, 3, 3}, 2, 0.3f));
  b.Initializer(RandomTensor("wc", {3, 8, 1, 1}, 3, 0.3f));
  b.AddNode("Conv", {"x", "wa"}, {"a"}, "conv_a");
  b.AddNode("Relu", {"a"}, {"r"}, "relu");
  b.AddNode("Conv", {"r", "wb"}, {"bo"}, "conv_b")
      .attributes.push_back(IntsAttr("pads", {1, 1, 1, 1}));
  b.AddNode("Add", {"r", "bo"}, {"sum"}, "add");
  b.AddNode("Conv", {"sum", "wc"}, {"y"}, "conv_c");
  b.Output("y", DataType::kFloat32, {1, 3, 6, 6});
  Model m = std::move(b).Build();
  auto r =
      Prune(m, nullptr, {.method = PruneMethod::kChannels, .sparsity = 0.5, .channel_multiple = 1});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->layers.size(), 1u);  // one group: conv_a and conv_b meet at the Add
  EXPECT_EQ(Input(m, "conv_a", 1).dims(), (std::vector<int64_t>{4, 4, 1, 1}));
  EXPECT_EQ(Input(m, "conv_b", 1).dims(), (std::vector<int64_t>{4, 4, 3, 3}));
  EXPECT_EQ(Input(m, "conv_c", 1).dims(), (std::vector<int64_t>{3, 4, 1, 1}));
  EXPECT_EQ(Outputs(m).size(), 3u * 36);
}

TEST(Channels, SwiGluNeuronsShrinkTheFeedForwardBlock) {
  ModelBuilder b("ffn");
  b.Input("x", DataType::kFloat32, {2, 5, 16});
  const std::vector<int64_t> dead = {0, 3, 4, 9, 17, 20, 30, 31};
  b.Initializer(ZeroChannels(RandomTensor("wg", {16, 32}, 1, 0.3f), dead, 32, true));
  b.Initializer(ZeroChannels(RandomTensor("wu", {16, 32}, 2, 0.3f), dead, 32, true));
  b.Initializer(RandomTensor("wd", {32, 16}, 3, 0.3f));
  b.AddNode("MatMul", {"x", "wg"}, {"g"}, "gate");
  b.AddNode("MatMul", {"x", "wu"}, {"u"}, "up");
  b.AddNode("Sigmoid", {"g"}, {"s"});
  b.AddNode("Mul", {"g", "s"}, {"silu"});
  b.AddNode("Mul", {"silu", "u"}, {"h"});
  b.AddNode("MatMul", {"h", "wd"}, {"down_out"}, "down");
  b.AddNode("Add", {"x", "down_out"}, {"y"});
  b.Output("y", DataType::kFloat32, {2, 5, 16});
  Model m = std::move(b).Build();
  const std::vector<float> before = Outputs(m);
  auto r = Prune(m, nullptr, {.method = PruneMethod::kChannels, .sparsity = 0.25});
  ASSERT_TRUE(r.ok()) << r.status();
  // The residual stream reaches the graph output, so only the FFN's neurons go.
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_EQ(r->layers[0].node, "gate");
  EXPECT_EQ(Input(m, "gate", 1).dims(), (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(Input(m, "up", 1).dims(), (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(Input(m, "down", 1).dims(), (std::vector<int64_t>{24, 16}));
  ExpectNear(Outputs(m), before);
}

TEST(Channels, KeptChannelsRoundUpToTheMultiple) {
  Model m = ConvChain();  // one group of 8 channels
  auto none = Prune(m, nullptr, {.method = PruneMethod::kChannels, .sparsity = 0.25});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(std::string(none.status().message()).find("conv1: kept whole: 8 channels"),
            std::string::npos)
      << none.status().message();
  auto r =
      Prune(m, nullptr, {.method = PruneMethod::kChannels, .sparsity = 0.6, .channel_multiple = 4});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layers[0].channels_after, 4);  // 8 - floor(4.8) = 4
}

TEST(Channels, GraphOutputsAreLeftWholeOrRefusedWhenAskedFor) {
  Model m = ConvChain();
  PruneOptions o{.method = PruneMethod::kChannels, .sparsity = 0.5, .channel_multiple = 1};
  auto r = Prune(m, nullptr, o);
  ASSERT_TRUE(r.ok());
  bool listed = false;
  for (const std::string& s : r->skipped) {
    listed |= s == "conv2: kept whole: the channels reach graph output 'y'";
  }
  EXPECT_TRUE(listed);
  Model again = ConvChain();
  o.rules = {{.match = "conv2", .sparsity = 0.5}};
  auto refused = Prune(again, nullptr, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "conv2: the recipe asks to cut its channels, but the channels reach graph output 'y'");
  EXPECT_EQ(Input(again, "conv2", 1).dims(), (std::vector<int64_t>{6, 8, 1, 1}));
  Model patterned = ConvChain();
  EXPECT_FALSE(
      Prune(patterned, nullptr, {.method = PruneMethod::kChannels, .pattern = {2, 4}}).ok());
}

}  // namespace
}  // namespace pare::prune

namespace pare::prune {
namespace {

// conv1 (3->8, no activation) -> conv2 (8->4): channels 6 and 7 of conv1
// are small linear mixes of channels 0 and 1, so the kept channels can
// stand in for them exactly.
Model LinearPair() {
  ModelBuilder b("pair");
  b.Input("x", DataType::kFloat32, {1, 3, 8, 8});
  std::vector<float> w = Values(RandomTensor("w1", {8, 3, 3, 3}, 1, 0.3f));
  for (int i = 0; i < 27; ++i) {
    w[6 * 27 + i] = 0.05f * (w[i] + w[27 + i]);
    w[7 * 27 + i] = 0.05f * (w[i] - 2 * w[27 + i]);
  }
  b.Initializer(Tensor::FromVector<float>("w1", {8, 3, 3, 3}, w));
  b.Initializer(RandomTensor("w2", {4, 8, 3, 3}, 2, 0.3f));
  b.AddNode("Conv", {"x", "w1"}, {"c1"}, "conv1")
      .attributes.push_back(IntsAttr("pads", {1, 1, 1, 1}));
  b.AddNode("Conv", {"c1", "w2"}, {"c2"}, "conv2")
      .attributes.push_back(IntsAttr("pads", {1, 1, 1, 1}));
  b.AddNode("Relu", {"c2"}, {"y"});
  b.Output("y", DataType::kFloat32, {1, 4, 8, 8});
  return std::move(b).Build();
}

double ErrorAfterPruning(const data::CalibrationData* data) {
  Model m = LinearPair();
  const std::vector<float> before = Outputs(m);
  auto r =
      Prune(m, data, {.method = PruneMethod::kChannels, .sparsity = 0.25, .channel_multiple = 1});
  EXPECT_TRUE(r.ok()) << r.status();
  const std::vector<float> after = Outputs(m);
  double error = 0, total = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    error += (after[i] - before[i]) * (after[i] - before[i]);
    total += before[i] * before[i];
  }
  return error / total;
}

TEST(Channels, CalibrationRebuildsWhatTheRemovedChannelsCarried) {
  data::CalibrationData data;
  data.count = 4;
  data.sample = [](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
    return std::vector<Tensor>{RandomTensor("x", {1, 3, 8, 8}, 50 + static_cast<uint64_t>(i), 1)};
  };
  const double without = ErrorAfterPruning(nullptr);
  const double with = ErrorAfterPruning(&data);
  EXPECT_GT(without, 1e-4);
  EXPECT_LT(with, 1e-3 * without);
}

}  // namespace
}  // namespace pare::prune
