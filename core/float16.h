// Conversions between float32 and the 16-bit float formats ONNX uses.
//
//   uint16_t h = Float32ToFloat16(0.1f);   // round to nearest even
//   float f = BFloat16ToFloat32(bits);
//
// All conversions round to nearest, ties to even, handle subnormals, keep
// infinities, and turn NaN into a quiet NaN of the same sign (its high payload
// bits kept). The scalar functions are the reference for any vector version.
#ifndef PARE_CORE_FLOAT16_H_
#define PARE_CORE_FLOAT16_H_

#include <cstddef>
#include <cstdint>

namespace pare {

uint16_t Float32ToFloat16(float value);
float Float16ToFloat32(uint16_t bits);
uint16_t Float32ToBFloat16(float value);
float BFloat16ToFloat32(uint16_t bits);

// Array forms. REQUIRES: src and dst hold n elements each.
void Float32ToFloat16(const float* src, uint16_t* dst, size_t n);
void Float16ToFloat32(const uint16_t* src, float* dst, size_t n);
void Float32ToBFloat16(const float* src, uint16_t* dst, size_t n);
void BFloat16ToFloat32(const uint16_t* src, float* dst, size_t n);

// One float16 stored little-endian at `p` (file formats: GGUF blocks).
inline void StoreFloat16LE(float value, uint8_t* p) {
  const uint16_t h = Float32ToFloat16(value);
  p[0] = static_cast<uint8_t>(h & 0xff);
  p[1] = static_cast<uint8_t>(h >> 8);
}
inline float LoadFloat16LE(const uint8_t* p) {
  return Float16ToFloat32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

}  // namespace pare

#endif  // PARE_CORE_FLOAT16_H_
