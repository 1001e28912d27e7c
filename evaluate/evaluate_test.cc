#include "evaluate/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "evaluate/mixed_precision.h"
#include "evaluate/report.h"
#include "evaluate/samples.h"

namespace pare::evaluate {
namespace {

// x [N, 16] -> MatMul -> Relu -> MatMul -> Relu -> MatMul -> y [N, 8], with
// `corrupt` (if set) adding 3.0 to one element of that layer's weight.
Model Mlp(const std::string& corrupt = "") {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, 16});
  const std::vector<std::pair<std::string, std::vector<int64_t>>> layers = {
      {"w1", {16, 32}}, {"w2", {32, 32}}, {"w3", {32, 8}}};
  std::string in = "x";
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& [name, dims] = layers[i];
    Tensor w = RandomTensor(name, dims, i + 1, 0.3f);
    if (name == corrupt) {
      std::vector<float> v = w.ToFloat32().value();
      v[37] += 3.0f;
      w = Tensor::FromVector<float>(name, dims, v);
    }
    b.Initializer(w);
    const std::string mm = "mm" + std::to_string(i + 1);
    b.AddNode("MatMul", {in, name}, {mm}, mm);
    in = mm;
    if (i + 1 < layers.size()) {
      const std::string relu = "relu" + std::to_string(i + 1);
      b.AddNode("Relu", {in}, {relu}, relu);
      in = relu;
    }
  }
  b.AddNode("Identity", {in}, {"y"}, "out");
  b.Output("y", DataType::kFloat32, {-1, 8});
  return std::move(b).Build();
}

class EvaluateTest : public ::testing::Test {
 protected:
  std::filesystem::path Save(const Model& m, const std::string& name) {
    const auto path = dir_ / name;
    EXPECT_TRUE(SaveModel(m, path).ok());
    return path;
  }
  EvaluateOptions Options(const std::filesystem::path& candidate) {
    EvaluateOptions o;
    o.reference = Save(Mlp(), "reference.onnx");
    o.candidates = {candidate};
    o.random_samples = 3;
    o.dims = {{"N", 4}};
    o.threads = 1;
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(EvaluateTest, IdenticalModelsAreExact) {
  auto report = Evaluate(Options(Save(Mlp(), "same.onnx")));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->candidates.size(), 1u);
  const OutputReport& y = report->candidates[0].outputs.at(0);
  EXPECT_EQ(y.name, "y");
  EXPECT_EQ(y.error.elements, 3u * 4 * 8);
  EXPECT_TRUE(std::isinf(y.error.sqnr_db));
  EXPECT_EQ(report->samples, 3);
}

TEST_F(EvaluateTest, PerLayerRanksTheCorruptedLayerFirst) {
  for (const std::string broken : {"w1", "w2", "w3"}) {
    EvaluateOptions o = Options(Save(Mlp(broken), "broken_" + broken + ".onnx"));
    o.per_layer = true;
    auto report = Evaluate(o);
    ASSERT_TRUE(report.ok()) << report.status();
    const auto& layers = report->candidates[0].layers;
    ASSERT_FALSE(layers.empty());
    EXPECT_EQ(layers[0].value, "mm" + broken.substr(1)) << broken;
    EXPECT_EQ(layers[0].op_type, "MatMul");
    // Every other layer is exact when fed the reference's inputs.
    for (size_t i = 1; i < layers.size(); ++i) {
      EXPECT_TRUE(std::isinf(layers[i].local.sqnr_db)) << layers[i].value;
    }
  }
}

TEST_F(EvaluateTest, GatesPassAndFail) {
  EvaluateOptions o = Options(Save(Mlp("w2"), "broken.onnx"));
  o.gates.min_sqnr = 1000;
  o.gates.min_cosine = 0.0;
  auto report = Evaluate(o);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto& gates = report->candidates[0].gates;
  ASSERT_EQ(gates.size(), 2u);
  EXPECT_FALSE(gates[0].passed);  // min-sqnr 1000 dB
  EXPECT_TRUE(gates[1].passed);
  EXPECT_FALSE(report->passed());
  const std::string junit = ReportToJunit(*report);
  EXPECT_NE(junit.find("tests=\"2\" failures=\"1\""), std::string::npos) << junit;
  EXPECT_EQ(ReportToJson(*report)["passed"], false);
}

TEST_F(EvaluateTest, StoredReferenceOutputsGiveTheSameFigures) {
  EvaluateOptions save = Options(Save(Mlp("w3"), "broken.onnx"));
  save.save_reference_outputs = dir_ / "stored";
  auto first = Evaluate(save);
  ASSERT_TRUE(first.ok()) << first.status();
  EvaluateOptions stored = save;
  stored.reference.clear();
  stored.reference_outputs = dir_ / "stored";
  stored.save_reference_outputs.clear();
  stored.random_samples = 0;
  stored.data = dir_ / "stored";
  auto second = Evaluate(stored);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_DOUBLE_EQ(second->candidates[0].outputs[0].error.sqnr_db,
                   first->candidates[0].outputs[0].error.sqnr_db);
  // The folder is not overwritten by a second save.
  EXPECT_EQ(Evaluate(save).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(EvaluateTest, MismatchedOutputsAreNamed) {
  ModelBuilder b("other");
  b.Input("x", DataType::kFloat32, {-1, 16});
  b.Initializer(RandomTensor("w", {16, 8}, 9));
  b.AddNode("MatMul", {"x", "w"}, {"z"});
  b.Output("z", DataType::kFloat32, {-1, 8});
  auto report = Evaluate(Options(Save(std::move(b).Build(), "other.onnx")));
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("no output 'y' (it has: z)"), std::string::npos)
      << report.status();
}

TEST_F(EvaluateTest, OptionsThatContradictAreRefused) {
  EvaluateOptions o = Options(Save(Mlp(), "same.onnx"));
  o.gates.max_kl = 0.1;  // needs --task lm
  EXPECT_EQ(Evaluate(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(Save(Mlp(), "same.onnx"));
  o.data = dir_.path();  // two input sources
  EXPECT_EQ(Evaluate(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// One output column of w1 is 300x the others: relu1 gets an outlier
// channel, and per-tensor int8 on mm2's input loses the small channels.
Model OutlierMlp() {
  Model model = Mlp();
  for (Tensor& t : model.graph.initializers) {
    if (t.name() != "w1") continue;
    std::vector<float> v = t.ToFloat32().value();
    for (int64_t k = 0; k < 16; ++k) v[k * 32 + 5] = 300.0f * std::abs(v[k * 32 + 5]);
    t = Tensor::FromVector<float>("w1", {16, 32}, v);
  }
  return model;
}

TEST_F(EvaluateTest, SensitivityRanksTheLayerWithAnOutlierInputFirst) {
  const Model model = OutlierMlp();
  EvaluateOptions o;
  o.reference = Save(model, "outlier.onnx");
  o.random_samples = 8;
  o.dims = {{"N", 4}};
  o.threads = 1;
  o.sensitivity = true;
  auto report = Evaluate(o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->sensitivity.size(), 3u);
  EXPECT_EQ(report->sensitivity[0].node, "mm2");
  EXPECT_EQ(report->sensitivity[0].op_type, "MatMul");
  EXPECT_LT(report->sensitivity[0].error.sqnr_db, report->sensitivity[2].error.sqnr_db);
  EXPECT_NE(ReportToMarkdown(*report).find("int8 sensitivity"), std::string::npos);
}

// 8-bit activations cost mm2 most, so meeting a higher target promotes it
// first.
TEST_F(EvaluateTest, MixedPrecisionPromotesTheFewestLayersThatMeetTheTarget) {
  const Model model = OutlierMlp();
  auto samples = RandomSamples(model, 8, 5, {{"N", 4}});
  const quantize::CalibrationData calibration{
      8, [&](int64_t i) { return samples->Get(i).value().inputs; }, "random"};
  MixedPrecisionOptions o;
  o.threads = 1;
  o.min_sqnr_db = 0;  // met by the all-8-bit model
  auto easy = QuantizeToTarget(model, calibration, *samples, o);
  ASSERT_TRUE(easy.ok()) << easy.status();
  EXPECT_TRUE(easy->met);
  EXPECT_TRUE(easy->promoted.empty());
  ASSERT_EQ(easy->steps.size(), 1u);

  o.min_sqnr_db = easy->sqnr_db + 6;
  auto hard = QuantizeToTarget(model, calibration, *samples, o);
  ASSERT_TRUE(hard.ok()) << hard.status();
  EXPECT_TRUE(hard->met) << hard->sqnr_db;
  ASSERT_FALSE(hard->promoted.empty());
  EXPECT_EQ(hard->promoted[0], "mm2");
  EXPECT_GE(hard->sqnr_db, o.min_sqnr_db);

  o.min_sqnr_db = 200;  // beyond reach even in 16 bits: the best model, not met
  auto impossible = QuantizeToTarget(model, calibration, *samples, o);
  ASSERT_TRUE(impossible.ok()) << impossible.status();
  EXPECT_FALSE(impossible->met);
  EXPECT_GT(impossible->sqnr_db, easy->sqnr_db);
}

// tokens [1, T] -> embedding [32, 8] -> head [8, 32] -> logits [1, T, 32].
Model TinyLm(float noise) {
  ModelBuilder b("lm");
  b.Input("tokens", DataType::kInt64, {1, -1});
  b.Initializer(RandomTensor("embed", {32, 8}, 1, 1.0f));
  std::vector<float> head = RandomTensor("head", {8, 32}, 2, 1.0f).ToFloat32().value();
  const std::vector<float> jitter = RandomTensor("j", {8, 32}, 3, 1.0f).ToFloat32().value();
  for (size_t i = 0; i < head.size(); ++i) head[i] += noise * jitter[i];
  b.Initializer(Tensor::FromVector<float>("head", {8, 32}, head));
  b.AddNode("Gather", {"embed", "tokens"}, {"h"}, "embedding");
  b.AddNode("MatMul", {"h", "head"}, {"logits"}, "lm_head");
  b.Output("logits", DataType::kFloat32, {1, -1, 32});
  return std::move(b).Build();
}

TEST_F(EvaluateTest, LanguageModelTaskReportsPerplexityAndKl) {
  testing::WriteFile(dir_ / "tokens.txt", "1 5 9 2 31 7 7 3 0 12 4 4 19 8 1 1 30 2 6\n");
  EvaluateOptions o;
  o.reference = Save(TinyLm(0), "lm.onnx");
  o.candidates = {Save(TinyLm(0), "same.onnx"), Save(TinyLm(0.3f), "noisy.onnx")};
  o.task = Task::kLm;
  o.tokens = dir_ / "tokens.txt";
  o.seq_len = 6;
  o.gates.max_kl = 0.01;
  auto report = Evaluate(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->samples, 3);  // 19 tokens: three chunks of 6
  const LmSummary& same = *report->candidates[0].lm;
  const LmSummary& noisy = *report->candidates[1].lm;
  EXPECT_EQ(same.positions, 18u);  // every position has a next token (the 19th follows chunk 3)
  EXPECT_NEAR(same.kl_mean, 0, 1e-9);
  EXPECT_DOUBLE_EQ(same.ppl_ratio, 1);
  EXPECT_GT(same.reference_ppl, 1);
  EXPECT_GT(noisy.kl_mean, 0.01);
  EXPECT_LE(noisy.kl_median, noisy.kl_p99);
  EXPECT_LE(noisy.kl_p99, noisy.kl_max);
  EXPECT_DOUBLE_EQ(noisy.reference_ppl, same.reference_ppl);
  EXPECT_TRUE(report->candidates[0].passed());
  EXPECT_FALSE(report->candidates[1].passed());
  EXPECT_NE(ReportToHtml(*report).find("KL divergence per position"), std::string::npos);
}

// Ids the embedding cannot look up are refused with their position, before
// any sample runs (they would read outside the table).
TEST_F(EvaluateTest, TokenIdsOutsideTheVocabularyAreRefused) {
  const Model lm = TinyLm(0);
  for (const auto& [text, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"1 2 -3 4 5", "token 2 is -3, not a token id"},
           {"1 2 3 32 5",
            "token 3 is 32, outside the vocabulary of 32 ids (the embedding embed)"}}) {
    testing::WriteFile(dir_ / "bad.txt", text);
    auto samples = TokenSamples(lm, dir_ / "bad.txt", 2);
    ASSERT_FALSE(samples.ok()) << text;
    EXPECT_NE(samples.status().message().find(fragment), std::string::npos) << samples.status();
  }
  testing::WriteFile(dir_ / "good.txt", "0 31 5 6");
  EXPECT_TRUE(TokenSamples(lm, dir_ / "good.txt", 2).ok());
}

}  // namespace
}  // namespace pare::evaluate
