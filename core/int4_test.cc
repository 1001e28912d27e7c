#include "core/int4.h"

#include <gtest/gtest.h>

#include <vector>

namespace pare {
namespace {

TEST(Int4, FirstValueGoesInTheLowNibble) {
  const int8_t values[] = {1, -2, 7};
  uint8_t packed[2] = {0xff, 0xff};
  PackInt4(values, 3, packed);
  EXPECT_EQ(packed[0], 0xe1);  // -2 = 0xe in the high nibble, 1 in the low
  EXPECT_EQ(packed[1], 0x07);  // odd count: high nibble of the last byte is zero
}

TEST(Int4, SignedRoundTripCoversTheWholeRangeWithOddCounts) {
  for (size_t n : {0, 1, 2, 15, 16, 17, 33}) {
    std::vector<int8_t> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = static_cast<int8_t>(static_cast<int>(i % 16) - 8);
    std::vector<uint8_t> packed(PackedInt4Bytes(n));
    PackInt4(values.data(), n, packed.data());
    std::vector<int8_t> back(n);
    UnpackInt4(packed.data(), n, back.data());
    EXPECT_EQ(back, values) << n;
  }
}

TEST(Int4, UnsignedRoundTrip) {
  std::vector<uint8_t> values = {0, 15, 8, 7, 1};
  std::vector<uint8_t> packed(PackedInt4Bytes(values.size()));
  PackUint4(values.data(), values.size(), packed.data());
  EXPECT_EQ(packed, (std::vector<uint8_t>{0xf0, 0x78, 0x01}));
  std::vector<uint8_t> back(values.size());
  UnpackUint4(packed.data(), values.size(), back.data());
  EXPECT_EQ(back, values);
}

}  // namespace
}  // namespace pare
