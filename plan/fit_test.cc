// pare fit end to end on a small model: plan for a byte budget, build the
// artifact through the real stages, and refuse without writing anything.

#include "plan/fit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "analysis/device.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "runtime/session.h"

namespace pare::plan_tests {

using namespace pare::plan;

namespace {

namespace fs = std::filesystem;

class FitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // w1 64x128, w2 128x128, w3 128x64: 128 KiB of float32 weights.
    ASSERT_TRUE(SaveModel(pare::testing::MatMulChain(13, {64, 128, 128, 64}), model_).ok());
  }
  FitOptions Options(uint64_t weight_budget) const {
    FitOptions o;
    o.device = analysis::BudgetDevice(uint64_t{1} << 30);
    o.candidates = *ParsePrecisions("f16,int8,int4-g32");
    o.weight_budget = weight_budget;
    o.threads = 1;
    return o;
  }
  pare::testing::TempDir dir_;
  const fs::path model_ = dir_ / "model.onnx";
  const fs::path out_ = dir_ / "fitted";
};

// All int8 is 36.9 kB and all int4 20.5 kB: 30,000 bytes buys a mix.
TEST_F(FitTest, MixesPrecisionsToFitTheBudgetAndTheArtifactRuns) {
  absl::StatusOr<FitResult> r = Fit(model_, out_, Options(30000));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LE(r->plan.bytes, 30000u);
  EXPECT_LT(r->after.weight_bytes, r->before.weight_bytes / 2);
  const std::set<int> chosen(r->plan.choice.begin(), r->plan.choice.end());
  EXPECT_GT(chosen.size(), 1u) << "one precision for every layer: "
                               << FitToText(*r, Options(0).candidates);
  EXPECT_TRUE(fs::exists(out_ / "manifest.json"));
  absl::StatusOr<Model> fitted = LoadModel(out_ / "model.onnx");
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  auto session = runtime::Session::Create(*fitted, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->Run({RandomTensor("x", {2, 64}, 9, 1.0f)}).ok());
}

TEST_F(FitTest, AnImpossibleBudgetIsRefusedAndWritesNothing) {
  absl::StatusOr<FitResult> r = Fit(model_, out_, Options(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(FitTest, AnExistingOutputIsKeptWithoutReplace) {
  fs::create_directories(out_);
  pare::testing::WriteFile(out_ / "mine.txt", "keep me");
  ASSERT_FALSE(Fit(model_, out_, Options(30000)).ok());
  EXPECT_EQ(pare::testing::ReadFile(out_ / "mine.txt"), "keep me");
}

}  // namespace
}  // namespace pare::plan_tests
