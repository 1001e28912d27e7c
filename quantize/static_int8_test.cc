#include "quantize/static_int8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/graph.h"
#include "core/model_builder.h"
#include "data/inputs.h"
#include "quantize/static_test_util.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

using testing::RandomCalibration;
using testing::SqnrDb;

// x [1, 3, 8, 8] -> Conv(8, 3x3, bias) -> Relu -> Conv(4, 1x1) -> y, at `opset`;
// at opset 9 a Slice (attributes form) trims the output.
Model SmallCnn(int64_t opset) {
  ModelBuilder b("cnn", opset);
  b.Input("x", DataType::kFloat32, {1, 3, 8, 8});
  b.Initializer(RandomTensor("w1", {8, 3, 3, 3}, 1, 0.3f));
  b.Initializer(RandomTensor("b1", {8}, 2, 0.1f));
  b.Initializer(RandomTensor("w2", {4, 8, 1, 1}, 3, 0.3f));
  b.AddNode("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").attributes = {
      IntsAttr("pads", {1, 1, 1, 1})};
  b.AddNode("Relu", {"c1"}, {"r1"}, "relu1");
  b.AddNode("Conv", {"r1", "w2"}, {"c2"}, "conv2");
  if (opset < 10) {
    b.AddNode("Slice", {"c2"}, {"s"}, "slice").attributes = {
        IntsAttr("starts", {1}), IntsAttr("ends", {3}), IntsAttr("axes", {1})};
  }
  b.AddNode("Identity", {opset < 10 ? "s" : "c2"}, {"y"}, "out");
  b.Output("y", DataType::kFloat32, {});
  return std::move(b).Build();
}

std::vector<float> RunModel(const Model& model, uint64_t seed) {
  auto session = runtime::Session::Create(model, {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(data::RandomInputs(model, seed, {}).value());
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

TEST(StaticInt8, QuantizedCnnStaysCloseToFloat) {
  for (int64_t opset : {9, 13}) {
    const Model original = SmallCnn(opset);
    Model model = original;
    auto report = QuantizeStaticInt8(model, RandomCalibration(original, 16), {});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->quantized_nodes, (std::vector<std::string>{"conv1", "conv2"}));
    int q = 0, dq = 0;
    for (const Node& n : model.graph.nodes) {
      q += n.op_type == "QuantizeLinear";
      dq += n.op_type == "DequantizeLinear";
    }
    EXPECT_EQ(q, 2);   // x and r1
    EXPECT_EQ(dq, 5);  // x, r1, w1, b1, w2
    EXPECT_GE(OpsetVersion(model, "").value(), 10);
    const double sqnr = SqnrDb(RunModel(original, 7), RunModel(model, 7));
    EXPECT_GT(sqnr, 30) << "opset " << opset;
    EXPECT_LT(report->weight_bytes_after * 2, report->weight_bytes_before);
  }
}

// x [8, 16] (mean 2) -> MatMul(W [16, 8]) -> Add(b) -> y: bias correction
// rewrites the Add's constant and brings the output's mean back.
TEST(StaticInt8, BiasCorrectionFixesTheAddAfterAMatMul) {
  ModelBuilder b("linear", 13);
  b.Input("x", DataType::kFloat32, {8, 16});
  b.Initializer(RandomTensor("w", {16, 8}, 4, 0.5f));
  b.Initializer(RandomTensor("b", {8}, 5, 0.1f));
  b.AddNode("MatMul", {"x", "w"}, {"m"}, "matmul");
  b.AddNode("Add", {"m", "b"}, {"y"}, "bias");
  b.Output("y", DataType::kFloat32, {8, 8});
  const Model original = std::move(b).Build();
  auto shifted = [&](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
    std::vector<float> x = RandomTensor("x", {8, 16}, 300 + i, 1.0f).ToFloat32().value();
    for (float& v : x) v += 2;
    return std::vector<Tensor>{Tensor::FromVector<float>("x", {8, 16}, x)};
  };
  const CalibrationData data{16, shifted, "shifted"};
  auto mean_error = [&](const Model& m) {
    auto ref = runtime::Session::Create(original, {.threads = 1});
    auto got = runtime::Session::Create(m, {.threads = 1});
    double total = 0;
    for (int64_t i = 0; i < 16; ++i) {
      const auto r = (*ref)->Run(*shifted(i))->at(0).ToFloat32().value();
      const auto q = (*got)->Run(*shifted(i))->at(0).ToFloat32().value();
      for (size_t k = 0; k < r.size(); ++k) total += q[k] - r[k];
    }
    return std::abs(total);
  };
  StaticInt8Options o;
  o.per_channel = false;  // a coarse scale, so the rounding has a visible mean
  Model plain = original;
  ASSERT_TRUE(QuantizeStaticInt8(plain, data, o).ok());
  o.bias_correction = true;
  Model corrected = original;
  ASSERT_TRUE(QuantizeStaticInt8(corrected, data, o).ok());
  const GraphIndex index(corrected.graph);
  EXPECT_EQ(index.Producer("y")->inputs[1], "matmul_bias_corrected");
  EXPECT_LT(mean_error(corrected), 0.5 * mean_error(plain));
}

TEST(StaticInt8, SixteenBitActivationsUseContribQdqBeforeOpset21) {
  const Model original = SmallCnn(13);
  Model model = original;
  StaticInt8Options options;
  options.activation_type = DataType::kUint16;
  ASSERT_TRUE(QuantizeStaticInt8(model, RandomCalibration(original, 8), options).ok());
  int contrib_q = 0;
  for (const Node& n : model.graph.nodes) {
    contrib_q += n.op_type == "QuantizeLinear" && n.domain == "com.microsoft";
  }
  EXPECT_EQ(contrib_q, 2);
  EXPECT_TRUE(OpsetVersion(model, "com.microsoft").has_value());
  EXPECT_GT(SqnrDb(RunModel(original, 7), RunModel(model, 7)), 40);
}

TEST(StaticInt8, WideNodesGetSixteenBitActivationsAndTheRestEight) {
  const Model original = SmallCnn(13);
  Model model = original;
  StaticInt8Options options;
  options.wide_nodes = {"conv2"};
  ASSERT_TRUE(QuantizeStaticInt8(model, RandomCalibration(original, 8), options).ok());
  std::map<std::string, DataType> zero_point_type;
  for (const Tensor& t : model.graph.initializers) zero_point_type[t.name()] = t.dtype();
  std::map<std::string, std::string> quantizer_domain;
  for (const Node& n : model.graph.nodes) {
    if (n.op_type == "QuantizeLinear") quantizer_domain[n.inputs[0]] = n.domain;
  }
  EXPECT_EQ(zero_point_type["x_zero_point"], DataType::kUint8);
  EXPECT_EQ(quantizer_domain["x"], "");
  EXPECT_EQ(zero_point_type["r1_zero_point"], DataType::kUint16);
  EXPECT_EQ(quantizer_domain["r1"], "com.microsoft");
  EXPECT_GT(SqnrDb(RunModel(original, 7), RunModel(model, 7)), 25);
  Model qoperator = original;
  options.format = StaticInt8Options::Format::kQOperator;
  EXPECT_FALSE(QuantizeStaticInt8(qoperator, RandomCalibration(original, 8), options).ok());
}

TEST(StaticInt8, QOperatorFormatUsesIntegerOperators) {
  const Model original = SmallCnn(13);
  Model model = original;
  StaticInt8Options options;
  options.format = StaticInt8Options::Format::kQOperator;
  auto report = QuantizeStaticInt8(model, RandomCalibration(original, 16), options);
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, int> ops;
  for (const Node& n : model.graph.nodes) ++ops[n.op_type];
  EXPECT_EQ(ops["QLinearConv"], 2);
  EXPECT_EQ(ops["Conv"], 0);
  // x and relu1's output are quantized; conv1's and conv2's outputs are
  // dequantized for their float readers (Relu, the graph output).
  EXPECT_EQ(ops["QuantizeLinear"], 2);
  EXPECT_EQ(ops["DequantizeLinear"], 2);
  EXPECT_EQ(QuantizeReportToJson(*report)["format"], "qoperator");
  EXPECT_GT(SqnrDb(RunModel(original, 7), RunModel(model, 7)), 25);
}

TEST(StaticInt8, RefusesQuantizedModelsAndEmptyCalibration) {
  const Model original = SmallCnn(13);
  Model model = original;
  EXPECT_EQ(QuantizeStaticInt8(model, RandomCalibration(original, 0), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(QuantizeStaticInt8(model, RandomCalibration(original, 2), {}).ok());
  auto again = QuantizeStaticInt8(model, RandomCalibration(original, 2), {});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already quantized"), std::string::npos);
}

TEST(StaticInt8, ReportNamesEveryTensor) {
  const Model original = SmallCnn(13);
  Model model = original;
  StaticInt8Options options;
  options.exclude = {"conv[2-9]"};  // a glob
  auto report = QuantizeStaticInt8(model, RandomCalibration(original, 4), options);
  ASSERT_TRUE(report.ok());
  const nlohmann::json j = QuantizeReportToJson(*report);
  EXPECT_EQ(j["schema"], "pare.quantize/1");
  EXPECT_EQ(j["skipped"][0], "conv2: excluded");
  std::vector<std::string> names;
  for (const auto& t : j["tensors"]) names.push_back(t["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "w1", "b1"}));
  EXPECT_EQ(j["tensors"][1]["scales"].size(), 8u);  // per output channel
}

}  // namespace
}  // namespace pare::quantize

namespace pare::quantize {
namespace {

// x [8, 16] with channel 3 a hundred times larger -> MatMul(W [16, 8]) -> y.
// Per-tensor activation quantization drowns the small channels; SmoothQuant
// moves channel 3's scale into W and wins it back.
TEST(StaticInt8, SmoothQuantHelpsAnOutlierChannel) {
  ModelBuilder b("sq", 13);
  b.Input("x", DataType::kFloat32, {8, 16});
  std::vector<float> gain(16, 1.0f);
  gain[3] = 100.0f;
  b.Initializer(Tensor::FromVector<float>("gain", {16}, gain));
  b.Initializer(RandomTensor("w", {16, 8}, 4, 0.3f));
  b.AddNode("Mul", {"x", "gain"}, {"h"}, "scale_channels");
  b.AddNode("MatMul", {"h", "w"}, {"y"}, "mm");
  b.Output("y", DataType::kFloat32, {8, 8});
  const Model original = std::move(b).Build();
  auto quantized_sqnr = [&](std::optional<double> alpha, DataType type = DataType::kUint8) {
    Model model = original;
    StaticInt8Options options;
    options.smoothquant_alpha = alpha;
    options.activation_type = type;
    EXPECT_TRUE(QuantizeStaticInt8(model, RandomCalibration(original, 8), options).ok());
    return SqnrDb(RunModel(original, 3), RunModel(model, 3));
  };
  const double plain = quantized_sqnr(std::nullopt), smoothed = quantized_sqnr(0.5);
  EXPECT_GT(smoothed, plain + 6) << "plain " << plain << " dB, smoothed " << smoothed << " dB";
  // 16-bit activations resolve the small channels without smoothing.
  EXPECT_GT(quantized_sqnr(std::nullopt, DataType::kUint16), plain + 6);
}

}  // namespace
}  // namespace pare::quantize
