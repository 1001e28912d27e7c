#include "core/float16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace pare {
namespace {

uint32_t Bits(float f) { return std::bit_cast<uint32_t>(f); }
float FromBits(uint32_t u) { return std::bit_cast<float>(u); }

TEST(Float16, EveryHalfSurvivesARoundTripThroughFloat32) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = Float16ToFloat32(static_cast<uint16_t>(h));
    const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    if (is_nan) {
      EXPECT_TRUE(std::isnan(f)) << h;
      // Quieted, sign and high payload bits kept.
      EXPECT_EQ(Float32ToFloat16(f), h | 0x200) << h;
    } else {
      EXPECT_EQ(Float32ToFloat16(f), h) << h;
    }
  }
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(Float32ToFloat16(1.0f), 0x3c00);
  EXPECT_EQ(Float32ToFloat16(-2.0f), 0xc000);
  EXPECT_EQ(Float32ToFloat16(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(Float32ToFloat16(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(Float32ToFloat16(65519.99f), 0x7bff);
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.0f, -25)), 0x0000);  // tie → even (zero)
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(Float32ToFloat16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp tie → even
  EXPECT_EQ(Float32ToFloat16(-0.0f), 0x8000);
  EXPECT_EQ(Float32ToFloat16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(Float32ToFloat16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie → even
  EXPECT_EQ(Float32ToFloat16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1023.5f, -24)), 0x0400);  // subnormal carries to normal
}

#ifdef __FLT16_MAX__
// GCC on x86-64 and clang on arm64 have a hardware-exact _Float16 to compare with.
TEST(Float16, MatchesCompilerConversionOnSampledFloats) {
  std::mt19937 rng(1234);
  uint64_t checked = 0;
  auto check = [&](uint32_t u) {
    const float f = FromBits(u);
    if (std::isnan(f)) return;
    const _Float16 h = static_cast<_Float16>(f);
    ASSERT_EQ(Float32ToFloat16(f), std::bit_cast<uint16_t>(h)) << std::hex << u;
    ++checked;
  };
  for (uint32_t u = 0; u < 0xffffffffu - 997; u += 997) check(u);
  for (int i = 0; i < 2'000'000; ++i) check(rng());
  // Every float in the half range's interesting exponents, exhaustively.
  for (uint32_t u = 0x33000000u; u < 0x38800000u; u += 3) check(u);
  EXPECT_GT(checked, 10'000'000u);
}
#endif

// Reference for bfloat16: round via double arithmetic to 8 significant bits.
uint16_t ReferenceBFloat16(float f) {
  if (std::isnan(f)) return static_cast<uint16_t>((Bits(f) >> 16) | 0x40);
  const uint32_t u = Bits(f);
  const uint32_t lower = u & 0xffff;
  uint32_t upper = u >> 16;
  if (lower > 0x8000 || (lower == 0x8000 && (upper & 1))) ++upper;
  return static_cast<uint16_t>(upper);
}

TEST(BFloat16, KnownValuesAndSpecials) {
  EXPECT_EQ(Float32ToBFloat16(1.0f), 0x3f80);
  EXPECT_EQ(Float32ToBFloat16(FromBits(0x3f808000u)), 0x3f80);  // tie → even
  EXPECT_EQ(Float32ToBFloat16(FromBits(0x3f818000u)), 0x3f82);  // tie → even (up)
  EXPECT_EQ(Float32ToBFloat16(FromBits(0x7f7fffffu)), 0x7f80);  // max float → inf
  EXPECT_EQ(Float32ToBFloat16(FromBits(0x00008001u)), 0x0001);  // subnormal rounds up
  EXPECT_EQ(Float32ToBFloat16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(Float32ToBFloat16(FromBits(0x7f800001u)), 0x7fc0);  // signalling NaN → quiet
  EXPECT_EQ(BFloat16ToFloat32(0xbf80), -1.0f);
}

TEST(BFloat16, MatchesReferenceOnSampledFloats) {
  std::mt19937 rng(99);
  for (int i = 0; i < 1'000'000; ++i) {
    const float f = FromBits(rng());
    ASSERT_EQ(Float32ToBFloat16(f), ReferenceBFloat16(f)) << std::hex << Bits(f);
  }
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = BFloat16ToFloat32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(Float32ToBFloat16(f), h);
  }
}

TEST(Float16, ArrayFormsMatchScalar) {
  const float in[] = {0.1f, -3.5f, 1e-7f, 70000.0f, -0.0f};
  uint16_t half[5], bf[5];
  float back[5];
  Float32ToFloat16(in, half, 5);
  Float32ToBFloat16(in, bf, 5);
  Float16ToFloat32(half, back, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(half[i], Float32ToFloat16(in[i]));
    EXPECT_EQ(bf[i], Float32ToBFloat16(in[i]));
    EXPECT_EQ(Bits(back[i]), Bits(Float16ToFloat32(half[i])));
  }
}

}  // namespace
}  // namespace pare
