// com.microsoft MatMulNBits: Y = A x dequant(B)^T with B block-quantized
// along K, as ONNX Runtime lays it out:
//   B            uint8 [N, k_blocks, blob]   codes packed low bits first
//   scales       [N * k_blocks]              same type as A
//   zero_points  optional: uint8 packed per column (row stride
//                ceil(k_blocks * bits / 8)), or unpacked in A's type;
//                default 2^(bits-1)
//   g_idx        optional, unsupported unless absent or trivial
//   bias         optional [N]
// The kernels dequantize one block at a time (one column's block for small
// M, one K block across all columns for larger M); the full float weight is
// never built.
#include <cmath>
#include <cstring>
#include <optional>

#include "core/float16.h"
#include "core/status_macros.h"
#include "runtime/gemm.h"
#include "runtime/ops/nbits_dot.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

struct NBitsShape {
  int64_t k = 0, n = 0, bits = 4, block = 32, k_blocks = 0, blob = 0, m = 0;
};

// Code j of a block blob, bits wide, low bits first.
inline int32_t Code(const uint8_t* blob, int64_t j, int64_t bits) {
  if (bits == 8) return blob[j];
  if (bits == 4) return (j & 1) ? blob[j / 2] >> 4 : blob[j / 2] & 0x0f;
  // 2 and 3 bits: a code may straddle two bytes (3-bit blobs hold whole
  // blocks, so the byte after a straddling code exists).
  const int64_t bit = j * bits;
  const int64_t byte = bit / 8;
  uint32_t word = blob[byte];
  if (bit % 8 + bits > 8) word |= static_cast<uint32_t>(blob[byte + 1]) << 8;
  return static_cast<int32_t>((word >> (bit % 8)) & ((1u << bits) - 1));
}

absl::StatusOr<NBitsShape> Resolve(KernelContext& ctx, const Tensor& a, const Tensor& b) {
  NBitsShape s;
  s.k = ctx.GetInt("K", 0);
  s.n = ctx.GetInt("N", 0);
  s.bits = ctx.GetInt("bits", 4);
  s.block = ctx.GetInt("block_size", 0);
  if (s.bits != 2 && s.bits != 4 && s.bits != 8 && s.bits != 3) {
    return ctx.Unsupported(absl::StrCat("bits=", s.bits));
  }
  if (s.block < 16 || s.block > (int64_t{1} << 24) || (s.block & (s.block - 1)) != 0) {
    return ctx.Error(
        absl::StrCat("block_size ", s.block, " must be a power of two from 16 to 2^24"));
  }
  if (a.dims().empty() || a.dims().back() != s.k) {
    return ctx.Error(absl::StrCat("A's last dimension must be K=", s.k));
  }
  // N is an attribute: bound it by B's size before multiplying with it.
  if (s.k <= 0 || s.n <= 0 || static_cast<uint64_t>(s.n) > b.element_count()) {
    return ctx.Error(absl::StrCat("K=", s.k, " and N=", s.n, " do not fit B"));
  }
  s.k_blocks = (s.k + s.block - 1) / s.block;
  s.blob = s.block * s.bits / 8;
  if (b.dtype() != DataType::kUint8 ||
      b.element_count() != static_cast<uint64_t>(s.n * s.k_blocks * s.blob)) {
    return ctx.Error(absl::StrCat("B must be uint8 [", s.n, ",", s.k_blocks, ",", s.blob, "]"));
  }
  s.m = static_cast<int64_t>(a.element_count()) / std::max<int64_t>(s.k, 1);
  return s;
}

// Zero point of (column n, block kb) as a float code offset.
absl::StatusOr<std::vector<float>> ZeroPoints(KernelContext& ctx, const NBitsShape& s) {
  std::vector<float> zp(static_cast<size_t>(s.n * s.k_blocks),
                        static_cast<float>(1 << (s.bits - 1)));
  if (!ctx.HasInput(3)) return zp;
  const Tensor& z = ctx.input(3);
  if (z.dtype() == DataType::kUint8) {
    const int64_t stride = (s.k_blocks * s.bits + 7) / 8;
    if (z.element_count() != static_cast<uint64_t>(s.n * stride)) {
      return ctx.Error("packed zero_points have the wrong size");
    }
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t kb = 0; kb < s.k_blocks; ++kb) {
        zp[n * s.k_blocks + kb] =
            static_cast<float>(Code(z.data<uint8_t>() + n * stride, kb, s.bits));
      }
    }
    return zp;
  }
  ASSIGN_OR_RETURN(zp, z.ToFloat32());
  if (zp.size() != static_cast<size_t>(s.n * s.k_blocks)) return ctx.Error("zero_points size");
  return zp;
}

// Rows of A up to which each output is a dot product over packed blocks
// (decode-shaped work, bound by reading B once); above it, each K block is
// dequantized for all N into a small panel and multiplied with the GEMM.
constexpr int64_t kSmallM = 4;

struct BlockDequantizer {
  const NBitsShape& s;
  const uint8_t* b;
  const std::vector<float>& scales;
  const std::vector<float>& zp;

  // Writes the `len` dequantized values of column n, block kb, into w.
  int64_t Column(int64_t n, int64_t kb, float* w) const {
    const uint8_t* blob = b + (n * s.k_blocks + kb) * s.blob;
    const float scale = scales[n * s.k_blocks + kb], z = zp[n * s.k_blocks + kb];
    const int64_t len = std::min(s.block, s.k - kb * s.block);
    if (s.bits == 4 && len == s.block) {  // whole bytes, two codes each
      for (int64_t q = 0; q < len / 2; ++q) {
        w[2 * q] = (static_cast<float>(blob[q] & 0x0f) - z) * scale;
        w[2 * q + 1] = (static_cast<float>(blob[q] >> 4) - z) * scale;
      }
      return len;
    }
    for (int64_t j = 0; j < len; ++j)
      w[j] = (static_cast<float>(Code(blob, j, s.bits)) - z) * scale;
    return len;
  }
};

// Small M: each output is sum over blocks of scale * (a . code - z * sum(a)),
// reading the packed weights once and never materializing them.
void DotKernel(const BlockDequantizer& dq, const float* a, float* out, ThreadPool& pool) {
  const NBitsShape& s = dq.s;
  // sum(a) per (row, block), shared by every column.
  std::vector<float> block_sums(s.m * s.k_blocks, 0.0f);
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t k = 0; k < s.k; ++k) block_sums[m * s.k_blocks + k / s.block] += a[m * s.k + k];
  }
  std::vector<std::vector<float>> split;
  if (s.bits == 4) {
    for (int64_t m = 0; m < s.m; ++m) split.push_back(SplitEvenOdd(a + m * s.k, s.k, s.block));
  }
  pool.ParallelFor(s.n, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* scales = &dq.scales[n * s.k_blocks];
      const float* zps = &dq.zp[n * s.k_blocks];
      const uint8_t* blobs = dq.b + n * s.k_blocks * s.blob;
      for (int64_t m = 0; m < s.m; ++m) {
        const float* row = a + m * s.k;
        const float* sums = &block_sums[m * s.k_blocks];
        float correction = 0;  // the zero points' share, sum of scale * z * sum(a)
        for (int64_t kb = 0; kb < s.k_blocks; ++kb) correction += scales[kb] * zps[kb] * sums[kb];
        float dot = 0;
        if (s.bits == 4) {
          dot = Dot4Blocks(split[m].data(), blobs, scales, s.k_blocks, s.block);
        } else {
          for (int64_t kb = 0; kb < s.k_blocks; ++kb) {
            const int64_t len = std::min(s.block, s.k - kb * s.block);
            const uint8_t* blob = blobs + kb * s.blob;
            float codes_dot = 0;
            for (int64_t j = 0; j < len; ++j)
              codes_dot += row[kb * s.block + j] * Code(blob, j, s.bits);
            dot += scales[kb] * codes_dot;
          }
        }
        out[m * s.n + n] = dot - correction;
      }
    }
  });
}

// Larger M: columns in tiles; each tile of W is dequantized into a small
// [tile, K] panel and multiplied with the GEMM, tiles spread over threads.
void PanelKernel(const BlockDequantizer& dq, const float* a, float* out, ThreadPool& pool) {
  const NBitsShape& s = dq.s;
  // A panel of about 512 KiB stays in L2 while the GEMM reads it.
  const int64_t tile = std::clamp<int64_t>((131072 / std::max<int64_t>(s.k, 1)) / 16 * 16, 16, 512);
  const int64_t tiles = (s.n + tile - 1) / tile;
  pool.ParallelFor(tiles, 1, [&](int64_t lo, int64_t hi) {
    ThreadPool serial(1);
    std::vector<float> panel(tile * s.k), result(s.m * tile);
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n0 = t * tile, cols = std::min(tile, s.n - n0);
      for (int64_t c = 0; c < cols; ++c) {
        for (int64_t kb = 0; kb < s.k_blocks; ++kb)
          dq.Column(n0 + c, kb, &panel[c * s.k + kb * s.block]);
      }
      Gemm<float>(a, panel.data(), result.data(), s.m, cols, s.k, false, true, 1.0f, 0.0f, serial);
      for (int64_t m = 0; m < s.m; ++m) std::copy_n(&result[m * cols], cols, out + m * s.n + n0);
    }
  });
}

absl::Status MatMulNBits(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* scales_t, ctx.RequireInput(2));
  // float16/bfloat16 A (and scales) are widened to float32 and the result
  // narrowed back: exact up to the final rounding.
  std::optional<Tensor> widened;
  const DataType a_type = a->dtype();
  if (a_type == DataType::kFloat16 || a_type == DataType::kBFloat16) {
    ASSIGN_OR_RETURN(std::vector<float> values, a->ToFloat32());
    widened = Tensor::FromVector<float>(a->name(), a->dims(), values);
    a = &*widened;
  } else if (a_type != DataType::kFloat32) {
    return ctx.Unsupported("A must be float32, float16 or bfloat16");
  }
  if (ctx.HasInput(4) && ctx.input(4).element_count() > 0) {
    return ctx.Unsupported("g_idx (act-order) is not supported");
  }
  ASSIGN_OR_RETURN(NBitsShape s, Resolve(ctx, *a, *b));
  ASSIGN_OR_RETURN(std::vector<float> scales, scales_t->ToFloat32());
  if (scales.size() != static_cast<size_t>(s.n * s.k_blocks)) {
    return ctx.Error(absl::StrCat("scales must hold N*k_blocks = ", s.n * s.k_blocks, " values"));
  }
  ASSIGN_OR_RETURN(std::vector<float> zp, ZeroPoints(ctx, s));
  std::vector<float> bias;
  if (ctx.HasInput(5)) {
    ASSIGN_OR_RETURN(bias, ctx.input(5).ToFloat32());
  }
  std::vector<int64_t> shape = a->dims();
  shape.back() = s.n;
  float* out = nullptr;
  Tensor result = NewTensor<float>(shape, &out);
  const BlockDequantizer dq{s, b->data<uint8_t>(), scales, zp};
  if (s.m <= kSmallM) {
    DotKernel(dq, a->data<float>(), out, ctx.pool());
  } else {
    PanelKernel(dq, a->data<float>(), out, ctx.pool());
  }
  if (!bias.empty()) {
    for (int64_t m = 0; m < s.m; ++m) {
      for (int64_t n = 0; n < s.n; ++n) out[m * s.n + n] += bias[n];
    }
  }
  if (a_type != DataType::kFloat32) {
    std::vector<uint16_t> narrow(result.element_count());
    if (a_type == DataType::kFloat16) {
      Float32ToFloat16(out, narrow.data(), narrow.size());
    } else {
      Float32ToBFloat16(out, narrow.data(), narrow.size());
    }
    std::vector<uint8_t> bytes(narrow.size() * 2);
    std::memcpy(bytes.data(), narrow.data(), bytes.size());
    result = Tensor::FromBytes("", a_type, shape, std::move(bytes));
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

}  // namespace

void RegisterMatMulNBitsOps(KernelRegistry& r) {
  r.Add("com.microsoft", "MatMulNBits", 1, MatMulNBits);
}

}  // namespace pare::runtime
