#include "runtime/ops/op_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pare::runtime {
namespace {

TEST(ExpApprox, WithinTwoUlpOfStdExpOverTheNormalRange) {
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const float want = std::exp(x), got = ExpApprox(x);
    EXPECT_NEAR(got, want, 2.5e-7f * want) << x;
  }
  EXPECT_EQ(ExpApprox(0.0f), 1.0f);
  EXPECT_LT(ExpApprox(-std::numeric_limits<float>::infinity()), 1e-37f);
  EXPECT_TRUE(std::isnan(ExpApprox(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace pare::runtime
