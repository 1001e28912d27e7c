#include "core/quant_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "core/float16.h"
#include "core/kquants.h"

namespace pare {
namespace {

constexpr int64_t kGgmlBlock = 32;

void PackF32(const float* x, uint8_t* out) { std::memcpy(out, x, 4); }
void UnpackF32(const uint8_t* in, float* x) { std::memcpy(x, in, 4); }
void PackF16(const float* x, uint8_t* out) { StoreFloat16LE(*x, out); }
void UnpackF16(const uint8_t* in, float* x) { *x = LoadFloat16LE(in); }

// Q8_0: a float16 scale absmax / 127, then 32 int8 codes.
void PackQ8_0(const float* x, uint8_t* out) {
  float amax = 0;
  for (int64_t i = 0; i < kGgmlBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  StoreFloat16LE(d, out);
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    // Half away from zero, as llama.cpp's roundf (not the FPU's half to even).
    out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[i] * id)));
  }
}

void UnpackQ8_0(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in);
  for (int64_t i = 0; i < kGgmlBlock; ++i) x[i] = static_cast<int8_t>(in[2 + i]) * d;
}

// 32 4-bit codes: element j in the low nibble of byte j, element j + 16 in
// its high nibble.
template <typename Code>
void PutNibbles(Code code, const float* x, uint8_t* out) {
  for (int64_t j = 0; j < kGgmlBlock / 2; ++j) {
    out[j] = static_cast<uint8_t>(code(x[j]) | (code(x[j + kGgmlBlock / 2]) << 4));
  }
}

// Symmetric blocks: d = the signed extreme / -levels, stored as float16;
// returns 1/d (0 for an all-zero block), which codes are computed with.
float StoreExtremeScale(const float* x, float levels, uint8_t* out) {
  float extreme = 0;
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
  }
  const float d = extreme / -levels;
  StoreFloat16LE(d, out);
  return d != 0 ? 1.0f / d : 0.0f;
}

// Blocks with a minimum: d = (max - min) / levels and the minimum, stored
// as float16; returns 1/d and the minimum.
float StoreRangeScale(const float* x, float levels, uint8_t* out, float* lo) {
  float low = x[0], hi = x[0];
  for (int64_t i = 1; i < kGgmlBlock; ++i) low = std::min(low, x[i]), hi = std::max(hi, x[i]);
  const float d = (hi - low) / levels;
  StoreFloat16LE(d, out);
  StoreFloat16LE(low, out + 2);
  *lo = low;
  return d != 0 ? 1.0f / d : 0.0f;
}

// Q4_0: a float16 scale (the signed extreme / -8), then the codes with an
// implicit offset of 8, so the extreme itself is exact.
void PackQ4_0(const float* x, uint8_t* out) {
  const float id = StoreExtremeScale(x, 8.0f, out);
  PutNibbles([&](float v) { return std::min(15, static_cast<int>(v * id + 8.5f)); }, x, out + 2);
}

void UnpackQ4_0(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in);
  for (int64_t j = 0; j < kGgmlBlock / 2; ++j) {
    x[j] = ((in[2 + j] & 0x0f) - 8) * d;
    x[j + kGgmlBlock / 2] = ((in[2 + j] >> 4) - 8) * d;
  }
}

// Q4_1: float16 scale (max - min) / 15 and minimum, then the codes.
void PackQ4_1(const float* x, uint8_t* out) {
  float lo;
  const float id = StoreRangeScale(x, 15.0f, out, &lo);
  PutNibbles([&](float v) { return std::min(15, static_cast<int>((v - lo) * id + 0.5f)); }, x,
             out + 4);
}

void UnpackQ4_1(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in), m = LoadFloat16LE(in + 2);
  for (int64_t j = 0; j < kGgmlBlock / 2; ++j) {
    x[j] = (in[4 + j] & 0x0f) * d + m;
    x[j + kGgmlBlock / 2] = (in[4 + j] >> 4) * d + m;
  }
}

// Q5_0/Q5_1's fifth bits: element j's in bit j of a little-endian uint32
// after the scale(s), then the low nibbles as Q4_0 lays them out.
void PutFiveBitCodes(const uint8_t* codes, uint8_t* qh, uint8_t* qs) {
  uint32_t high = 0;
  for (int64_t j = 0; j < kGgmlBlock / 2; ++j) {
    const uint8_t c0 = codes[j], c1 = codes[j + kGgmlBlock / 2];
    qs[j] = static_cast<uint8_t>((c0 & 0x0f) | ((c1 & 0x0f) << 4));
    high |= static_cast<uint32_t>((c0 & 0x10u) >> 4) << j;
    high |= static_cast<uint32_t>((c1 & 0x10u) >> 4) << (j + kGgmlBlock / 2);
  }
  for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(high >> (8 * b));
}

int FiveBitCode(const uint8_t* qh, const uint8_t* qs, int64_t e) {
  const uint32_t high = qh[0] | (qh[1] << 8) | (qh[2] << 16) | (static_cast<uint32_t>(qh[3]) << 24);
  const int low = e < kGgmlBlock / 2 ? qs[e] & 0x0f : qs[e - kGgmlBlock / 2] >> 4;
  return low | static_cast<int>(((high >> e) & 1) << 4);
}

// Q5_0: a float16 scale (signed extreme / -16), codes offset by 16.
void PackQ5_0(const float* x, uint8_t* out) {
  const float id = StoreExtremeScale(x, 16.0f, out);
  uint8_t codes[kGgmlBlock];
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    codes[i] = static_cast<uint8_t>(
        std::min(31, static_cast<int>(static_cast<int8_t>(x[i] * id + 16.5f))));
  }
  PutFiveBitCodes(codes, out + 2, out + 6);
}

void UnpackQ5_0(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in);
  for (int64_t e = 0; e < kGgmlBlock; ++e) x[e] = (FiveBitCode(in + 2, in + 6, e) - 16) * d;
}

// Q5_1: float16 scale (max - min) / 31 and minimum, then the codes.
void PackQ5_1(const float* x, uint8_t* out) {
  float lo;
  const float id = StoreRangeScale(x, 31.0f, out, &lo);
  uint8_t codes[kGgmlBlock];
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    codes[i] = static_cast<uint8_t>((x[i] - lo) * id + 0.5f);
  }
  PutFiveBitCodes(codes, out + 4, out + 8);
}

void UnpackQ5_1(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in), m = LoadFloat16LE(in + 2);
  for (int64_t e = 0; e < kGgmlBlock; ++e) x[e] = FiveBitCode(in + 4, in + 8, e) * d + m;
}

// The legacy blocks' grids: one scale over the 32 values.
void OneScaleGrid(float step, float offset, int levels, BlockGrid* g) {
  g->sub = static_cast<int>(kGgmlBlock);
  g->levels = levels;
  g->step[0] = step;
  g->offset[0] = offset;
}

void GridQ8_0(const uint8_t* in, BlockGrid* g) {
  const float d = LoadFloat16LE(in);
  OneScaleGrid(d, -128 * d, 256, g);  // code c is the int8 c - 128
}

void SetCodesQ8_0(const uint8_t* codes, uint8_t* out) {
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(codes[i] - 128));
  }
}

void PutNibbleCodes(const uint8_t* codes, uint8_t* out) {
  for (int64_t j = 0; j < kGgmlBlock / 2; ++j) {
    out[j] = static_cast<uint8_t>(codes[j] | (codes[j + kGgmlBlock / 2] << 4));
  }
}

void GridQ4_0(const uint8_t* in, BlockGrid* g) {
  const float d = LoadFloat16LE(in);
  OneScaleGrid(d, -8 * d, 16, g);
}
void SetCodesQ4_0(const uint8_t* codes, uint8_t* out) { PutNibbleCodes(codes, out + 2); }
void GridQ4_1(const uint8_t* in, BlockGrid* g) {
  OneScaleGrid(LoadFloat16LE(in), LoadFloat16LE(in + 2), 16, g);
}
void SetCodesQ4_1(const uint8_t* codes, uint8_t* out) { PutNibbleCodes(codes, out + 4); }
void GridQ5_0(const uint8_t* in, BlockGrid* g) {
  const float d = LoadFloat16LE(in);
  OneScaleGrid(d, -16 * d, 32, g);
}
void SetCodesQ5_0(const uint8_t* codes, uint8_t* out) { PutFiveBitCodes(codes, out + 2, out + 6); }
void GridQ5_1(const uint8_t* in, BlockGrid* g) {
  OneScaleGrid(LoadFloat16LE(in), LoadFloat16LE(in + 2), 32, g);
}
void SetCodesQ5_1(const uint8_t* codes, uint8_t* out) { PutFiveBitCodes(codes, out + 4, out + 8); }

// Importance-weighted packing of the one-scale blocks (llama.cpp's
// quantize_row_*_impl counterpart): of candidate grids around the
// reference one, the one with the least sum of w * (x - decoded)^2, every
// code nearest on it. Symmetric blocks (`mid` > 0: value = d * (c - mid))
// try scales around the signed extreme's; blocks with a minimum (mid == 0:
// value = d * c + m) also refit d and m by weighted least squares for each
// trial's codes. The float16 rounding of d and m is part of each trial.
struct OneScaleLayout {
  int levels, mid;
  void (*set_codes)(const uint8_t* codes, uint8_t* block);
  void (*pack)(const float* x, uint8_t* block);  // the reference, whose grid is a candidate
};

float Half(float v) { return Float16ToFloat32(Float32ToFloat16(v)); }

float TrialError(const OneScaleLayout& l, const float* x, const float* w, float d, float m,
                 uint8_t* codes) {
  BlockGrid g;
  OneScaleGrid(d, l.mid > 0 ? -l.mid * d : m, l.levels, &g);
  float error = 0;
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    codes[i] = static_cast<uint8_t>(g.Nearest(0, x[i]));
    const float diff = x[i] - g.Value(0, codes[i]);
    error += w[i] * diff * diff;
  }
  return error;
}

// d and m fitted to x by weighted least squares for fixed codes.
bool RefitScaleAndMinimum(const float* x, const float* w, const uint8_t* codes, float* d,
                          float* m) {
  double sw = 0, sc = 0, scc = 0, sx = 0, scx = 0;
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    sw += w[i], sc += w[i] * codes[i], scc += w[i] * codes[i] * codes[i];
    sx += w[i] * x[i], scx += w[i] * codes[i] * x[i];
  }
  const double det = sw * scc - sc * sc;
  if (det <= 0) return false;
  *d = static_cast<float>((sw * scx - sc * sx) / det);
  *m = static_cast<float>((scc * sx - sc * scx) / det);
  return true;
}

void PackWeightedOneScale(const OneScaleLayout& l, const float* x, const float* w, uint8_t* out) {
  float lo = x[0], hi = x[0], extreme = 0;
  for (int64_t i = 0; i < kGgmlBlock; ++i) {
    lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
  }
  const float base = l.mid > 0 ? extreme / -static_cast<float>(l.mid) : (hi - lo) / (l.levels - 1);
  uint8_t codes[kGgmlBlock], trial[kGgmlBlock];
  float best = -1, best_d = 0, best_m = 0;
  auto consider = [&](float d, float m) {
    d = Half(d), m = Half(m);
    const float error = TrialError(l, x, w, d, m, trial);
    if (best < 0 || error < best) {
      best = error, best_d = d, best_m = m;
      std::memcpy(codes, trial, sizeof(codes));
    }
  };
  // The reference codec's own grid (d, then m, as float16 at the block's
  // start) is a candidate, so the search never does worse by its measure.
  uint8_t reference[34];
  l.pack(x, reference);
  consider(LoadFloat16LE(reference), l.mid > 0 ? 0.f : LoadFloat16LE(reference + 2));
  for (int step = -12; step <= 12; ++step) {
    const float d = base * (1 + 0.02f * step);
    consider(d, lo);
    if (l.mid > 0) continue;
    float rd = 0, rm = 0;
    TrialError(l, x, w, Half(d), Half(lo), trial);
    if (RefitScaleAndMinimum(x, w, trial, &rd, &rm) && rd > 0) consider(rd, rm);
  }
  StoreFloat16LE(best_d, out);
  if (l.mid == 0) StoreFloat16LE(best_m, out + 2);
  l.set_codes(codes, out);
}

void PackWeightedQ8_0(const float* x, const float* w, uint8_t* out) {
  PackWeightedOneScale({256, 128, SetCodesQ8_0, PackQ8_0}, x, w, out);
}
void PackWeightedQ4_0(const float* x, const float* w, uint8_t* out) {
  PackWeightedOneScale({16, 8, SetCodesQ4_0, PackQ4_0}, x, w, out);
}
void PackWeightedQ4_1(const float* x, const float* w, uint8_t* out) {
  PackWeightedOneScale({16, 0, SetCodesQ4_1, PackQ4_1}, x, w, out);
}
void PackWeightedQ5_0(const float* x, const float* w, uint8_t* out) {
  PackWeightedOneScale({32, 16, SetCodesQ5_0, PackQ5_0}, x, w, out);
}
void PackWeightedQ5_1(const float* x, const float* w, uint8_t* out) {
  PackWeightedOneScale({32, 0, SetCodesQ5_1, PackQ5_1}, x, w, out);
}

constexpr uint64_t Bits(std::initializer_list<int> widths) {
  uint64_t mask = 0;
  for (int b : widths) mask |= uint64_t{1} << b;
  return mask;
}

constexpr DataType kNoType = DataType::kUndefined;

const QuantFormat kFormats[] = {
    {"f32", 32, Bits({32}), 1, ScaleType::kNone, ZeroPoint::kNone, kNoType, 4, 0, 0, 0, 0, PackF32,
     UnpackF32, nullptr, nullptr, nullptr},
    {"f16", 16, Bits({16}), 1, ScaleType::kNone, ZeroPoint::kNone, kNoType, 2, 0, 0, 1, 1, PackF16,
     UnpackF16, nullptr, nullptr, nullptr},
    {"q8_0", 8, Bits({8}), kGgmlBlock, ScaleType::kFloat16, ZeroPoint::kNone, kNoType, 34, 0, 0, 8,
     7, PackQ8_0, UnpackQ8_0, GridQ8_0, SetCodesQ8_0, PackWeightedQ8_0},
    {"q4_0", 4, Bits({4}), kGgmlBlock, ScaleType::kFloat16, ZeroPoint::kMidpoint, kNoType, 18, 0, 0,
     2, 2, PackQ4_0, UnpackQ4_0, GridQ4_0, SetCodesQ4_0, PackWeightedQ4_0},
    {"q4_1", 4, Bits({4}), kGgmlBlock, ScaleType::kFloat16, ZeroPoint::kMinimum, DataType::kFloat16,
     20, 0, 0, 3, 3, PackQ4_1, UnpackQ4_1, GridQ4_1, SetCodesQ4_1, PackWeightedQ4_1},
    // Q5_0/Q5_1: blocks of 32 with 5-bit codes (llama.cpp's file types 8
    // and 9); llama.cpp's K-quant files use them for rows too narrow for
    // super-blocks.
    {"q5_0", 5, Bits({5}), kGgmlBlock, ScaleType::kFloat16, ZeroPoint::kMidpoint, kNoType, 22, 0, 0,
     6, 8, PackQ5_0, UnpackQ5_0, GridQ5_0, SetCodesQ5_0, PackWeightedQ5_0},
    {"q5_1", 5, Bits({5}), kGgmlBlock, ScaleType::kFloat16, ZeroPoint::kMinimum, DataType::kFloat16,
     24, 0, 0, 7, 9, PackQ5_1, UnpackQ5_1, GridQ5_1, SetCodesQ5_1, PackWeightedQ5_1},
    // K-quants: 256-value super-blocks (core/kquants.h). Q4_K/Q5_K: 8
    // sub-blocks of 32 with 6-bit scales and minimums under float16 d and
    // dmin; Q6_K: 16 sub-blocks of 16 with int8 scales under one float16 d,
    // codes offset by 32. llama.cpp's file types: Q4_K_S 14, Q5_K_S 16, Q6_K 18.
    // Q2_K: 16 sub-blocks of 16 with 4-bit scales and minimums (file type
    // 10); Q3_K: 16 sub-blocks of 16 with 6-bit scales, codes offset by 4
    // (Q3_K_S 11).
    {"q2_k", 2, Bits({2}), kquants::kSuperBlock, ScaleType::kFloat16, ZeroPoint::kMinimum,
     DataType::kFloat16, 84, 16, 8, 10, 10, kquants::PackQ2K, kquants::UnpackQ2K, kquants::GridQ2K,
     kquants::SetCodesQ2K, nullptr},
    {"q3_k", 3, Bits({3}), kquants::kSuperBlock, ScaleType::kFloat16, ZeroPoint::kMidpoint, kNoType,
     110, 16, 6, 11, 11, kquants::PackQ3K, kquants::UnpackQ3K, kquants::GridQ3K,
     kquants::SetCodesQ3K, nullptr},
    {"q4_k", 4, Bits({4}), kquants::kSuperBlock, ScaleType::kFloat16, ZeroPoint::kMinimum,
     DataType::kFloat16, 144, 32, 12, 12, 14, kquants::PackQ4K, kquants::UnpackQ4K,
     kquants::GridQ4K, kquants::SetCodesQ4K, kquants::PackWeightedQ4K},
    {"q5_k", 5, Bits({5}), kquants::kSuperBlock, ScaleType::kFloat16, ZeroPoint::kMinimum,
     DataType::kFloat16, 176, 32, 12, 13, 16, kquants::PackQ5K, kquants::UnpackQ5K,
     kquants::GridQ5K, kquants::SetCodesQ5K, kquants::PackWeightedQ5K},
    {"q6_k", 6, Bits({6}), kquants::kSuperBlock, ScaleType::kFloat16, ZeroPoint::kMidpoint, kNoType,
     210, 16, 8, 14, 18, kquants::PackQ6K, kquants::UnpackQ6K, kquants::GridQ6K,
     kquants::SetCodesQ6K, nullptr},
    // com.microsoft MatMulNBits: codes [N, blocks, block * bits / 8], scales
    // in the activations' type, zero points packed uint8 (or float, HQQ).
    {"matmulnbits", 8, Bits({2, 4, 8}), 0, ScaleType::kModelFloat, ZeroPoint::kCode,
     DataType::kUint8, 0, 0, 0, -1, -1, nullptr, nullptr, nullptr, nullptr, nullptr},
    // Opset-21 DequantizeLinear with block_size over int4/int8 (symmetric)
    // or uint4/uint8 codes with a zero point.
    {"dequantizelinear", 8, Bits({4, 8}), 0, ScaleType::kModelFloat, ZeroPoint::kCode,
     DataType::kUint8, 0, 0, 0, -1, -1, nullptr, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace

absl::Span<const QuantFormat> QuantFormats() { return kFormats; }

int BlockGrid::Nearest(int s, float x) const {
  if (step[s] == 0) return 0;
  const float c = std::nearbyint((x - offset[s]) / step[s]);
  return static_cast<int>(std::clamp(c, 0.0f, static_cast<float>(levels - 1)));
}

const QuantFormat* FindQuantFormat(std::string_view name) {
  for (const QuantFormat& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const QuantFormat* FindGgmlFormat(int32_t ggml_type) {
  for (const QuantFormat& f : kFormats) {
    if (f.ggml_type >= 0 && f.ggml_type == ggml_type) return &f;
  }
  return nullptr;
}

uint64_t FixedFormatBytes(const QuantFormat& f, uint64_t elements) {
  return elements / static_cast<uint64_t>(f.block) * f.bytes_per_block;
}

uint64_t BlockwiseBytes(int bits, int64_t block, int64_t k, int64_t n, int scale_bytes,
                        bool zero_points) {
  const uint64_t blocks = static_cast<uint64_t>((k + block - 1) / block);
  const uint64_t codes = blocks * static_cast<uint64_t>(block) * bits / 8;  // padded blocks
  const uint64_t zeros = zero_points ? (blocks * bits + 7) / 8 : 0;
  return static_cast<uint64_t>(n) * (codes + blocks * static_cast<uint64_t>(scale_bytes) + zeros);
}

}  // namespace pare
