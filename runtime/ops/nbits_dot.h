// The inner product at the heart of 4-bit MatMulNBits: one column of packed
// weights against one row of activations, block by block, with SIMD paths
// (AVX-512, AVX2) and a portable loop for everything else.
#ifndef PARE_RUNTIME_OPS_NBITS_DOT_H_
#define PARE_RUNTIME_OPS_NBITS_DOT_H_

#include <cstdint>
#include <vector>

namespace pare::runtime {

// `a` (k values) rearranged for 4-bit blobs: within each block of `block`
// values, the values at even positions and then those at odd positions,
// zero-padded to whole blocks. Byte q of a blob holds codes 2q (low nibble)
// and 2q+1 (high nibble), so low nibbles pair with the even half and high
// nibbles with the odd half, and the dot product needs no shuffles.
std::vector<float> SplitEvenOdd(const float* a, int64_t k, int64_t block);

// sum over blocks b of scales[b] * sum_j split_b[j] * code_b[j], where
// blobs holds k_blocks blobs of block / 2 bytes. block: a power of two >= 16.
float Dot4Blocks(const float* split, const uint8_t* blobs, const float* scales, int64_t k_blocks,
                 int64_t block);

// The same sum by the portable loop: the reference the SIMD paths must match.
float Dot4BlocksPortable(const float* split, const uint8_t* blobs, const float* scales,
                         int64_t k_blocks, int64_t block);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_NBITS_DOT_H_
