#include "evaluate/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "evaluate/histogram.h"

namespace pare::evaluate {
namespace {

TEST(ErrorStats, HandComputedFigures) {
  ErrorStats s;
  const float ref[] = {1, 2, 3, 4};
  const float cand[] = {1, 2, 3, 5};
  s.Add(ref, cand, 4);
  const ErrorSummary e = s.Summary();
  EXPECT_EQ(e.elements, 4u);
  EXPECT_DOUBLE_EQ(e.max_abs, 1);
  EXPECT_DOUBLE_EQ(e.mean_abs, 0.25);
  EXPECT_DOUBLE_EQ(e.rmse, 0.5);
  EXPECT_NEAR(e.sqnr_db, 10 * std::log10(30.0 / 1.0), 1e-12);
  EXPECT_NEAR(e.cosine, 34 / std::sqrt(30.0 * 39.0), 1e-12);
  EXPECT_NEAR(e.rel_error, std::sqrt(1 / 30.0), 1e-12);
}

TEST(ErrorStats, ExactIsInfiniteSqnrAndNanIsWorst) {
  ErrorStats exact;
  const float v[] = {1, -2};
  exact.Add(v, v, 2);
  EXPECT_TRUE(std::isinf(exact.Summary().sqnr_db) && exact.Summary().sqnr_db > 0);
  EXPECT_DOUBLE_EQ(exact.Summary().cosine, 1);
  ErrorStats broken;
  const float nan[] = {1, NAN};
  broken.Add(v, nan, 2);
  EXPECT_EQ(broken.Summary().non_finite, 1u);
  EXPECT_TRUE(std::isinf(broken.Summary().sqnr_db) && broken.Summary().sqnr_db < 0);
}

TEST(ErrorStats, SamplesAccumulateLikeOneBatch) {
  const float r[] = {1, 2, 3, 4, 5, 6}, c[] = {1.5, 2, 2, 4, 5, 7};
  ErrorStats whole, parts;
  whole.Add(r, c, 6);
  parts.Add(r, c, 2);
  parts.Add(r + 2, c + 2, 4);
  EXPECT_DOUBLE_EQ(whole.Summary().sqnr_db, parts.Summary().sqnr_db);
  EXPECT_DOUBLE_EQ(whole.Summary().mean_abs, parts.Summary().mean_abs);
}

TEST(TopKStats, AgreementAndAccuracy) {
  TopKStats s;
  // Three rows of 6 classes. Row 0 agrees; row 1 disagrees but the
  // reference's choice is the candidate's 2nd; row 2's is the 6th.
  const float ref[] = {9, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  const float cand[] = {9, 0, 0, 0, 0, 0, 0, 8, 9, 0, 0, 0, 6, 5, 4, 3, 2, 1};
  s.Add(ref, cand, 3, 6, {0, 2, 5});
  const TopKSummary t = s.Summary();
  EXPECT_EQ(t.rows, 3u);
  EXPECT_DOUBLE_EQ(t.top1_agreement, 1.0 / 3);
  EXPECT_DOUBLE_EQ(t.top5_agreement, 2.0 / 3);
  EXPECT_DOUBLE_EQ(*t.reference_accuracy, 2.0 / 3);  // rows 0 and 2
  EXPECT_DOUBLE_EQ(*t.candidate_accuracy, 2.0 / 3);  // rows 0 and 1
}

TEST(LmStats, IdenticalModelsHaveZeroKlAndEqualPerplexity) {
  LmStats s;
  const float logits[] = {0, 1, 2, 3, 3, 2, 1, 0};
  s.Add(logits, logits, 2, 4, {3, 0});
  const LmSummary lm = s.Summary();
  EXPECT_EQ(lm.positions, 2u);
  EXPECT_NEAR(lm.kl_mean, 0, 1e-12);
  EXPECT_DOUBLE_EQ(lm.ppl_ratio, 1);
  EXPECT_DOUBLE_EQ(lm.top1_agreement, 1);
  // Both positions give the next token probability e^3 / (1 + e + e^2 + e^3).
  const double p = std::exp(3.0) / (1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(lm.reference_ppl, 1 / p, 1e-9);
}

TEST(LmStats, KlMatchesTheDefinition) {
  LmStats s;
  const float ref[] = {0, 0}, cand[] = {0, std::log(3.0f)};  // p = (.5, .5), q = (.25, .75)
  s.Add(ref, cand, 1, 2, {1});
  const LmSummary lm = s.Summary();
  EXPECT_NEAR(lm.kl_mean, 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75), 1e-7);
  EXPECT_NEAR(lm.dp_mean, 0.25, 1e-7);
  EXPECT_NEAR(lm.ppl_ratio, 0.5 / 0.75, 1e-7);
}

TEST(QuantileHistogram, QuantilesWithinABinOfTheTruth) {
  QuantileHistogram log = QuantileHistogram::Log(1e-10, 1e4, 200);
  QuantileHistogram lin = QuantileHistogram::Linear(-1, 1, 20000);
  std::mt19937 rng(1);
  std::exponential_distribution<double> exp(100.0);
  std::vector<double> values;
  for (int i = 0; i < 100000; ++i) {
    values.push_back(exp(rng));
    log.Add(values.back());
    lin.Add(values.back() - 0.01);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = values[static_cast<size_t>(q * values.size()) - 1];
    EXPECT_NEAR(log.Quantile(q), truth, truth * 0.012) << q;
    EXPECT_NEAR(lin.Quantile(q), truth - 0.01, 1e-4) << q;
  }
  EXPECT_DOUBLE_EQ(log.max(), values.back());
  EXPECT_DOUBLE_EQ(log.Quantile(1), values.back());
  log.Add(NAN);
  EXPECT_EQ(log.nan_count(), 1u);
}

}  // namespace
}  // namespace pare::evaluate
