// Smaller operators: BitShift OneHot Compress Shrink ReverseSequence
// MeanVarianceNormalization Hann/Hamming/BlackmanWindow Det MaxUnpool.
#include <cmath>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/spatial.h"

namespace pare::runtime {
namespace {

absl::Status BitShift(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 1}));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
  const bool left = ctx.GetString("direction", "") == "LEFT";
  return VisitNumeric(a->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_unsigned_v<T>) {
      T* out = nullptr;
      Tensor result = NewTensor<T>(shape, &out);
      ForEachBroadcast(shape, BroadcastStrides(a->dims(), shape),
                       BroadcastStrides(b->dims(), shape), [&](int64_t i, int64_t ai, int64_t bi) {
                         const T x = a->data<T>()[ai], s = b->data<T>()[bi];
                         out[i] =
                             s >= sizeof(T) * 8 ? T{0} : static_cast<T>(left ? x << s : x >> s);
                       });
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    }
    return ctx.Error("BitShift needs unsigned integers");
  });
}

absl::Status OneHot(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* depth_t, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* values, ctx.RequireInput(2));
  ASSIGN_OR_RETURN(double depth_d, ReadScalar(*depth_t));
  const int64_t depth = static_cast<int64_t>(depth_d);
  ASSIGN_OR_RETURN(std::vector<float> indices_f, idx->ToFloat32());
  const int64_t rank = static_cast<int64_t>(idx->dims().size()) + 1;
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.GetInt("axis", -1), rank));
  std::vector<int64_t> shape = idx->dims();
  shape.insert(shape.begin() + axis, depth);
  if (depth < 0) return ctx.Error("depth must not be negative");
  RETURN_IF_ERROR(ctx.CheckOutputSize(values->dtype(), shape));
  if (values->element_count() < 2) return ctx.Error("values must hold [off, on]");
  const int64_t outer = Product(idx->dims(), 0, axis), inner = Product(idx->dims(), axis);
  return VisitAll(values->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T off = values->data<T>()[0], on = values->data<T>()[1];
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out);
    std::fill(out, out + Product(shape), off);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = static_cast<int64_t>(indices_f[o * inner + i]);
        if (k < 0) k += depth;
        if (k >= 0 && k < depth) out[(o * depth + k) * inner + i] = on;
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Compress(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* cond, ctx.RequireInput(1));
  const Attribute* axis_attr = ctx.FindAttribute("axis");
  Tensor input = axis_attr ? *x : x->WithDims({static_cast<int64_t>(x->element_count())});
  const int64_t rank = static_cast<int64_t>(input.dims().size());
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr ? axis_attr->i : 0, rank));
  const int64_t dim = input.dims()[axis];
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < std::min<int64_t>(dim, cond->element_count()); ++i) {
    if (cond->bytes()[i]) keep.push_back(i);
  }
  std::vector<int64_t> shape = input.dims();
  shape[axis] = static_cast<int64_t>(keep.size());
  const int64_t outer = Product(input.dims(), 0, axis), inner = Product(input.dims(), axis + 1);
  const int64_t elem = static_cast<int64_t>(StorageBytes(x->dtype(), 1).value_or(0));
  if (elem == 0 || Info(x->dtype()).bits < 8) return ctx.Unsupported("this element type");
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(x->dtype(), shape, &out);
  const int64_t n = static_cast<int64_t>(keep.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      CopyBytes(out + (o * n + j) * inner * elem,
                input.bytes().data() + (o * dim + keep[j]) * inner * elem, inner * elem);
    }
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status Shrink(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const double bias = ctx.GetFloat("bias", 0.0f), lambd = ctx.GetFloat("lambd", 0.5f);
  return VisitNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    for (uint64_t i = 0; i < x->element_count(); ++i) {
      const double v = static_cast<double>(x->data<T>()[i]);
      out[i] = SaturateCast<T>(v < -lambd ? v + bias : v > lambd ? v - bias : 0.0);
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status ReverseSequence(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* lens_t, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> lens, ReadInts(*lens_t));
  const int64_t batch_axis = ctx.GetInt("batch_axis", 1), time_axis = ctx.GetInt("time_axis", 0);
  if (x->dims().size() < 2 || batch_axis < 0 || batch_axis > 1 || time_axis < 0 || time_axis > 1 ||
      batch_axis == time_axis) {
    return ctx.Error(
        "batch_axis and time_axis must be 0 and 1 (in some order) of a rank >= 2 input");
  }
  const std::vector<int64_t> strides = Strides(x->dims());
  const int64_t elem = static_cast<int64_t>(StorageBytes(x->dtype(), 1).value_or(0));
  if (elem == 0 || Info(x->dtype()).bits < 8) return ctx.Unsupported("this element type");
  if (static_cast<int64_t>(lens.size()) != x->dims()[batch_axis]) {
    return ctx.Error("sequence_lens must hold one length per batch entry");
  }
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(x->dtype(), x->dims(), &out);
  for (uint64_t i = 0; i < x->element_count(); ++i) {
    const int64_t e = static_cast<int64_t>(i);
    const int64_t b = (e / strides[batch_axis]) % x->dims()[batch_axis];
    const int64_t t = (e / strides[time_axis]) % x->dims()[time_axis];
    const int64_t src = t < lens[b] ? e + (lens[b] - 1 - 2 * t) * strides[time_axis] : e;
    CopyBytes(out + e * elem, x->bytes().data() + src * elem, elem);
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status MeanVarianceNormalization(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  std::vector<int64_t> axes = ctx.GetInts("axes");
  if (axes.empty()) axes = {0, 2, 3};
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  std::vector<int64_t> reduced_strides(rank, 0);
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, rank));
    reduced[axis] = true;
  }
  std::vector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d]) kept.push_back(x->dims()[d]);
  }
  const auto kept_strides = Strides(kept);
  for (int64_t d = 0, k = 0; d < rank; ++d) {
    if (!reduced[d]) reduced_strides[d] = kept_strides[k++];
  }
  ASSIGN_OR_RETURN(std::vector<float> v, x->ToFloat32());
  const int64_t groups = Product(kept);
  std::vector<double> sum(groups), sq(groups), count(groups);
  std::vector<int64_t> group_of(v.size());
  ForEachBroadcast(x->dims(), reduced_strides, reduced_strides, [&](int64_t i, int64_t g, int64_t) {
    group_of[i] = g;
    sum[g] += v[i];
    sq[g] += static_cast<double>(v[i]) * v[i];
    count[g] += 1;
  });
  float* out = nullptr;
  Tensor result = NewTensor<float>(x->dims(), &out);
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t g = group_of[i];
    const double mean = sum[g] / count[g];
    const double var = sq[g] / count[g] - mean * mean;
    out[i] = static_cast<float>((v[i] - mean) / (std::sqrt(std::max(var, 0.0)) + 1e-9));
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

enum class WindowKind { kHann, kHamming, kBlackman };

KernelFn WindowOp(WindowKind kind) {
  return [kind](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* size_t_in, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(double size_d, ReadScalar(*size_t_in));
    const int64_t size = static_cast<int64_t>(size_d);
    const bool periodic = ctx.GetInt("periodic", 1) != 0;
    const double n = static_cast<double>(periodic ? size : size - 1);
    const DataType out_type = static_cast<DataType>(ctx.GetInt("output_datatype", 1));
    std::vector<double> w(size);
    for (int64_t i = 0; i < size; ++i) {
      const double a = 2 * M_PI * i / n;
      switch (kind) {
        case WindowKind::kHann:
          w[i] = 0.5 - 0.5 * std::cos(a);
          break;
        case WindowKind::kHamming:
          w[i] = 25.0 / 46 - 21.0 / 46 * std::cos(a);
          break;
        case WindowKind::kBlackman:
          w[i] = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a);
          break;
      }
    }
    return VisitNumeric(out_type, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = nullptr;
      Tensor result = NewTensor<T>({size}, &out);
      for (int64_t i = 0; i < size; ++i) out[i] = static_cast<T>(w[i]);
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

absl::Status Det(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const auto& d = x->dims();
  if (d.size() < 2 || d[d.size() - 1] != d[d.size() - 2])
    return ctx.Error("input must be [..., n, n]");
  const int64_t n = d.back(), count = Product(d, 0, d.size() - 2);
  return VisitFloat(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(std::vector<int64_t>(d.begin(), d.end() - 2), &out);
    for (int64_t m = 0; m < count; ++m) {
      std::vector<double> a(x->data<T>() + m * n * n, x->data<T>() + (m + 1) * n * n);
      double det = 1;
      for (int64_t c = 0; c < n; ++c) {  // Gaussian elimination, partial pivoting
        int64_t pivot = c;
        for (int64_t r = c + 1; r < n; ++r) {
          if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
        }
        if (a[pivot * n + c] == 0) {
          det = 0;
          break;
        }
        if (pivot != c) {
          for (int64_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[pivot * n + k]);
          det = -det;
        }
        det *= a[c * n + c];
        for (int64_t r = c + 1; r < n; ++r) {
          const double f = a[r * n + c] / a[c * n + c];
          for (int64_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
        }
      }
      out[m] = static_cast<T>(det);
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status MaxUnpool(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  if (indices.size() != x->element_count() || x->dims().size() < 3) {
    return ctx.Error("I must have one index per element of X, and X must be N-D with N >= 3");
  }
  const auto kernel = ctx.GetInts("kernel_shape");
  if (kernel.size() != x->dims().size() - 2) return ctx.Error("kernel_shape does not match X");
  auto strides = ctx.GetInts("strides");
  auto pads = ctx.GetInts("pads");
  const size_t n = kernel.size();
  if (strides.empty()) strides.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (strides.size() != n || pads.size() != 2 * n) return ctx.Error("strides or pads do not match");
  RETURN_IF_ERROR(CheckWindowAttributes(ctx, {&kernel, &strides, &pads}));
  // Indices are flat positions in the shape MaxPool saw; with an explicit
  // output_shape they are re-placed at the same coordinates in it.
  std::vector<int64_t> inferred = {x->dims()[0], x->dims()[1]};
  for (size_t i = 0; i < n; ++i) {
    inferred.push_back((x->dims()[2 + i] - 1) * strides[i] + kernel[i] - pads[i] - pads[n + i]);
  }
  std::vector<int64_t> shape = inferred;
  if (ctx.HasInput(2)) {
    ASSIGN_OR_RETURN(shape, ReadInts(ctx.input(2)));
    if (shape.size() != inferred.size()) return ctx.Error("output_shape has the wrong rank");
    RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), shape));
    const auto from = Strides(inferred), to = Strides(shape);
    for (int64_t& index : indices) {
      int64_t moved = 0;
      for (size_t d = 0; d < shape.size(); ++d) moved += (index / from[d]) % inferred[d] * to[d];
      index = moved;
    }
  }
  return VisitFloat(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out);
    const int64_t total = Product(shape);
    std::fill(out, out + total, T{0});
    for (size_t i = 0; i < indices.size(); ++i) {
      if (indices[i] < 0 || indices[i] >= total) return ctx.Error("index out of range");
      out[indices[i]] = x->data<T>()[i];
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterMiscOps(KernelRegistry& r) {
  r.Add("", "BitShift", 11, BitShift);
  r.Add("", "OneHot", 9, OneHot);
  r.Add("", "Compress", 9, Compress);
  r.Add("", "Shrink", 9, Shrink);
  r.Add("", "ReverseSequence", 10, ReverseSequence);
  r.Add("", "MeanVarianceNormalization", 9, MeanVarianceNormalization);
  r.Add("", "HannWindow", 17, WindowOp(WindowKind::kHann));
  r.Add("", "HammingWindow", 17, WindowOp(WindowKind::kHamming));
  r.Add("", "BlackmanWindow", 17, WindowOp(WindowKind::kBlackman));
  r.Add("", "Det", 11, Det);
  r.Add("", "MaxUnpool", 9, MaxUnpool);
}

}  // namespace pare::runtime
