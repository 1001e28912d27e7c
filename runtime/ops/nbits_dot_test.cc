#include "runtime/ops/nbits_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace pare::runtime {
namespace {

// Every block size MatMulNBits allows, against a plain sum over unpacked
// codes, for whichever SIMD path this build selected and the portable one.
TEST(Dot4Blocks, MatchesAPlainSumForEveryBlockSize) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1, 1);
  for (int64_t block : {16, 32, 64, 128, 256}) {
    const int64_t k_blocks = 3, k = block * k_blocks - 5;  // a ragged tail
    std::vector<float> a(k), scales(k_blocks);
    std::vector<uint8_t> blobs(k_blocks * block / 2);
    for (float& v : a) v = value(rng);
    for (float& v : scales) v = value(rng);
    for (uint8_t& b : blobs) b = static_cast<uint8_t>(rng());
    double expected = 0;
    for (int64_t i = 0; i < k; ++i) {
      const uint8_t byte = blobs[i / 2];
      const int code = (i & 1) ? byte >> 4 : byte & 0x0f;
      expected += static_cast<double>(scales[i / block]) * a[i] * code;
    }
    const std::vector<float> split = SplitEvenOdd(a.data(), k, block);
    const double tolerance = 1e-5 * k;
    EXPECT_NEAR(Dot4Blocks(split.data(), blobs.data(), scales.data(), k_blocks, block), expected,
                tolerance)
        << "block " << block;
    EXPECT_NEAR(Dot4BlocksPortable(split.data(), blobs.data(), scales.data(), k_blocks, block),
                expected, tolerance)
        << "block " << block;
  }
}

}  // namespace
}  // namespace pare::runtime
