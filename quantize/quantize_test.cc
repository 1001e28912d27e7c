#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quantize/bias_correction.h"
#include "quantize/calibration.h"
#include "quantize/int8.h"

namespace pare::quantize {
namespace {

TEST(ChooseParams, AsymmetricSymmetricAndEmptyRanges) {
  QuantParams p = ChooseParams({-1, 3}, DataType::kUint8, false);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255);
  EXPECT_EQ(p.zero_point, 64);                              // round(63.75)
  EXPECT_EQ(QuantizeValue(0.0f, p, DataType::kUint8), 64);  // zero is exact
  EXPECT_EQ(QuantizeValue(100.0f, p, DataType::kUint8), 255);
  p = ChooseParams({-2, 1}, DataType::kInt8, true);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 127);
  EXPECT_EQ(p.zero_point, 0);
  p = ChooseParams({0.5f, 2}, DataType::kUint8, false);  // widened to include 0
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 255);
  p = ChooseParams({0, 0}, DataType::kInt8, false);
  EXPECT_EQ(p.scale, 1.0f);
  p = ChooseParams({-1, 3}, DataType::kUint16, false);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 65535);
  EXPECT_EQ(p.zero_point, 16384);  // round(16383.75)
  EXPECT_EQ(QuantizeValue(3.0f, p, DataType::kUint16), 65535);
}

TEST(QuantizeWeights, PerChannelScalesAndSqnr) {
  const std::vector<float> w = {1, -0.5f, 0.25f, 100, 50, -100};
  const WeightQuantization q = QuantizeWeights(w, {2, 3}, 0);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(q.scales[1], 100.0f / 127);
  EXPECT_EQ(q.values, (std::vector<int8_t>{127, -64, 32, 127, 64, -127}));
  const WeightQuantization t = QuantizeWeights(w, {2, 3}, -1);  // per tensor
  ASSERT_EQ(t.scales.size(), 1u);
  EXPECT_LT(t.sqnr_db, q.sqnr_db);  // the small row loses its precision
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> g(4096);
  for (float& v : g) v = n(rng);
  EXPECT_GT(QuantizeWeights(g, {64, 64}, 1).sqnr_db, 35);  // about 38 dB for 8 bits
}

TEST(QuantizeWeights, MseClipTradesAnOutlierForResolution) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0, 1);
  // Clipping one weight costs its own error squared; a finer grid saves a
  // little on every other weight, so it pays in a large channel.
  std::vector<float> w(200000);
  for (float& v : w) v = n(rng);
  w[10] = 40;  // one weight far out in its channel
  const WeightQuantization plain = QuantizeWeights(w, {1, 200000}, 0);
  const WeightQuantization clipped = QuantizeWeights(w, {1, 200000}, 0, /*mse_clip=*/true);
  EXPECT_LT(clipped.scales[0], plain.scales[0]);
  EXPECT_GT(clipped.sqnr_db, plain.sqnr_db);
}

TEST(BiasCorrection, ShiftIsWeightErrorTimesInputMean) {
  // Two maps, two input channels, 1x1 kernels: W = [[0.30, 0.11], [1, 0]].
  const std::vector<float> w = {0.30f, 0.11f, 1.0f, 0.0f};
  WeightQuantization q;
  q.scales = {0.1f, 0.5f};
  q.values = {3, 1, 2, 0};  // dequantized: [[0.3, 0.1], [1, 0]]
  const std::vector<float> shift = ConvOutputShift(w, {2, 2, 1, 1}, q, {2.0, 10.0}, false);
  EXPECT_NEAR(shift[0], (0.3 - 0.30) * 2 + (0.1 - 0.11) * 10, 1e-6);
  EXPECT_NEAR(shift[1], 0.0, 1e-6);
  // Depthwise: map m reads channel m only.
  const std::vector<float> dw = ConvOutputShift(w, {2, 1, 2, 1}, q, {2.0, 10.0}, true);
  EXPECT_NEAR(dw[0], (0.3 - 0.30 + 0.1 - 0.11) * 2, 1e-6);
}

TEST(BiasCorrection, MatMulShiftFollowsTheOutputAxis) {
  // W [K=2, N=2] = [[0.30, 1], [0.11, 0]], one scale per column.
  const std::vector<float> w = {0.30f, 1.0f, 0.11f, 0.0f};
  WeightQuantization q;
  q.scales = {0.1f, 0.5f};
  q.values = {3, 2, 1, 0};  // dequantized: [[0.3, 1], [0.1, 0]]
  const std::vector<float> shift = MatMulOutputShift(w, {2, 2}, 1, q, {2.0, 10.0});
  EXPECT_NEAR(shift[0], (0.3 - 0.30) * 2 + (0.1 - 0.11) * 10, 1e-6);
  EXPECT_NEAR(shift[1], 0.0, 1e-6);
  // Gemm with transB: the same weights as [N, K], one scale per row.
  const std::vector<float> wt = {0.30f, 0.11f, 1.0f, 0.0f};
  q.values = {3, 1, 2, 0};
  const std::vector<float> rows = MatMulOutputShift(wt, {2, 2}, 0, q, {2.0, 10.0});
  EXPECT_NEAR(rows[0], shift[0], 1e-6);
  EXPECT_NEAR(rows[1], 0.0, 1e-6);
}

TEST(QuantizeBias, ScaleIsInputTimesWeightScale) {
  EXPECT_EQ(QuantizeBias({1.0f, -2.0f}, 0.5f, {0.01f, 0.1f}), (std::vector<int32_t>{200, -40}));
}

TEST(TensorCalibrator, MinMaxAndMovingAverage) {
  TensorCalibrator c(/*moving_average=*/0.5);
  const float a[] = {-1, 0, 1}, b[] = {-3, 2, 3, NAN};
  c.Add(a, 3);
  c.Add(b, 4);
  const Range mm = c.Compute({CalibrationMethod::kMinMax});
  EXPECT_EQ(mm.min, -3);
  EXPECT_EQ(mm.max, 3);
  const Range avg = c.Compute({CalibrationMethod::kMovingAverage});
  EXPECT_FLOAT_EQ(avg.min, -2);
  EXPECT_FLOAT_EQ(avg.max, 2);
  EXPECT_EQ(c.count(), 6u);  // NaN ignored
}

TEST(TensorCalibrator, PercentileSurvivesRangeDoubling) {
  TensorCalibrator c;
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> v(10000);
  for (int s = 0; s < 10; ++s) {
    // Later samples reach further, so the histogram doubles its range.
    const float reach = s < 5 ? 0.1f : 1.0f;
    for (float& x : v) x = u(rng) * reach;
    c.Add(v.data(), v.size());
  }
  // Half the values are uniform on [0, 0.1], half on [0, 1]: the 99th
  // percentile is where 1% of all values remain above, at 0.98.
  const Range p = c.Compute({CalibrationMethod::kPercentile, 99.0});
  EXPECT_NEAR(p.max, 0.98, 0.005);
  EXPECT_GE(p.min, 0.0f);
}

TEST(TensorCalibrator, EntropyAndMseClipOutliers) {
  TensorCalibrator c;
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0, 1);
  // A million values: enough that one outlier costs less clipped than the
  // coarser rounding of everything else would (what MSE weighs).
  std::vector<float> v(1000000);
  for (float& x : v) x = n(rng);
  v[0] = 60;  // one outlier stretches min/max
  c.Add(v.data(), v.size());
  // Entropy looks at the shape of the distribution and clips hard; MSE
  // weighs one clipped outlier against a million rounding errors and, with
  // an asymmetric uint8 range, keeps part of the way towards it.
  const double limit[] = {20, 40};
  int i = 0;
  for (CalibrationMethod m : {CalibrationMethod::kEntropy, CalibrationMethod::kMse}) {
    const Range r = c.Compute({m});
    EXPECT_LT(r.max, limit[i++]) << CalibrationMethodName(m);
    EXPECT_GT(r.max, 2.5) << CalibrationMethodName(m);
    EXPECT_LT(r.min, -2.5) << CalibrationMethodName(m);
  }
  EXPECT_EQ(c.Compute({CalibrationMethod::kMinMax}).max, 60);
}

TEST(CalibrationMethod, NamesRoundTrip) {
  for (const char* name : {"minmax", "moving-average", "percentile", "entropy", "mse"}) {
    auto m = ParseCalibrationMethod(name);
    ASSERT_TRUE(m.ok());
    EXPECT_STREQ(CalibrationMethodName(*m), name);
  }
  EXPECT_FALSE(ParseCalibrationMethod("kl").ok());
}

}  // namespace
}  // namespace pare::quantize
