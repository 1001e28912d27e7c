// Block-wise weight quantization arithmetic (2 to 8 bits) for weight-only
// quantization of MatMul weights: W is [K, N] (MatMul's B), and each column
// is cut along K into blocks that share one scale and one zero point.
//
//   BlockSpec spec{.bits = 4, .block = 32, .symmetric = true};
//   BlockQuantized q = QuantizeRtn(w.data(), k, n, spec);
//   float x = q.Dequantize(row, col);
//
// Dequantization is always (code - zero) * scale, codes in [0, 2^bits - 1].
// Symmetric blocks use zero = 2^(bits-1) and scale = v / -2^(bits-1) where
// v is the block's value of largest magnitude (so v is exact, as llama.cpp's
// Q4_0 does it); asymmetric blocks map [min, max] (widened to include 0)
// onto the whole code range with an integer zero (HQQ refines the zero to
// any real value).
#ifndef PARE_QUANTIZE_BLOCKWISE_H_
#define PARE_QUANTIZE_BLOCKWISE_H_

#include <cstdint>
#include <vector>

namespace pare::quantize {

struct BlockSpec {
  int bits = 4;
  int64_t block = 32;
  bool symmetric = true;
  bool fp16_scales = false;  // round scales to float16 values (stored as float)
};

struct BlockQuantized {
  int64_t k = 0, n = 0, blocks = 0;  // blocks = ceil(k / block) per column
  BlockSpec spec;
  std::vector<uint8_t> codes;  // [n][k], one code per byte
  std::vector<float> scales;   // [n][blocks]
  std::vector<float> zeros;    // [n][blocks]

  BlockQuantized(int64_t k, int64_t n, const BlockSpec& spec);
  float Scale(int64_t row, int64_t col) const { return scales[col * blocks + row / spec.block]; }
  float Zero(int64_t row, int64_t col) const { return zeros[col * blocks + row / spec.block]; }
  uint8_t& Code(int64_t row, int64_t col) { return codes[col * k + row]; }
  float Dequantize(int64_t row, int64_t col) const {
    return (codes[col * k + row] - Zero(row, col)) * Scale(row, col);
  }
  // The whole weight back in [K, N] float.
  std::vector<float> DequantizeAll() const;
  // Whether every zero is an integer (false after HQQ).
  bool IntegerZeros() const;
};

int MaxCode(int bits);

// Scale and zero of one block: `count` values `stride` apart.
void ChooseBlockParams(const float* values, int64_t count, int64_t stride, const BlockSpec& spec,
                       float* scale, float* zero);

// round(x / scale + zero) saturated to [0, MaxCode].
uint8_t QuantizeCode(float x, float scale, float zero, int bits);

// Round-to-nearest of w [k, n] (row-major) with per-block parameters.
BlockQuantized QuantizeRtn(const float* w, int64_t k, int64_t n, const BlockSpec& spec);

// HQQ (half-quadratic quantization, Badri & Shaji 2023): starting from RTN,
// alternates a sparse error estimate (generalized soft thresholding of
// W - dequant(W) under an lp norm, p < 1) with the closed-form zero that
// best explains what is left; scales stay fixed. Calibration-free.
// REQUIRES: !spec.symmetric.
struct HqqOptions {
  int iterations = 20;
  float p = 0.7f;
  float beta = 10.0f;  // the penalty, multiplied by kappa after each step
  float kappa = 1.01f;
};
BlockQuantized QuantizeHqq(const float* w, int64_t k, int64_t n, const BlockSpec& spec,
                           const HqqOptions& options = {});

// SQNR of the dequantized weight against w, in dB (inf when exact).
double ReconstructionSqnrDb(const float* w, const BlockQuantized& q);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_BLOCKWISE_H_
