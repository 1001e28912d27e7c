// Packing of ONNX's 4-bit integer types (int4 = 22, uint4 = 21): two values
// per byte, the first value in the low nibble; an odd count leaves the last
// high nibble zero.
//
//   std::vector<uint8_t> packed(PackedInt4Bytes(values.size()));
//   PackInt4(values.data(), values.size(), packed.data());
#ifndef PARE_CORE_INT4_H_
#define PARE_CORE_INT4_H_

#include <cstddef>
#include <cstdint>

namespace pare {

inline size_t PackedInt4Bytes(size_t count) { return (count + 1) / 2; }

// Packs signed values. REQUIRES: each value in [-8, 7]; dst holds
// PackedInt4Bytes(n) bytes.
void PackInt4(const int8_t* values, size_t n, uint8_t* dst);
// Packs unsigned values. REQUIRES: each value in [0, 15].
void PackUint4(const uint8_t* values, size_t n, uint8_t* dst);

// Unpack n values, sign-extending for int4.
void UnpackInt4(const uint8_t* packed, size_t n, int8_t* dst);
void UnpackUint4(const uint8_t* packed, size_t n, uint8_t* dst);

}  // namespace pare

#endif  // PARE_CORE_INT4_H_
