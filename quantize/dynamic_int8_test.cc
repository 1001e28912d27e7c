#include "quantize/dynamic_int8.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "data/inputs.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

// x [4, 32] -> MatMul(W [32, 16]) -> Relu -> Gemm(B [8, 16], transB, C, alpha 0.5) -> y.
Model Mlp(int64_t opset) {
  ModelBuilder b("mlp", opset);
  b.Input("x", DataType::kFloat32, {4, 32});
  b.Initializer(RandomTensor("w", {32, 16}, 1, 0.3f));
  b.Initializer(RandomTensor("b", {8, 16}, 2, 0.3f));
  b.Initializer(RandomTensor("c", {8}, 3, 0.3f));
  b.AddNode("MatMul", {"x", "w"}, {"h"}, "mm");
  b.AddNode("Relu", {"h"}, {"r"}, "relu");
  b.AddNode("Gemm", {"r", "b", "c"}, {"y"}, "gemm").attributes = {IntAttr("transB", 1),
                                                                  FloatAttr("alpha", 0.5f)};
  b.Output("y", DataType::kFloat32, {4, 8});
  return std::move(b).Build();
}

std::vector<float> RunModel(const Model& model) {
  auto session = runtime::Session::Create(model, {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(data::RandomInputs(model, 5, {}).value());
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].ToFloat32().value();
}

TEST(DynamicInt8, MatMulAndGemmStayCloseToFloat) {
  const Model original = Mlp(13);
  Model model = original;
  auto report = QuantizeDynamicInt8(model, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->quantized_nodes, (std::vector<std::string>{"mm", "gemm"}));
  int integer = 0, dynamic = 0;
  for (const Node& n : model.graph.nodes) {
    integer += n.op_type == "MatMulInteger";
    dynamic += n.op_type == "DynamicQuantizeLinear";
  }
  EXPECT_EQ(integer, 2);
  EXPECT_EQ(dynamic, 2);  // x and r
  const std::vector<float> ref = RunModel(original), got = RunModel(model);
  ASSERT_EQ(ref.size(), got.size());
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    s += ref[i] * ref[i], e += (got[i] - ref[i]) * (got[i] - ref[i]);
  EXPECT_GT(10 * std::log10(s / e), 30);
}

TEST(DynamicInt8, NeedsOpset11) {
  Model model = Mlp(10);
  EXPECT_EQ(QuantizeDynamicInt8(model, {}).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace pare::quantize
