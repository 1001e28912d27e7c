#include "core/float16.h"

#include <bit>
#include <cstring>

namespace pare {
namespace {

uint32_t Bits(float f) { return std::bit_cast<uint32_t>(f); }
float FromBits(uint32_t u) { return std::bit_cast<float>(u); }

// Shifts `value` right by `shift` bits, rounding to nearest even.
// REQUIRES: 0 < shift < 32.
uint32_t ShiftRightRoundEven(uint32_t value, int shift) {
  const uint32_t half = 1u << (shift - 1);
  const uint32_t remainder = value & ((1u << shift) - 1);
  uint32_t result = value >> shift;
  if (remainder > half || (remainder == half && (result & 1u))) ++result;
  return result;
}

}  // namespace

uint16_t Float32ToFloat16(float value) {
  const uint32_t u = Bits(value);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    if (abs == 0x7f800000u) return sign | 0x7c00u;
    return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x3ffu);
  }
  const int exponent = static_cast<int>(abs >> 23) - 127;
  if (exponent >= 16) return sign | 0x7c00u;  // overflows to infinity
  if (exponent >= -14) {
    // Normal half: rebias the exponent and round the 23-bit mantissa to 10
    // bits. A carry out of the mantissa correctly bumps the exponent, and
    // a carry past 30 exponent bits yields exactly 0x7c00 (infinity).
    const uint32_t rebiased = abs - (static_cast<uint32_t>(127 - 15) << 23);
    return sign | static_cast<uint16_t>(ShiftRightRoundEven(rebiased, 13));
  }
  if (exponent < -25) return sign;  // below half the smallest subnormal
  // Subnormal half: value = mantissa_with_implicit_one * 2^(exponent-23),
  // expressed in units of 2^-24.
  const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
  const int shift = -exponent - 1;  // 14..24 → units of 2^-24
  return sign | static_cast<uint16_t>(ShiftRightRoundEven(mantissa, shift));
}

float Float16ToFloat32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {
    // Quiet NaNs stay quiet; signalling ones become quiet, payload kept.
    const uint32_t nan_bits = mantissa ? (0x400000u | (mantissa << 13)) : 0;
    return FromBits(sign | 0x7f800000u | nan_bits);
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in float32.
    const float magnitude = static_cast<float>(mantissa) * FromBits(0x33800000u);
    return FromBits(sign | Bits(magnitude));
  }
  return FromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t Float32ToBFloat16(float value) {
  const uint32_t u = Bits(value);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  }
  // Rounding the low 16 bits also rounds correctly into the exponent and to
  // infinity; bfloat16 shares float32's exponent so subnormals need nothing.
  return static_cast<uint16_t>(ShiftRightRoundEven(u, 16));
}

float BFloat16ToFloat32(uint16_t bits) { return FromBits(static_cast<uint32_t>(bits) << 16); }

void Float32ToFloat16(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = Float32ToFloat16(src[i]);
}
void Float16ToFloat32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = Float16ToFloat32(src[i]);
}
void Float32ToBFloat16(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = Float32ToBFloat16(src[i]);
}
void BFloat16ToFloat32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = BFloat16ToFloat32(src[i]);
}

}  // namespace pare
