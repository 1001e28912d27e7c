#include "core/quant_format.h"

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "gtest/gtest.h"

namespace pare {
namespace {

// A fixed-block row's size follows from its other columns: codes, a
// float16 scale, a float16 minimum where it has one, and the sub-blocks'
// quantized scales (K-quants).
TEST(QuantFormat, FixedBlockSizesFollowFromTheColumns) {
  for (const QuantFormat& f : QuantFormats()) {
    if (!f.fixed_block()) continue;
    uint32_t bytes = static_cast<uint32_t>(f.block * f.bits / 8);
    if (f.scale == ScaleType::kFloat16) bytes += 2;
    if (f.zero == ZeroPoint::kMinimum) bytes += static_cast<uint32_t>(Info(f.zero_type).bits / 8);
    if (f.sub_block > 0)
      bytes += static_cast<uint32_t>(f.block / f.sub_block * f.sub_scale_bits / 8);
    EXPECT_EQ(f.bytes_per_block, bytes) << f.name;
    EXPECT_TRUE(f.Takes(f.bits)) << f.name;
    EXPECT_NE(f.pack, nullptr) << f.name;
    EXPECT_NE(f.unpack, nullptr) << f.name;
  }
}

TEST(QuantFormat, NamesAndGgmlIdsFindTheirRows) {
  for (const QuantFormat& f : QuantFormats()) {
    EXPECT_EQ(FindQuantFormat(f.name), &f);
    if (f.ggml_type >= 0) {
      EXPECT_EQ(FindGgmlFormat(f.ggml_type), &f);
    }
  }
  EXPECT_EQ(FindQuantFormat("q8_k"), nullptr);
  EXPECT_EQ(FindGgmlFormat(15), nullptr);
  EXPECT_TRUE(FindQuantFormat("matmulnbits")->Takes(2));
  EXPECT_FALSE(FindQuantFormat("dequantizelinear")->Takes(2));
}

// Each reference codec gives back every value within half a step of its
// block (codes are chosen before the scale is rounded to float16, so a
// little more than half).
TEST(QuantFormat, EveryCodecRoundTripsWithinHalfAStep) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = std::sin(0.7f * i) * (i % 5 + 1) - 0.3f;
  for (const QuantFormat& f : QuantFormats()) {
    if (!f.fixed_block()) continue;
    const int64_t n = f.block;
    std::vector<uint8_t> bytes(f.bytes_per_block);
    std::vector<float> back(static_cast<size_t>(n));
    for (int64_t i = 0; i < 256; i += n) {
      float lo = x[i], hi = x[i], amax = 0;
      for (int64_t j = 0; j < n; ++j) {
        lo = std::min(lo, x[i + j]), hi = std::max(hi, x[i + j]);
        amax = std::max(amax, std::fabs(x[i + j]));
      }
      f.pack(x.data() + i, bytes.data());
      f.unpack(bytes.data(), back.data());
      const double levels = (1 << f.bits) - 1;  // kMinimum: the whole code range
      const double step = f.bits >= 16                    ? std::fabs(x[i]) * 1e-3
                          : f.zero == ZeroPoint::kMinimum ? (hi - lo) / levels
                                                          : amax / ((1 << (f.bits - 1)) - 1);
      // Q4_0 maps the signed extreme to code 0, so the other sign reaches
      // one step less; K-quants' sub-block scales are themselves rounded.
      const double tolerance =
          (f.sub_block > 0 || f.zero == ZeroPoint::kMidpoint ? 1.01 : 0.6) * step + 1e-6;
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_NEAR(back[j], x[i + j], tolerance) << f.name << " element " << i + j;
      }
    }
  }
}

// Q4_0 as llama.cpp lays it out: element j in the low nibble of byte j,
// element j + 16 in the high nibble, codes offset by 8.
// A packed block's grid decodes its codes to what unpack gives, and codes
// written back with set_codes leave the block's bytes as they were.
TEST(QuantFormat, GridsDescribeEveryQuantizedBlock) {
  for (const QuantFormat& f : QuantFormats()) {
    if (!f.fixed_block() || f.block == 1) continue;
    ASSERT_NE(f.grid, nullptr) << f.name;
    ASSERT_NE(f.set_codes, nullptr) << f.name;
    std::vector<float> x(static_cast<size_t>(f.block)), decoded(x.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * (1 + (i % 7)) - 0.3f;
    std::vector<uint8_t> block(f.bytes_per_block), rewritten;
    f.pack(x.data(), block.data());
    f.unpack(block.data(), decoded.data());
    BlockGrid g;
    f.grid(block.data(), &g);
    ASSERT_GT(g.sub, 0) << f.name;
    std::vector<uint8_t> codes(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const int s = static_cast<int>(i) / g.sub;
      codes[i] = static_cast<uint8_t>(g.Nearest(s, decoded[i]));
      EXPECT_NEAR(g.Value(s, codes[i]), decoded[i], 1e-5f * (1 + std::fabs(decoded[i])))
          << f.name << " value " << i;
    }
    rewritten = block;
    f.set_codes(codes.data(), rewritten.data());
    EXPECT_EQ(rewritten, block) << f.name;
  }
}

TEST(QuantFormat, Q4_0NibblesAreLlamaCppsLayout) {
  std::vector<float> x(32, 0.0f);
  x[0] = -8.0f;  // the extreme: scale 1, code 0
  x[16] = 7.0f;  // code 15
  std::vector<uint8_t> bytes(18);
  FindQuantFormat("q4_0")->pack(x.data(), bytes.data());
  EXPECT_EQ(bytes[0], 0x00);  // float16 1.0 = 0x3c00, little-endian
  EXPECT_EQ(bytes[1], 0x3c);
  EXPECT_EQ(bytes[2], 0xf0);  // element 0 code 0, element 16 code 15
  EXPECT_EQ(bytes[3], 0x88);  // zeros are code 8
}

TEST(QuantFormat, BlockwiseBytesCountCodesScalesAndZeros) {
  // int4, block 32, a [64, 32] weight: 2 blocks per column of 16 code bytes
  // and a 4-byte scale; packed 4-bit zero points add one byte per column.
  EXPECT_EQ(BlockwiseBytes(4, 32, 64, 32, 4, false), 32u * (2 * 16 + 2 * 4));
  EXPECT_EQ(BlockwiseBytes(4, 32, 64, 32, 4, true), 32u * (2 * 16 + 2 * 4 + 1));
  // A ragged last block is padded: k = 40 still makes 2 blocks.
  EXPECT_EQ(BlockwiseBytes(4, 32, 40, 1, 2, false), 2u * 16 + 2 * 2);
}

}  // namespace
}  // namespace pare
