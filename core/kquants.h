// llama.cpp's K-quant super-blocks (Q2_K to Q6_K): 256 values per
// block, split into sub-blocks whose scales (and minimums) are themselves
// quantized against one float16 scale per super-block. These are the
// reference codecs behind the Q*_K rows of the format table
// (core/quant_format.h); each writes exactly the bytes llama.cpp's own
// reference quantizer (quantize_row_q*_K_ref) writes for the same values,
// checked byte for byte in core/kquants_llamacpp_test.cc.
//
// Layouts (little-endian float16 fields):
//  - Q2_K, 84 bytes: 16 bytes of 4-bit scale and minimum for 16 sub-blocks
//    of 16, 64 bytes of 2-bit codes, then d and dmin; x = d*sc*q - dmin*m.
//  - Q3_K, 110 bytes: 32 bytes of each code's third bit, 64 of low 2-bit
//    codes, 12 of 6-bit scales (offset 32) for 16 sub-blocks, then d;
//    x = d*sc*(q - 4).
//  - Q4_K, 144 bytes: d, dmin, 12 bytes of 6-bit scales and minimums for 8
//    sub-blocks of 32, then 128 bytes of 4-bit codes; x = d*sc*q - dmin*m.
//  - Q5_K, 176 bytes: as Q4_K, plus 32 bytes holding each code's fifth bit
//    before the low nibbles.
//  - Q6_K, 210 bytes: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16
//    int8 scales for sub-blocks of 16, then d; x = d*sc*(q - 32).
#ifndef PARE_CORE_KQUANTS_H_
#define PARE_CORE_KQUANTS_H_

#include <cstdint>

#include "core/block_grid.h"

namespace pare::kquants {

inline constexpr int kSuperBlock = 256;

void PackQ2K(const float* x, uint8_t* out);
void UnpackQ2K(const uint8_t* in, float* x);
void PackQ3K(const float* x, uint8_t* out);
void UnpackQ3K(const uint8_t* in, float* x);
void PackQ4K(const float* x, uint8_t* out);
// Q4_K and Q5_K fitted with an importance per value (an importance
// matrix's mean squares), as llama.cpp's quantizer does given an imatrix
// (not byte-identical to it: the sub-block scales are still quantized
// against the largest, as without one). A null importance is PackQ4K/Q5K.
void PackWeightedQ4K(const float* x, const float* importance, uint8_t* out);
void PackWeightedQ5K(const float* x, const float* importance, uint8_t* out);
void UnpackQ4K(const uint8_t* in, float* x);
void PackQ5K(const float* x, uint8_t* out);
void UnpackQ5K(const uint8_t* in, float* x);
void PackQ6K(const float* x, uint8_t* out);
void UnpackQ6K(const uint8_t* in, float* x);

// Each packed block's grid (block_grid.h), and its 256 codes (0 ..
// levels - 1, in element order) written into it with the scales kept.
void GridQ2K(const uint8_t* block, BlockGrid* g);
void SetCodesQ2K(const uint8_t* codes, uint8_t* block);
void GridQ3K(const uint8_t* block, BlockGrid* g);
void SetCodesQ3K(const uint8_t* codes, uint8_t* block);
void GridQ4K(const uint8_t* block, BlockGrid* g);
void SetCodesQ4K(const uint8_t* codes, uint8_t* block);
void GridQ5K(const uint8_t* block, BlockGrid* g);
void SetCodesQ5K(const uint8_t* codes, uint8_t* block);
void GridQ6K(const uint8_t* block, BlockGrid* g);
void SetCodesQ6K(const uint8_t* codes, uint8_t* block);

}  // namespace pare::kquants

#endif  // PARE_CORE_KQUANTS_H_
