#include "evaluate/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "data/samples.h"
#include "evaluate/report.h"
#include "evaluate/test_models.h"

namespace pare::evaluate {

namespace {

using testing_models::Mlp;

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
    auto samples = data::TokenSamples(lm, dir_ / "bad.txt", 2);
    ASSERT_FALSE(samples.ok()) << text;
    EXPECT_NE(samples.status().message().find(fragment), std::string::npos) << samples.status();
  }
  testing::WriteFile(dir_ / "good.txt", "0 31 5 6");
  EXPECT_TRUE(data::TokenSamples(lm, dir_ / "good.txt", 2).ok());
}

}  // namespace
}  // namespace pare::evaluate
