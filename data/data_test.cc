// The data room: inputs, sample sources, calibration runs and Hessians.
#include <gtest/gtest.h>

#include <cmath>

#include "core/model_builder.h"
#include "core/npy.h"
#include "core/test_util.h"
#include "data/calibration_data.h"
#include "data/hessian.h"
#include "data/inputs.h"
#include "data/samples.h"

namespace pare::data {
namespace {

// ids [1, S] -> Gather(embed [8, 4]) -> y [1, S, 4]: the smallest model a
// token file can feed.
Model TinyLm() {
  ModelBuilder b("tiny_lm", 13);
  b.Input("input_ids", DataType::kInt64, {1, -1});
  b.Initializer(RandomTensor("embed", {8, 4}, 1, 1.0f));
  b.AddNode("Gather", {"embed", "input_ids"}, {"y"}, "embed");
  b.Output("y", DataType::kFloat32, {1, -1, 4});
  return std::move(b).Build();
}

TEST(Inputs, RandomInputsFollowTheSeed) {
  const Model m = pare::testing::MatMulChain(13, {16, 8});
  const auto a = RandomInputs(m, 7, {}), b = RandomInputs(m, 7, {}), c = RandomInputs(m, 8, {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].dims(), (std::vector<int64_t>{1, 16}));  // unknown batch: 1
  EXPECT_TRUE(pare::testing::SameTensor((*a)[0], (*b)[0]));
  EXPECT_FALSE(pare::testing::SameTensor((*a)[0], (*c)[0]));
  const std::vector<float> values = (*a)[0].ToFloat32().value();
  for (float v : values) EXPECT_TRUE(v >= -1 && v < 1);
}

TEST(Samples, TokenFilesAreCutIntoChunksWithTheirNextTokens) {
  pare::testing::TempDir dir;
  pare::testing::WriteFile(dir / "t.txt", "1 2 3 4 5 6 7");
  const Model lm = TinyLm();
  auto samples = TokenSamples(lm, dir / "t.txt", 3);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ((*samples)->size(), 2);  // 1 2 3 | 4 5 6; 7 is left over
  auto second = (*samples)->Get(1);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->inputs[0].dims(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(second->next_tokens, (std::vector<int64_t>{5, 6, 7}));
}

TEST(Samples, DataFoldersBindFilesByInputName) {
  pare::testing::TempDir dir;
  const Model m = pare::testing::MatMulChain(13, {16, 8});
  const Tensor x = RandomTensor("x", {2, 16}, 3, 1.0f);
  std::filesystem::create_directories(dir / "test_data_set_0");
  ASSERT_TRUE(SaveNpy(x, dir / "test_data_set_0" / "x.npy").ok());
  auto samples = DataSamples(m, dir.path());
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ((*samples)->size(), 1);
  auto s = (*samples)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(pare::testing::SameTensor(s->inputs[0], x));
}

TEST(CalibrationData, RunSamplesObservesWatchedValuesAndNamesAFailingSample) {
  const Model m = pare::testing::MatMulChain(13, {16, 8, 4});
  CalibrationData samples{3, [&](int64_t i) { return RandomInputs(m, i, {}); }, "3 random"};
  int64_t rows = 0;
  ASSERT_TRUE(RunSamplesAsRows(
                  m, samples, 1, {"r1"},
                  [&](const std::string& name, const float*, int64_t count, int64_t k) {
                    EXPECT_EQ(name, "r1");
                    EXPECT_EQ(k, 8);
                    rows += count;
                  },
                  nullptr)
                  .ok());
  EXPECT_EQ(rows, 3);
  samples.sample = [&](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
    if (i == 1) return std::vector<Tensor>{RandomTensor("x", {1, 5}, 1, 1.0f)};
    return RandomInputs(m, i, {});
  };
  const absl::Status s = RunSamples(
      m, samples, 1, {}, [](const Tensor&) {}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("calibration sample 1"), std::string::npos) << s;
}

TEST(Hessian, MeanIsSumOverRowsAndDeadInputsGetAUnitDiagonal) {
  HessianAccumulator h(3);
  const float rows[] = {1, 2, 0, 3, -1, 0};  // input 2 never fires
  h.Add(rows, 2);
  std::vector<bool> dead;
  const std::vector<double> mean = MeanHessian(h, &dead);
  EXPECT_DOUBLE_EQ(mean[0], (1 + 9) / 2.0);
  EXPECT_DOUBLE_EQ(mean[1], (2 - 3) / 2.0);
  EXPECT_DOUBLE_EQ(mean[3], (2 - 3) / 2.0);  // mirrored
  EXPECT_DOUBLE_EQ(mean[4], (4 + 1) / 2.0);
  EXPECT_DOUBLE_EQ(mean[8], 1.0);
  EXPECT_EQ(dead, (std::vector<bool>{false, false, true}));
}

// U is upper triangular with U^T U = (H + damp * mean(diag H) * I)^-1.
TEST(Hessian, InverseCholeskyFactorsTheDampenedInverse) {
  const std::vector<double> h = {4, 1, 0, 1, 3, 1, 0, 1, 2};
  const double damp = 0.01, lambda = damp * (4 + 3 + 2) / 3.0;
  auto u = InverseCholeskyUpper(h, 3, damp);
  ASSERT_TRUE(u.ok()) << u.status();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < r; ++c) EXPECT_DOUBLE_EQ((*u)[r * 3 + c], 0.0);
  }
  // (U^T U) (H + lambda I) = I.
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      double v = 0;
      for (int j = 0; j < 3; ++j) {
        double utu = 0;
        for (int t = 0; t < 3; ++t) utu += (*u)[t * 3 + r] * (*u)[t * 3 + j];
        v += utu * (h[j * 3 + c] + (j == c ? lambda : 0));
      }
      EXPECT_NEAR(v, r == c ? 1.0 : 0.0, 1e-9) << r << "," << c;
    }
  }
}

}  // namespace
}  // namespace pare::data
