#include "runtime/session.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/float16.h"
#include "core/model_builder.h"

namespace pare::runtime {
namespace {

Model TwoLayerMlp() {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, 4});
  b.Initializer(Tensor::FromVector<float>("w1", {4, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}));
  b.Initializer(Tensor::FromVector<float>("w2", {3, 2}, {1, -1, 2, 0, 0, 3}));
  b.AddNode("MatMul", {"x", "w1"}, {"h"}, "mm1");
  b.AddNode("Relu", {"h"}, {"r"}, "relu");
  b.AddNode("MatMul", {"r", "w2"}, {"y"}, "mm2");
  b.Output("y", DataType::kFloat32, {-1, 2});
  return std::move(b).Build();
}

TEST(Session, RunsAModelAndMatchesHandComputation) {
  auto session = Session::Create(TwoLayerMlp(), {.threads = 2});
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor x = Tensor::FromVector<float>("x", {1, 4}, {1, -2, 3, 1});
  auto out = (*session)->Run({x});
  ASSERT_TRUE(out.ok()) << out.status();
  // h = [2, -1, 4] → relu [2, 0, 4] → y = [2*1 + 0*2 + 4*0, 2*-1 + 0 + 4*3] = [2, 10]
  EXPECT_EQ((*out)[0].name(), "y");
  EXPECT_EQ((*out)[0].ToFloat32().value(), (std::vector<float>{2, 10}));
}

Tensor HalfTensor(std::string name, std::vector<int64_t> dims, const std::vector<float>& values) {
  std::vector<uint16_t> bits(values.size());
  Float32ToFloat16(values.data(), bits.data(), values.size());
  std::vector<uint8_t> bytes(bits.size() * 2);
  std::memcpy(bytes.data(), bits.data(), bytes.size());
  return Tensor::FromBytes(std::move(name), DataType::kFloat16, std::move(dims), std::move(bytes));
}

TEST(Session, RunsFloat16NodesThroughFloat32KernelsAndRoundsBack) {
  // float16 x and w: MatMul computes in float32, Relu may or may not; the
  // result is float16 either way.
  ModelBuilder b("half");
  b.Input("x", DataType::kFloat16, {1, 2});
  b.Initializer(HalfTensor("w", {2, 2}, {1, -1, 0.5f, 2}));
  b.AddNode("MatMul", {"x", "w"}, {"h"}, "mm");
  b.AddNode("Relu", {"h"}, {"y"}, "relu");
  b.Output("y", DataType::kFloat16, {1, 2});
  auto session = Session::Create(std::move(b).Build());
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({HalfTensor("x", {1, 2}, {2, 1})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].dtype(), DataType::kFloat16);
  // h = [2 * 1 + 1 * 0.5, 2 * -1 + 1 * 2] = [2.5, 0]
  EXPECT_EQ((*out)[0].ToFloat32().value(), (std::vector<float>{2.5f, 0}));
}

TEST(Session, ObserverSeesWatchedIntermediatesOnly) {
  auto session = Session::Create(TwoLayerMlp());
  ASSERT_TRUE(session.ok());
  std::vector<std::string> seen;
  RunOptions options{
      .observer = [&](const Node& node,
                      const Tensor& value) { seen.push_back(node.name + ":" + value.name()); },
      .watch = {"r"}};
  ASSERT_TRUE(
      (*session)->Run({Tensor::FromVector<float>("x", {1, 4}, {1, 1, 1, 1})}, options).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"relu:r"}));
  seen.clear();
  options.watch.clear();
  ASSERT_TRUE(
      (*session)->Run({Tensor::FromVector<float>("x", {1, 4}, {1, 1, 1, 1})}, options).ok());
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Session, FreesIntermediatesAfterTheirLastReader) {
  auto session = Session::Create(TwoLayerMlp());
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(
      (*session)->Run({Tensor::FromVector<float>("x", {8, 4}, std::vector<float>(32, 1))}).ok());
  // Live at once at most: h (8x3) and r (8x3), or r and y (8x2): 192 bytes.
  EXPECT_EQ((*session)->last_run_stats().peak_activation_bytes, 8u * 3 * 4 * 2);
  EXPECT_EQ((*session)->last_run_stats().nodes_run, 3u);
}

TEST(Session, UnsupportedOperatorFailsAtCreationNamingTheNode) {
  ModelBuilder b("m");
  b.Input("x", DataType::kFloat32, {2});
  b.AddNode("FancyOp", {"x"}, {"y"}, "fancy").domain = "com.example";
  b.Opset("com.example", 3);
  const auto session = Session::Create(std::move(b).Build());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(session.status().message().find("node 'fancy' (com.example.FancyOp)"),
            std::string::npos);
  EXPECT_NE(session.status().message().find("opset 3"), std::string::npos);
}

TEST(Session, BadInputsAreNamed) {
  auto session = Session::Create(TwoLayerMlp());
  ASSERT_TRUE(session.ok());
  auto wrong_type = (*session)->Run({Tensor::FromVector<int64_t>("x", {1, 4}, {1, 2, 3, 4})});
  EXPECT_NE(wrong_type.status().message().find("input 'x' must be float, not int64"),
            std::string::npos);
  auto wrong_shape =
      (*session)->Run({Tensor::FromVector<float>("x", {1, 5}, std::vector<float>(5))});
  EXPECT_NE(wrong_shape.status().message().find("input 'x' has shape [1,5]"), std::string::npos);
  auto missing = (*session)->Run({});
  EXPECT_NE(missing.status().message().find("input 'x' was not given"), std::string::npos);
}

TEST(Session, KernelErrorsNameTheNodeAndTensors) {
  ModelBuilder b("m");
  b.Input("a", DataType::kFloat32, {2, 3});
  b.Input("b", DataType::kFloat32, {4, 2});
  b.AddNode("MatMul", {"a", "b"}, {"y"}, "bad_mm");
  b.Output("y", DataType::kFloat32, {});
  auto session = Session::Create(std::move(b).Build());
  ASSERT_TRUE(session.ok());
  auto out = (*session)->Run({Tensor::FromVector<float>("a", {2, 3}, std::vector<float>(6)),
                              Tensor::FromVector<float>("b", {4, 2}, std::vector<float>(8))});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("node 'bad_mm' (MatMul): inner dimensions differ"),
            std::string::npos);
}

// A damaged num_outputs (the stages fuzzer's 2^62) is refused before
// anything is sized from it.
TEST(Session, SplitRefusesANumOutputsThatIsNotTheOutputCount) {
  for (int64_t claimed : {int64_t{1} << 62, int64_t{0}, int64_t{3}}) {
    ModelBuilder b("split", 18);
    b.Input("x", DataType::kFloat32, {2, 8});
    b.AddNode("Split", {"x"}, {"p", "q"}, "bad_split").attributes = {
        IntAttr("axis", 1), IntAttr("num_outputs", claimed)};
    b.Output("p", DataType::kFloat32, {});
    b.Output("q", DataType::kFloat32, {});
    auto session = Session::Create(std::move(b).Build());
    ASSERT_TRUE(session.ok());
    auto out = (*session)->Run({Tensor::FromVector<float>("x", {2, 8}, std::vector<float>(16))});
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << claimed;
    EXPECT_NE(out.status().message().find("node 'bad_split' (Split): num_outputs"),
              std::string::npos)
        << out.status();
  }
}

}  // namespace
}  // namespace pare::runtime
