// Reading RoPE off cos/sin tables: the parameters come back, and tables
// that are not RoPE are refused naming why.

#include "analysis/rotary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace pare::analysis_tests {
namespace {

struct Tables {
  std::vector<float> cos, sin;
};

// RoPE tables for `positions` positions, pair i turning by
// scale * base^(-2i/width) per position, laid out as Hugging Face
// (rotate-half: columns i and i + width/2) or interleaved (2i and 2i + 1).
Tables Rope(int64_t width, int64_t positions, double base, double scale, bool rotate_half) {
  Tables t;
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t c = 0; c < width; ++c) {
      const int64_t pair = rotate_half ? c % (width / 2) : c / 2;
      const double angle = p * scale * std::pow(base, -2.0 * pair / width);
      t.cos.push_back(static_cast<float>(std::cos(angle)));
      t.sin.push_back(static_cast<float>(std::sin(angle)));
    }
  }
  return t;
}

TEST(Rotary, ReadsBaseAndLayoutOfRotateHalfTables) {
  for (double base : {10000.0, 500000.0, 1000000.0}) {
    const Tables t = Rope(64, 64, base, 1, true);
    absl::StatusOr<analysis::Rotary> r = analysis::ReadRotaryTables(t.cos, t.sin, 64);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FLOAT_EQ(r->base, static_cast<float>(base));
    EXPECT_EQ(r->dims, 64);
    EXPECT_TRUE(r->rotate_half);
    EXPECT_FLOAT_EQ(r->freq_scale, 1);
  }
}

TEST(Rotary, ReadsInterleavedPairsAndLinearScaling) {
  const Tables t = Rope(32, 64, 10000, 0.25, false);
  absl::StatusOr<analysis::Rotary> r = analysis::ReadRotaryTables(t.cos, t.sin, 32);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->rotate_half);
  EXPECT_NEAR(r->freq_scale, 0.25, 1e-4);
  EXPECT_FLOAT_EQ(r->base, 10000);
}

TEST(Rotary, RefusesTablesThatAreNotRope) {
  Tables t = Rope(32, 16, 10000, 1, true);
  t.cos[0] = 0.5f;  // position 0 must not turn
  EXPECT_NE(analysis::ReadRotaryTables(t.cos, t.sin, 32).status().message().find("position 0"),
            std::string::npos);
  t = Rope(32, 16, 10000, 1, true);
  t.sin[16 * 32 - 1] += 0.5f;  // one channel leaves its pair
  EXPECT_NE(analysis::ReadRotaryTables(t.cos, t.sin, 32).status().message().find("pairs"),
            std::string::npos);
  // Llama 3-style scaling: the low frequencies divided by 8, not all.
  t = Rope(32, 64, 500000, 1, true);
  for (int64_t p = 0; p < 64; ++p) {
    for (int64_t c : {15, 31}) {
      const double angle = p * std::pow(500000.0, -2.0 * 15 / 32) / 8;
      t.cos[p * 32 + c] = static_cast<float>(std::cos(angle));
      t.sin[p * 32 + c] = static_cast<float>(std::sin(angle));
    }
  }
  EXPECT_NE(analysis::ReadRotaryTables(t.cos, t.sin, 32).status().message().find("not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace pare::analysis_tests
