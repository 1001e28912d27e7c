#include "runtime/ops/nbits_dot.h"

#include <cstddef>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace pare::runtime {
namespace {

float PortableDot(const float* split, const uint8_t* blobs, const float* scales, int64_t k_blocks,
                  int64_t block) {
  // Eight independent lanes: vertical sums vectorize without reassociation.
  constexpr int kLanes = 8;
  float acc[kLanes] = {};
  const int64_t half = block / 2;
  for (int64_t kb = 0; kb < k_blocks; ++kb) {
    const float* even = split + kb * block;
    const float* odd = even + half;
    const uint8_t* blob = blobs + kb * half;
    float block_acc[kLanes] = {};
    for (int64_t q0 = 0; q0 < half; q0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const uint8_t byte = blob[q0 + l];
        block_acc[l] += even[q0 + l] * static_cast<float>(byte & 0x0f) +
                        odd[q0 + l] * static_cast<float>(byte >> 4);
      }
    }
    for (int l = 0; l < kLanes; ++l) acc[l] += scales[kb] * block_acc[l];
  }
  float sum = 0;
  for (float v : acc) sum += v;
  return sum;
}

#if defined(__AVX2__) && defined(__FMA__)
float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// Eight codes at a time: 8 bytes give 8 low and 8 high nibbles.
float Avx2Dot(const float* split, const uint8_t* blobs, const float* scales, int64_t k_blocks,
              int64_t block) {
  const int64_t half = block / 2;
  const __m128i mask = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t kb = 0; kb < k_blocks; ++kb) {
    const float* even = split + kb * block;
    const float* odd = even + half;
    const uint8_t* blob = blobs + kb * half;
    __m256 block_acc = _mm256_setzero_ps();
    for (int64_t q = 0; q < half; q += 8) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blob + q));
      const __m128i lo = _mm_and_si128(bytes, mask);
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
      block_acc = _mm256_fmadd_ps(_mm256_loadu_ps(even + q),
                                  _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), block_acc);
      block_acc = _mm256_fmadd_ps(_mm256_loadu_ps(odd + q),
                                  _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), block_acc);
    }
    acc = _mm256_fmadd_ps(block_acc, _mm256_set1_ps(scales[kb]), acc);
  }
  return HorizontalSum(acc);
}
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Sixteen codes at a time; needs block / 2 to be a multiple of 16.
float Avx512Dot(const float* split, const uint8_t* blobs, const float* scales, int64_t k_blocks,
                int64_t block) {
  const int64_t half = block / 2;
  const __m128i mask = _mm_set1_epi8(0x0f);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t kb = 0; kb < k_blocks; ++kb) {
    const float* even = split + kb * block;
    const float* odd = even + half;
    const uint8_t* blob = blobs + kb * half;
    __m512 block_acc = _mm512_setzero_ps();
    for (int64_t q = 0; q < half; q += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blob + q));
      const __m128i lo = _mm_and_si128(bytes, mask);
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
      block_acc = _mm512_fmadd_ps(_mm512_loadu_ps(even + q),
                                  _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(lo)), block_acc);
      block_acc = _mm512_fmadd_ps(_mm512_loadu_ps(odd + q),
                                  _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(hi)), block_acc);
    }
    acc = _mm512_fmadd_ps(block_acc, _mm512_set1_ps(scales[kb]), acc);
  }
  return _mm512_reduce_add_ps(acc);
}
#endif

}  // namespace

std::vector<float> SplitEvenOdd(const float* a, int64_t k, int64_t block) {
  const int64_t blocks = (k + block - 1) / block, half = block / 2;
  std::vector<float> out(static_cast<std::size_t>(blocks * block), 0.0f);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i % block;
    out[(i - j) + (j & 1) * half + j / 2] = a[i];
  }
  return out;
}

float Dot4BlocksPortable(const float* split, const uint8_t* blobs, const float* scales,
                         int64_t k_blocks, int64_t block) {
  return PortableDot(split, blobs, scales, k_blocks, block);
}

float Dot4Blocks(const float* split, const uint8_t* blobs, const float* scales, int64_t k_blocks,
                 int64_t block) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if (block % 32 == 0) return Avx512Dot(split, blobs, scales, k_blocks, block);
#endif
#if defined(__AVX2__) && defined(__FMA__)
  return Avx2Dot(split, blobs, scales, k_blocks, block);
#else
  return PortableDot(split, blobs, scales, k_blocks, block);
#endif
}

}  // namespace pare::runtime
