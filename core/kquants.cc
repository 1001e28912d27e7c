#include "core/kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/float16.h"

// Bit-compatibility with llama.cpp needs the same float operations in the
// same order: this file is built with -ffp-contract=off (core/CMakeLists.txt)
// so no multiply-add is fused where llama.cpp's portable build does not.
namespace pare::kquants {
namespace {

constexpr float kAllZero = 1e-15f;  // a sub-block with nothing larger is zero

// Round half to even, as the FPU's default mode does (llama.cpp's
// nearest_int adds 1.5 * 2^23 for the same result).
int Round(float v) { return static_cast<int>(std::nearbyint(v)); }

// Codes 0..nmax for n values with scale and minimum chosen to minimize the
// weighted squared error: start from the [min, max] grid, then try nstep+1
// slightly different grids (rmin + rdelta * step levels beyond nmax), each
// refit by weighted least squares for scale and minimum. Returns the scale;
// `minimum` gets the (non-negative) amount subtracted, x = scale * q - minimum.
float FitScaleAndMinimum(int n, int nmax, const float* x, const float* w, uint8_t* codes,
                         float* minimum, float rmin, float rdelta, int nstep,
                         bool absolute = false) {
  // The error of one value: squared, or absolute (Q2_K).
  auto cost = [absolute](float diff) { return absolute ? std::fabs(diff) : diff * diff; };
  float lo = x[0], hi = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    std::fill(codes, codes + n, 0);
    *minimum = -lo;
    return 0.0f;
  }
  float iscale = nmax / (hi - lo);
  float scale = 1 / iscale;
  float best = 0;
  for (int i = 0; i < n; ++i) {
    codes[i] = static_cast<uint8_t>(std::clamp(Round(iscale * (x[i] - lo)), 0, nmax));
    const float diff = scale * codes[i] + lo - x[i];
    best += w[i] * cost(diff);
  }
  uint8_t trial[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(Round(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * trial[i] + this_min - x[i];
      error += w[i] * cost(diff);
    }
    if (error < best) {
      std::memcpy(codes, trial, static_cast<size_t>(n));
      best = error;
      scale = this_scale;
      lo = this_min;
    }
  }
  *minimum = -lo;
  return scale;
}

// Q4_K/Q5_K's 12 scale bytes: sub-blocks 0-3 keep 6-bit scale and minimum
// in bytes 0-3 and 4-7; sub-blocks 4-7 keep their low nibbles in bytes 8-11
// and their top two bits in the spare top bits of bytes 0-7.
void PutScaleAndMin(int j, uint8_t scale, uint8_t min, uint8_t* s) {
  if (j < 4) {
    s[j] = scale;
    s[j + 4] = min;
    return;
  }
  s[j + 4] = static_cast<uint8_t>((scale & 0xf) | ((min & 0xf) << 4));
  s[j - 4] |= static_cast<uint8_t>((scale >> 4) << 6);
  s[j] |= static_cast<uint8_t>((min >> 4) << 6);
}

void GetScaleAndMin(int j, const uint8_t* s, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
    return;
  }
  *scale = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
  *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
}

// Q4_K and Q5_K share everything but the code width: 8 sub-blocks of 32
// fitted with importance |x| + rms, their scales and minimums quantized to
// 6 bits against the largest, then every code re-rounded on the final grid.
// Writes d, dmin and the scale bytes to `head`, the codes to `codes`.
//
// With `importance` (one per value: an importance matrix's mean squares,
// or a Hessian diagonal), each value's weight is its importance times
// sqrt(sigma^2 + x^2), sigma^2 twice the super-block's mean square, as
// llama.cpp weighs its fit when given an imatrix.
void QuantizeScaledMin(const float* x, int nmax, float rmin, int nstep, uint8_t* head,
                       uint8_t* codes, const float* importance = nullptr) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  float sigma2 = 0;
  for (int l = 0; l < kSuperBlock; ++l) sigma2 += x[l] * x[l];
  sigma2 = 2 * sigma2 / kSuperBlock;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float rms = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) {
      weights[l] = importance ? importance[32 * j + l] * std::sqrt(sigma2 + xs[l] * xs[l])
                              : rms + std::fabs(xs[l]);
    }
    scales[j] =
        FitScaleAndMinimum(32, nmax, xs, weights, codes + 32 * j, &mins[j], rmin, 0.1f, nstep);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t* s = head + 4;
  std::memset(s, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = static_cast<uint8_t>(std::min(63, Round(inv_scale * scales[j]) & 0xff));
    const uint8_t lm = static_cast<uint8_t>(std::min(63, Round(inv_min * mins[j]) & 0xff));
    PutScaleAndMin(j, ls, lm, s);
  }
  StoreFloat16LE(max_scale / 63.f, head);
  StoreFloat16LE(max_min / 63.f, head + 2);
  const float d_all = LoadFloat16LE(head), dmin_all = LoadFloat16LE(head + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    GetScaleAndMin(j, s, &sc, &m);
    const float d = d_all * sc;
    if (d == 0) continue;  // the fitted codes stay
    const float dm = dmin_all * m;
    for (int l = 0; l < 32; ++l) {
      codes[32 * j + l] =
          static_cast<uint8_t>(std::clamp(Round((x[32 * j + l] + dm) / d), 0, nmax));
    }
  }
}

// Sub-block j's scale and minimum of a Q4_K/Q5_K head, as floats.
void SubBlock(const uint8_t* head, int j, float* d, float* m) {
  int sc, mn;
  GetScaleAndMin(j, head + 4, &sc, &mn);
  *d = LoadFloat16LE(head) * sc;
  *m = LoadFloat16LE(head + 2) * mn;
}

// The value of largest magnitude (the first, on ties), sign kept.
float SignedExtreme(const float* x, int n) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Fits each of 16 sub-blocks of 16 with `fit` (codes and a signed scale);
// returns the scale of largest magnitude (Q3_K, Q6_K).
template <typename Fit>
float FitSixteenSubBlocks(const float* x, Fit fit, float* scales, int8_t* codes) {
  for (int b = 0; b < 16; ++b) scales[b] = fit(x + 16 * b, codes + 16 * b);
  return SignedExtreme(scales, 16);
}

// A symmetric scale for n values, codes -nmax..nmax-1 stored offset by
// nmax: from the signed extreme, refined over 18 nearby grids by
// least squares weighted by x^2. Returns the scale.
float FitSymmetricScale(int n, int nmax, const float* x, int8_t* codes) {
  const float max = SignedExtreme(x, n);
  if (std::fabs(max) < kAllZero) {
    std::fill(codes, codes + n, 0);
    return 0.f;
  }
  auto sums = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(Round(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  auto set_codes = [&](float iscale) {
    for (int i = 0; i < n; ++i) {
      codes[i] = static_cast<int8_t>(nmax + std::clamp(Round(iscale * x[i]), -nmax, nmax - 1));
    }
  };
  float iscale = -nmax / max;
  float sumlx, suml2;
  set_codes(iscale);
  sums(iscale, &sumlx, &suml2);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sums(iscale, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      set_codes(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K's symmetric fit of n values to codes -nmax..nmax-1: from the
// signed extreme, then up to 5 sweeps that move single codes wherever the
// least-squares fit (weights x^2) improves. Codes are stored offset by
// nmax; an all-zero block gets codes 0. Returns the scale.
float FitSymmetricScaleBySweeps(int n, int nmax, const float* x, int8_t* codes) {
  const float max = SignedExtreme(x, n);
  if (std::fabs(max) < kAllZero) {
    std::fill(codes, codes + n, 0);
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(Round(iscale * x[i]), -nmax, nmax - 1);
    codes[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int sweep = 0; sweep < 5; ++sweep) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * codes[i];
      if (slx <= 0) continue;
      float sl2 = suml2 - w * codes[i] * codes[i];
      const int l = std::clamp(Round(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (l == codes[i]) continue;
      slx += w * x[i] * l;
      sl2 += w * l * l;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        codes[i] = static_cast<int8_t>(l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) codes[i] = static_cast<int8_t>(codes[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// 256 2-bit codes: byte (j/128)*32 + l holds elements j+l, j+l+32, j+l+64
// and j+l+96 (j a multiple of 128), lowest bits first (Q2_K and Q3_K).
void PutTwoBitCodes(const uint8_t* codes, uint8_t* q) {
  for (int j = 0; j < kSuperBlock; j += 128) {
    for (int l = 0; l < 32; ++l) {
      q[j / 4 + l] = static_cast<uint8_t>(codes[j + l] | (codes[j + l + 32] << 2) |
                                          (codes[j + l + 64] << 4) | (codes[j + l + 96] << 6));
    }
  }
}

int TwoBitCode(const uint8_t* q, int e) {
  const int within = e % 128;
  return (q[e / 128 * 32 + within % 32] >> (2 * (within / 32))) & 3;
}

// Q3_K sub-block j's 6-bit scale, less its offset of 32: low nibbles in
// bytes 0-7 (two per byte), top two bits in bytes 8-11.
int Q3Scale(const uint8_t* s, int j) {
  const int low = j < 8 ? s[j] & 0xf : s[j - 8] >> 4;
  return (low | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

}  // namespace

void PackQ4K(const float* x, uint8_t* out) { PackWeightedQ4K(x, nullptr, out); }

void PackWeightedQ4K(const float* x, const float* importance, uint8_t* out) {
  uint8_t codes[kSuperBlock];
  QuantizeScaledMin(x, 15, -1.f, 20, out, codes, importance);
  SetCodesQ4K(codes, out);
}

void SetCodesQ4K(const uint8_t* codes, uint8_t* out) {
  uint8_t* q = out + 16;
  for (int j = 0; j < kSuperBlock; j += 64, q += 32) {
    for (int l = 0; l < 32; ++l)
      q[l] = static_cast<uint8_t>(codes[j + l] | (codes[j + l + 32] << 4));
  }
}

void GridQ4K(const uint8_t* block, BlockGrid* g) {
  g->sub = 32;
  g->levels = 16;
  for (int j = 0; j < 8; ++j) {
    float d, m;
    SubBlock(block, j, &d, &m);
    g->step[j] = d;
    g->offset[j] = -m;
  }
}

void UnpackQ4K(const uint8_t* in, float* x) {
  const uint8_t* q = in + 16;
  for (int j = 0; j < 8; j += 2, q += 32) {
    float d1, m1, d2, m2;
    SubBlock(in, j, &d1, &m1);
    SubBlock(in, j + 1, &d2, &m2);
    for (int l = 0; l < 32; ++l) *x++ = d1 * (q[l] & 0xf) - m1;
    for (int l = 0; l < 32; ++l) *x++ = d2 * (q[l] >> 4) - m2;
  }
}

void PackQ5K(const float* x, uint8_t* out) { PackWeightedQ5K(x, nullptr, out); }

void PackWeightedQ5K(const float* x, const float* importance, uint8_t* out) {
  uint8_t codes[kSuperBlock];
  QuantizeScaledMin(x, 31, -0.5f, 15, out, codes, importance);
  SetCodesQ5K(codes, out);
}

void GridQ5K(const uint8_t* block, BlockGrid* g) {
  GridQ4K(block, g);
  g->levels = 32;
}

void SetCodesQ5K(const uint8_t* codes, uint8_t* out) {
  uint8_t* high = out + 16;
  uint8_t* low = out + 48;
  std::memset(high, 0, 32);
  uint8_t bit1 = 1, bit2 = 2;
  for (int n = 0; n < kSuperBlock; n += 64, low += 32, bit1 <<= 2, bit2 <<= 2) {
    for (int j = 0; j < 32; ++j) {
      int l1 = codes[n + j], l2 = codes[n + j + 32];
      if (l1 > 15) l1 -= 16, high[j] |= bit1;
      if (l2 > 15) l2 -= 16, high[j] |= bit2;
      low[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
  }
}

void UnpackQ5K(const uint8_t* in, float* x) {
  const uint8_t* high = in + 16;
  const uint8_t* low = in + 48;
  uint8_t bit1 = 1, bit2 = 2;
  for (int j = 0; j < 8; j += 2, low += 32, bit1 <<= 2, bit2 <<= 2) {
    float d1, m1, d2, m2;
    SubBlock(in, j, &d1, &m1);
    SubBlock(in, j + 1, &d2, &m2);
    for (int l = 0; l < 32; ++l) *x++ = d1 * ((low[l] & 0xf) + (high[l] & bit1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *x++ = d2 * ((low[l] >> 4) + (high[l] & bit2 ? 16 : 0)) - m2;
  }
}

void PackQ6K(const float* x, uint8_t* out) {
  int8_t codes[kSuperBlock];
  float scales[16];
  const float max_scale = FitSixteenSubBlocks(
      x, [](const float* v, int8_t* c) { return FitSymmetricScale(16, 32, v, c); }, scales, codes);
  const float max_abs = std::fabs(max_scale);
  int8_t* sc = reinterpret_cast<int8_t*>(out + 192);
  if (max_abs < kAllZero) {
    std::memset(out, 0, 210);
    return;
  }
  const float iscale = -128.f / max_scale;
  StoreFloat16LE(1 / iscale, out + 208);
  const float d_all = LoadFloat16LE(out + 208);
  for (int b = 0; b < 16; ++b)
    sc[b] = static_cast<int8_t>(std::min(127, Round(iscale * scales[b])));
  for (int b = 0; b < 16; ++b) {
    const float d = d_all * sc[b];
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i) {
      codes[16 * b + i] = static_cast<int8_t>(std::clamp(Round(x[16 * b + i] / d), -32, 31) + 32);
    }
  }
  uint8_t unsigned_codes[kSuperBlock];
  for (int e = 0; e < kSuperBlock; ++e) unsigned_codes[e] = static_cast<uint8_t>(codes[e]);
  SetCodesQ6K(unsigned_codes, out);
}

void GridQ6K(const uint8_t* block, BlockGrid* g) {
  const int8_t* sc = reinterpret_cast<const int8_t*>(block + 192);
  const float d = LoadFloat16LE(block + 208);
  g->sub = 16;
  g->levels = 64;
  for (int j = 0; j < 16; ++j) {
    g->step[j] = d * sc[j];
    g->offset[j] = -32 * g->step[j];
  }
}

void SetCodesQ6K(const uint8_t* codes, uint8_t* out) {
  uint8_t* ql = out;
  uint8_t* qh = out + 128;
  for (int j = 0; j < kSuperBlock; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int c0 = codes[j + l], c1 = codes[j + l + 32], c2 = codes[j + l + 64],
                c3 = codes[j + l + 96];
      ql[l] = static_cast<uint8_t>((c0 & 0xf) | ((c2 & 0xf) << 4));
      ql[l + 32] = static_cast<uint8_t>((c1 & 0xf) | ((c3 & 0xf) << 4));
      qh[l] =
          static_cast<uint8_t>((c0 >> 4) | ((c1 >> 4) << 2) | ((c2 >> 4) << 4) | ((c3 >> 4) << 6));
    }
  }
}

void UnpackQ6K(const uint8_t* in, float* x) {
  const uint8_t* ql = in;
  const uint8_t* qh = in + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(in + 192);
  const float d = LoadFloat16LE(in + 208);
  for (int n = 0; n < kSuperBlock; n += 128, ql += 64, qh += 32, sc += 8, x += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      x[l] = d * sc[is] * q1;
      x[l + 32] = d * sc[is + 2] * q2;
      x[l + 64] = d * sc[is + 4] * q3;
      x[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

void PackQ2K(const float* x, uint8_t* out) {
  uint8_t codes[kSuperBlock];
  float scales[16], mins[16], weights[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = FitScaleAndMinimum(16, 3, x + 16 * j, weights, codes + 16 * j, &mins[j], -0.5f,
                                   0.1f, 15, /*absolute=*/true);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  uint8_t* sc = out;  // low nibble: scale, high nibble: minimum
  std::memset(sc, 0, 16);
  if (max_scale > 0) {
    const float iscale = 15.f / max_scale;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(Round(iscale * scales[j]));
  }
  StoreFloat16LE(max_scale > 0 ? max_scale / 15.f : 0.f, out + 80);
  if (max_min > 0) {
    const float iscale = 15.f / max_min;
    for (int j = 0; j < 16; ++j) sc[j] |= static_cast<uint8_t>(Round(iscale * mins[j]) << 4);
  }
  StoreFloat16LE(max_min > 0 ? max_min / 15.f : 0.f, out + 82);
  const float d_all = LoadFloat16LE(out + 80), dmin_all = LoadFloat16LE(out + 82);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * (sc[j] & 0xf);
    if (d == 0) continue;
    const float dm = dmin_all * (sc[j] >> 4);
    for (int l = 0; l < 16; ++l) {
      codes[16 * j + l] = static_cast<uint8_t>(std::clamp(Round((x[16 * j + l] + dm) / d), 0, 3));
    }
  }
  SetCodesQ2K(codes, out);
}

void SetCodesQ2K(const uint8_t* codes, uint8_t* out) { PutTwoBitCodes(codes, out + 16); }

void GridQ2K(const uint8_t* block, BlockGrid* g) {
  const float d = LoadFloat16LE(block + 80), dmin = LoadFloat16LE(block + 82);
  g->sub = 16;
  g->levels = 4;
  for (int j = 0; j < 16; ++j) {
    g->step[j] = d * (block[j] & 0xf);
    g->offset[j] = -dmin * (block[j] >> 4);
  }
}

void UnpackQ2K(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in + 80), dmin = LoadFloat16LE(in + 82);
  for (int e = 0; e < kSuperBlock; ++e) {
    const uint8_t sc = in[e / 16];
    x[e] = d * (sc & 0xf) * TwoBitCode(in + 16, e) - dmin * (sc >> 4);
  }
}

void PackQ3K(const float* x, uint8_t* out) {
  int8_t codes[kSuperBlock];
  float scales[16];
  const float max_scale = FitSixteenSubBlocks(
      x, [](const float* v, int8_t* c) { return FitSymmetricScaleBySweeps(16, 4, v, c); }, scales,
      codes);
  uint8_t* s = out + 96;
  std::memset(s, 0, 12);
  if (max_scale != 0) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = std::clamp(Round(iscale * scales[j]), -32, 31) + 32;
      if (j < 8) {
        s[j] = static_cast<uint8_t>(l & 0xf);
      } else {
        s[j - 8] |= static_cast<uint8_t>((l & 0xf) << 4);
      }
      s[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    StoreFloat16LE(1 / iscale, out + 108);
  } else {
    StoreFloat16LE(0.f, out + 108);
  }
  const float d_all = LoadFloat16LE(out + 108);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * Q3Scale(s, j);
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i) {
      codes[16 * j + i] = static_cast<int8_t>(std::clamp(Round(x[16 * j + i] / d), -4, 3) + 4);
    }
  }
  uint8_t unsigned_codes[kSuperBlock];
  for (int e = 0; e < kSuperBlock; ++e) unsigned_codes[e] = static_cast<uint8_t>(codes[e]);
  SetCodesQ3K(unsigned_codes, out);
}

void SetCodesQ3K(const uint8_t* codes, uint8_t* out) {
  // Each code's third bit: element e in bit e/32 of byte e%32.
  uint8_t* hmask = out;
  std::memset(hmask, 0, 32);
  uint8_t low[kSuperBlock];
  for (int e = 0; e < kSuperBlock; ++e) {
    int c = codes[e];
    if (c > 3) {
      hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
      c -= 4;
    }
    low[e] = static_cast<uint8_t>(c);
  }
  PutTwoBitCodes(low, out + 32);
}

void GridQ3K(const uint8_t* block, BlockGrid* g) {
  const float d = LoadFloat16LE(block + 108);
  g->sub = 16;
  g->levels = 8;
  for (int j = 0; j < 16; ++j) {
    g->step[j] = d * Q3Scale(block + 96, j);
    g->offset[j] = -4 * g->step[j];
  }
}

void UnpackQ3K(const uint8_t* in, float* x) {
  const float d = LoadFloat16LE(in + 108);
  for (int e = 0; e < kSuperBlock; ++e) {
    const int high = (in[e % 32] >> (e / 32)) & 1;
    x[e] = d * Q3Scale(in + 96, e / 16) * (TwoBitCode(in + 32, e) - (high ? 0 : 4));
  }
}

}  // namespace pare::kquants
