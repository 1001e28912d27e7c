// Sensitivity ranking and mixed precision: the plan stage's int8 searches,
// on an MLP whose middle layer sees an outlier channel.
#include "plan/sensitivity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/onnx_io.h"
#include "core/test_util.h"
#include "data/samples.h"
#include "evaluate/evaluate.h"
#include "evaluate/report.h"
#include "evaluate/test_models.h"
#include "plan/mixed_precision.h"

namespace pare::plan {
namespace {

using evaluate::testing_models::Mlp;

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

TEST(Sensitivity, RanksTheLayerWithAnOutlierInputFirst) {
  // Through evaluate, which takes the ranking as a hook, as `pare evaluate
  // --sensitivity` does.
  testing::TempDir dir;
  const Model model = OutlierMlp();
  ASSERT_TRUE(SaveModel(model, dir / "outlier.onnx").ok());
  evaluate::EvaluateOptions o;
  o.reference = dir / "outlier.onnx";
  o.random_samples = 8;
  o.dims = {{"N", 4}};
  o.threads = 1;
  o.sensitivity = [](const Model& reference, const data::SampleSource& samples) {
    return QuantizationSensitivity(reference, samples, {.threads = 1});
  };
  auto report = evaluate::Evaluate(o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->sensitivity.size(), 3u);
  EXPECT_EQ(report->sensitivity[0].node, "mm2");
  EXPECT_EQ(report->sensitivity[0].op_type, "MatMul");
  EXPECT_LT(report->sensitivity[0].error.sqnr_db, report->sensitivity[2].error.sqnr_db);
  EXPECT_NE(evaluate::ReportToMarkdown(*report).find("int8 sensitivity"), std::string::npos);
}

// 8-bit activations cost mm2 most, so meeting a higher target promotes it
// first.
TEST(MixedPrecision, PromotesTheFewestLayersThatMeetTheTarget) {
  const Model model = OutlierMlp();
  auto samples = data::RandomSamples(model, 8, 5, {{"N", 4}});
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

}  // namespace
}  // namespace pare::plan
