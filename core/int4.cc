#include "core/int4.h"

namespace pare {
namespace {

template <typename T>
void PackNibbles(const T* values, size_t n, uint8_t* dst) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    dst[i / 2] = static_cast<uint8_t>((values[i] & 0x0f) | ((values[i + 1] & 0x0f) << 4));
  }
  if (n % 2) dst[n / 2] = static_cast<uint8_t>(values[n - 1] & 0x0f);
}

uint8_t Nibble(const uint8_t* packed, size_t i) {
  return (i % 2) ? static_cast<uint8_t>(packed[i / 2] >> 4)
                 : static_cast<uint8_t>(packed[i / 2] & 0x0f);
}

}  // namespace

void PackInt4(const int8_t* values, size_t n, uint8_t* dst) { PackNibbles(values, n, dst); }
void PackUint4(const uint8_t* values, size_t n, uint8_t* dst) { PackNibbles(values, n, dst); }

void UnpackInt4(const uint8_t* packed, size_t n, int8_t* dst) {
  for (size_t i = 0; i < n; ++i) {
    const int nibble = Nibble(packed, i);
    dst[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
  }
}

void UnpackUint4(const uint8_t* packed, size_t n, uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = Nibble(packed, i);
}

}  // namespace pare
