// ONNX quantization operators: QuantizeLinear and DequantizeLinear
// (per-tensor, per-axis, blocked int4/uint4), DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv. Integer
// products accumulate in int32 through the shared GEMM; nothing is
// dequantized to float before multiplying.
#include <cmath>

#include "core/float16.h"
#include "core/status_macros.h"
#include "runtime/gemm.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/quant_util.h"
#include "runtime/qdq_fusion.h"

namespace pare::runtime {
namespace {

// The zero point of element e, or 0 when there is none.
int32_t ZeroPointAt(const std::vector<int32_t>& zp, const QuantLayout& layout, int64_t e) {
  return zp.empty() ? 0 : zp[zp.size() == 1 ? 0 : layout.ScaleIndex(e)];
}

// The common activation case, per tensor between float32 and 8 or 16 bits,
// without the general path's float and int32 staging copies.
template <typename Q>
void QuantizePerTensorDirect(KernelContext& ctx, const Tensor& x, float scale, int32_t zero_point) {
  Q* out = nullptr;
  Tensor result = NewTensor<Q>(x.dims(), &out);
  const float* in = x.data<float>();
  const float lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  const float z = static_cast<float>(zero_point);
  ctx.pool().ParallelFor(static_cast<int64_t>(x.element_count()), 1 << 15,
                         [&](int64_t first, int64_t last) {
                           for (int64_t i = first; i < last; ++i) {
                             const float v = RoundEven(in[i] / scale) + z;
                             out[i] = static_cast<Q>(v == v ? std::clamp(v, lo, hi) : z);
                           }
                         });
  ctx.SetOutput(0, std::move(result));
}

template <typename Q>
void DequantizePerTensorDirect(KernelContext& ctx, const Tensor& x, float scale,
                               int32_t zero_point) {
  float* out = nullptr;
  Tensor result = NewTensor<float>(x.dims(), &out);
  const Q* in = x.data<Q>();
  ctx.pool().ParallelFor(
      static_cast<int64_t>(x.element_count()), 1 << 15, [&](int64_t first, int64_t last) {
        for (int64_t i = first; i < last; ++i) {
          out[i] = static_cast<float>(static_cast<int32_t>(in[i]) - zero_point) * scale;
        }
      });
  ctx.SetOutput(0, std::move(result));
}

// Scalar float32 scale and (optional) scalar 8-bit zero point of the same
// type as `q_type` (kUndefined: whatever the zero point says, uint8 without).
bool PerTensorParams(KernelContext& ctx, const Tensor& scale, DataType* q_type, float* s,
                     int32_t* z) {
  if (scale.dtype() != DataType::kFloat32 || scale.element_count() != 1 ||
      ctx.GetInt("block_size", 0) != 0 || ctx.GetInt("output_dtype", 0) != 0) {
    return false;
  }
  DataType zt = DataType::kUint8;
  *z = 0;
  if (ctx.HasInput(2)) {
    const Tensor& zp = ctx.input(2);
    if (zp.element_count() != 1) return false;
    zt = zp.dtype();
    switch (zt) {
      case DataType::kUint8:
        *z = zp.data<uint8_t>()[0];
        break;
      case DataType::kInt8:
        *z = zp.data<int8_t>()[0];
        break;
      case DataType::kUint16:
        *z = zp.data<uint16_t>()[0];
        break;
      case DataType::kInt16:
        *z = zp.data<int16_t>()[0];
        break;
      default:
        return false;
    }
  }
  if (*q_type != DataType::kUndefined && *q_type != zt) return false;
  *q_type = zt;
  *s = scale.data<float>()[0];
  return true;
}

// A QuantizeLinear fused with the DequantizeLinear that read it
// (qdq_fusion.h): the float value its quantized result stands for.
absl::Status QuantizeDequantize(KernelContext& ctx, const Tensor& x, float s, DataType q_type,
                                int32_t z) {
  ASSIGN_OR_RETURN(auto range, QuantRange(q_type));
  std::vector<float> widened;
  const float* in = nullptr;
  if (x.dtype() == DataType::kFloat32) {
    in = x.data<float>();
  } else {  // opset 10's int32 input
    ASSIGN_OR_RETURN(widened, x.ToFloat32());
    in = widened.data();
  }
  float* out = nullptr;
  Tensor result = NewTensor<float>(x.dims(), &out);
  const float lo = static_cast<float>(range.first), hi = static_cast<float>(range.second);
  ctx.pool().ParallelFor(
      static_cast<int64_t>(x.element_count()), 1 << 15, [&](int64_t first, int64_t last) {
        FakeQuantize(in + first, out + first, last - first, s, static_cast<float>(z), lo, hi);
      });
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status QuantizeLinear(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scale, ctx.RequireInput(1));
  DataType q_type = DataType::kUndefined;
  float s = 0;
  int32_t z = 0;
  if (ctx.GetInt(kFusedDequantize, 0) == 1) {
    if (!PerTensorParams(ctx, *scale, &q_type, &s, &z)) {
      return ctx.Error("a fused quantize-dequantize needs a per-tensor float32 scale");
    }
    return QuantizeDequantize(ctx, *x, s, q_type, z);
  }
  if (x->dtype() == DataType::kFloat32 && PerTensorParams(ctx, *scale, &q_type, &s, &z)) {
    if (q_type == DataType::kUint8) QuantizePerTensorDirect<uint8_t>(ctx, *x, s, z);
    if (q_type == DataType::kInt8) QuantizePerTensorDirect<int8_t>(ctx, *x, s, z);
    if (q_type == DataType::kUint16) QuantizePerTensorDirect<uint16_t>(ctx, *x, s, z);
    if (q_type == DataType::kInt16) QuantizePerTensorDirect<int16_t>(ctx, *x, s, z);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(QuantLayout layout, ResolveQuantLayout(ctx, x->dims(), scale->dims()));
  ASSIGN_OR_RETURN(std::vector<float> scales, scale->ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> values, x->ToFloat32());
  DataType out_type = DataType::kUint8;
  std::vector<int32_t> zp;
  if (ctx.HasInput(2)) {
    out_type = ctx.input(2).dtype();
    ASSIGN_OR_RETURN(zp, ReadQuantized(ctx.input(2)));
  } else if (ctx.GetInt("output_dtype", 0) != 0) {
    out_type = static_cast<DataType>(ctx.GetInt("output_dtype", 0));
  }
  if (!zp.empty() && zp.size() != 1 && zp.size() != scales.size()) {
    return ctx.Error("the zero point must match the scale in size");
  }
  auto range = QuantRange(out_type);
  if (!range.ok()) return ctx.Unsupported(std::string(range.status().message()));
  std::vector<int32_t> q(values.size());
  for (size_t e = 0; e < values.size(); ++e) {
    const float s = scales[layout.ScaleIndex(e)];
    const int32_t z = ZeroPointAt(zp, layout, e);
    q[e] =
        Saturate(RoundEven(values[e] / s) + static_cast<float>(z), range->first, range->second, z);
  }
  ctx.SetOutput(0, WriteQuantized(out_type, x->dims(), q));
  return absl::OkStatus();
}

absl::Status DequantizeLinear(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scale, ctx.RequireInput(1));
  DataType q_type = x->dtype();
  float s = 0;
  int32_t z = 0;
  const bool small = q_type == DataType::kUint8 || q_type == DataType::kInt8 ||
                     q_type == DataType::kUint16 || q_type == DataType::kInt16;
  if (small && ctx.HasInput(2) && PerTensorParams(ctx, *scale, &q_type, &s, &z)) {
    if (q_type == DataType::kUint8) DequantizePerTensorDirect<uint8_t>(ctx, *x, s, z);
    if (q_type == DataType::kInt8) DequantizePerTensorDirect<int8_t>(ctx, *x, s, z);
    if (q_type == DataType::kUint16) DequantizePerTensorDirect<uint16_t>(ctx, *x, s, z);
    if (q_type == DataType::kInt16) DequantizePerTensorDirect<int16_t>(ctx, *x, s, z);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(QuantLayout layout, ResolveQuantLayout(ctx, x->dims(), scale->dims()));
  ASSIGN_OR_RETURN(std::vector<float> scales, scale->ToFloat32());
  auto q = ReadQuantized(*x);
  if (!q.ok()) return ctx.Unsupported(std::string(q.status().message()));
  std::vector<int32_t> zp;
  if (ctx.HasInput(2)) {
    ASSIGN_OR_RETURN(zp, ReadQuantized(ctx.input(2)));
  }
  if (!zp.empty() && zp.size() != 1 && zp.size() != scales.size()) {
    return ctx.Error("the zero point must match the scale in size");
  }
  const DataType out_type = scale->dtype();
  float* out = nullptr;
  uint16_t* out16 = nullptr;
  Tensor result = out_type == DataType::kFloat32 ? NewTensor<float>(x->dims(), &out)
                                                 : NewTensor<uint16_t>(x->dims(), &out16, out_type);
  if (out_type != DataType::kFloat32 && out_type != DataType::kFloat16 &&
      out_type != DataType::kBFloat16) {
    return ctx.Unsupported("scale must be float, float16 or bfloat16");
  }
  for (size_t e = 0; e < q->size(); ++e) {
    const float v =
        static_cast<float>((*q)[e] - ZeroPointAt(zp, layout, e)) * scales[layout.ScaleIndex(e)];
    if (out) {
      out[e] = v;
    } else {
      out16[e] = out_type == DataType::kFloat16 ? Float32ToFloat16(v) : Float32ToBFloat16(v);
    }
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status DynamicQuantizeLinear(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(std::vector<float> v, x->ToFloat32());
  float lo = 0, hi = 0;  // the range always includes zero
  for (float f : v) lo = std::min(lo, f), hi = std::max(hi, f);
  const float scale = (hi - lo) / 255.0f;
  // Infinite inputs make the scale infinite or NaN; the zero point then is 0.
  const float zp = scale == 0 || !std::isfinite(scale)
                       ? 0
                       : static_cast<float>(Saturate(RoundEven(-lo / scale), 0, 255, 0));
  std::vector<int32_t> q(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    q[i] = scale == 0 ? static_cast<int32_t>(zp)
                      : Saturate(RoundEven(v[i] / scale) + zp, 0, 255, static_cast<int32_t>(zp));
  }
  ctx.SetOutput(0, WriteQuantized(DataType::kUint8, x->dims(), q));
  ctx.SetOutput(1, Tensor::FromVector<float>("", {}, {scale}));
  ctx.SetOutput(2, WriteQuantized(DataType::kUint8, {}, {static_cast<int32_t>(zp)}));
  return absl::OkStatus();
}

// x - zero point as int32, with the zero point per tensor or, when it has
// `rows` values, one per row of `row_len` elements (A's rows, W's maps), or
// one per column (`per_column`, B's columns).
absl::StatusOr<std::vector<int32_t>> Centered(const Tensor& x, const Tensor* zp, int64_t row_len,
                                              bool per_column) {
  ASSIGN_OR_RETURN(std::vector<int32_t> v, ReadQuantized(x));
  if (zp == nullptr) return v;
  ASSIGN_OR_RETURN(std::vector<int32_t> z, ReadQuantized(*zp));
  if (z.empty()) return v;
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t e = static_cast<int64_t>(i);
    const size_t at = z.size() == 1 ? 0
                      : per_column  ? static_cast<size_t>(e % row_len) % z.size()
                                    : static_cast<size_t>(e / row_len) % z.size();
    v[i] -= z[at];
  }
  return v;
}

absl::StatusOr<std::vector<int32_t>> IntegerMatMul(KernelContext& ctx, const MatMulShape& s,
                                                   const std::vector<int32_t>& a,
                                                   const std::vector<int32_t>& b) {
  std::vector<int32_t> out(static_cast<size_t>(s.batches * s.m * s.n));
  for (int64_t i = 0; i < s.batches; ++i) {
    Gemm<int32_t>(a.data() + s.a_offset[i] * s.m * s.k, b.data() + s.b_offset[i] * s.k * s.n,
                  out.data() + i * s.m * s.n, s.m, s.n, s.k, false, false, 1, 0, ctx.pool());
  }
  return out;
}

absl::Status MatMulInteger(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(MatMulShape s, ResolveMatMul(ctx, a->dims(), b->dims()));
  ASSIGN_OR_RETURN(auto av, Centered(*a, ctx.HasInput(2) ? &ctx.input(2) : nullptr, s.k, false));
  ASSIGN_OR_RETURN(auto bv, Centered(*b, ctx.HasInput(3) ? &ctx.input(3) : nullptr, s.n, true));
  ASSIGN_OR_RETURN(std::vector<int32_t> out, IntegerMatMul(ctx, s, av, bv));
  ctx.SetOutput(0, Tensor::FromVector<int32_t>("", s.output, out));
  return absl::OkStatus();
}

// Requantizes int32 accumulators: y = saturate(round(acc * scale[c]) + zp),
// with one scale per tensor or per channel (`channels` runs of `channel_len`).
absl::StatusOr<Tensor> Requantize(const KernelContext& ctx, const std::vector<int32_t>& acc,
                                  const std::vector<float>& scale, int64_t channel_len,
                                  int64_t channels, const Tensor& y_zp, std::vector<int64_t> dims) {
  ASSIGN_OR_RETURN(std::vector<int32_t> zps, ReadQuantized(y_zp));
  auto range = QuantRange(y_zp.dtype());
  if (!range.ok()) return ctx.Unsupported(std::string(range.status().message()));
  if (zps.size() != 1) return ctx.Error("the output zero point must hold one value");
  if (scale.size() != 1 && static_cast<int64_t>(scale.size()) != channels) {
    return ctx.Error("scales must be per tensor or per output channel");
  }
  const int32_t zp = zps[0];
  std::vector<int32_t> q(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t c = scale.size() == 1 ? 0 : (static_cast<int64_t>(i) / channel_len) % channels;
    q[i] = Saturate(RoundEven(static_cast<float>(acc[i]) * scale[c]) + static_cast<float>(zp),
                    range->first, range->second, zp);
  }
  return WriteQuantized(y_zp.dtype(), std::move(dims), q);
}

absl::Status QLinearMatMul(KernelContext& ctx) {
  for (size_t i = 0; i < 8; ++i) RETURN_IF_ERROR(ctx.RequireInput(i).status());
  const Tensor &a = ctx.input(0), &b = ctx.input(3);
  ASSIGN_OR_RETURN(MatMulShape s, ResolveMatMul(ctx, a.dims(), b.dims()));
  ASSIGN_OR_RETURN(auto av, Centered(a, &ctx.input(2), s.k, false));
  ASSIGN_OR_RETURN(auto bv, Centered(b, &ctx.input(5), s.n, true));
  ASSIGN_OR_RETURN(std::vector<int32_t> acc, IntegerMatMul(ctx, s, av, bv));
  ASSIGN_OR_RETURN(std::vector<float> sa, ctx.input(1).ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> sb, ctx.input(4).ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> sy, ctx.input(6).ToFloat32());
  if (sa.size() != 1 || sy.size() != 1 ||
      (sb.size() != 1 && static_cast<int64_t>(sb.size()) != s.n)) {
    return ctx.Error("scales must be per tensor (B's may be per column)");
  }
  std::vector<float> scale(sb.size());
  for (size_t i = 0; i < sb.size(); ++i) scale[i] = sa[0] * sb[i] / sy[0];
  // Output element i lies in column i % n, so per-column scales repeat every n.
  ASSIGN_OR_RETURN(Tensor out, Requantize(ctx, acc, scale, 1, scale.size() == 1 ? 1 : s.n,
                                          ctx.input(7), s.output));
  ctx.SetOutput(0, std::move(out));
  return absl::OkStatus();
}

// Integer convolution of centered inputs; adds an int32 bias when given.
absl::StatusOr<std::vector<int32_t>> IntegerConv(KernelContext& ctx, const ConvShape& c,
                                                 const Tensor& x, const Tensor* x_zp,
                                                 const Tensor& w, const Tensor* w_zp) {
  const int64_t per_map = Product(w.dims(), 1);
  ASSIGN_OR_RETURN(auto xv, Centered(x, x_zp, 1, false));
  ASSIGN_OR_RETURN(auto wv, Centered(w, w_zp, per_map, false));
  std::vector<int32_t> out(static_cast<size_t>(Product(c.output)));
  RunConv<int32_t>(c, xv.data(), wv.data(), out.data(), ctx.pool());
  return out;
}

absl::Status ConvInteger(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* w, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(ConvShape c, ResolveConv(ctx, x->dims(), w->dims()));
  ASSIGN_OR_RETURN(std::vector<int32_t> out,
                   IntegerConv(ctx, c, *x, ctx.HasInput(2) ? &ctx.input(2) : nullptr, *w,
                               ctx.HasInput(3) ? &ctx.input(3) : nullptr));
  ctx.SetOutput(0, Tensor::FromVector<int32_t>("", c.output, out));
  return absl::OkStatus();
}

absl::Status QLinearConv(KernelContext& ctx) {
  for (size_t i = 0; i < 8; ++i) RETURN_IF_ERROR(ctx.RequireInput(i).status());
  const Tensor &x = ctx.input(0), &w = ctx.input(3);
  ASSIGN_OR_RETURN(ConvShape c, ResolveConv(ctx, x.dims(), w.dims()));
  ASSIGN_OR_RETURN(std::vector<int32_t> acc,
                   IntegerConv(ctx, c, x, &ctx.input(2), w, &ctx.input(5)));
  const int64_t osize = Product(c.window.output);
  if (ctx.HasInput(8)) {
    ASSIGN_OR_RETURN(std::vector<int32_t> bias, ReadQuantized(ctx.input(8)));
    if (static_cast<int64_t>(bias.size()) != c.maps) {
      return ctx.Error("B must hold one value per output channel");
    }
    // Saturating: a bias quantized with a tiny scale can push the sum past
    // int32, which would be undefined (and meaningless) when wrapped.
    for (size_t i = 0; i < acc.size(); ++i) {
      const int64_t sum = int64_t{acc[i]} + bias[(static_cast<int64_t>(i) / osize) % c.maps];
      acc[i] = static_cast<int32_t>(std::clamp<int64_t>(sum, INT32_MIN, INT32_MAX));
    }
  }
  ASSIGN_OR_RETURN(std::vector<float> sx, ctx.input(1).ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> sw, ctx.input(4).ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> sy, ctx.input(6).ToFloat32());
  if (sx.size() != 1 || sy.size() != 1) return ctx.Error("x and y scales must be per tensor");
  std::vector<float> scale(sw.size());
  for (size_t i = 0; i < sw.size(); ++i) scale[i] = sx[0] * sw[i] / sy[0];
  ASSIGN_OR_RETURN(Tensor out, Requantize(ctx, acc, scale, osize, c.maps, ctx.input(7), c.output));
  ctx.SetOutput(0, std::move(out));
  return absl::OkStatus();
}

}  // namespace

void RegisterQuantizeOps(KernelRegistry& r) {
  r.Add("", "QuantizeLinear", 10, QuantizeLinear);
  r.Add("", "DequantizeLinear", 10, DequantizeLinear);
  r.Add("", "DynamicQuantizeLinear", 11, DynamicQuantizeLinear);
  // ONNX Runtime's contrib forms, with per-axis support before opset 13.
  r.Add("com.microsoft", "QuantizeLinear", 1, QuantizeLinear);
  r.Add("com.microsoft", "DequantizeLinear", 1, DequantizeLinear);
  r.Add("", "MatMulInteger", 10, MatMulInteger);
  r.Add("", "ConvInteger", 10, ConvInteger);
  r.Add("", "QLinearMatMul", 10, QLinearMatMul);
  r.Add("", "QLinearConv", 10, QLinearConv);
}

}  // namespace pare::runtime
