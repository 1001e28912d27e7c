// BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// GroupNormalization, LRN and MeanVarianceNormalization.
#include <cmath>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

absl::Status BatchNorm(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  for (size_t i = 1; i < 5; ++i) RETURN_IF_ERROR(ctx.RequireInput(i).status());
  if (ctx.GetInt("training_mode", 0) != 0 ||
      (ctx.opset() < 9 && ctx.GetInt("is_test", 1) == 0 && ctx.output_count() > 1)) {
    return ctx.Unsupported("training_mode is not supported: pare runs inference");
  }
  if (x->dims().size() < 2) return ctx.Error("input must be at least 2-D");
  const int64_t channels = x->dims()[1];
  const int64_t inner = Product(x->dims(), 2);
  const int64_t batch = x->dims()[0];
  const float eps = ctx.GetFloat("epsilon", 1e-5f);
  return VisitFloat(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    for (size_t i = 1; i < 5; ++i) {
      if (!Holds<T>(ctx.input(i), channels)) {
        return ctx.Error("scale, B, mean and var must have one value per channel");
      }
    }
    const T* scale = ctx.input(1).data<T>();
    const T* bias = ctx.input(2).data<T>();
    const T* mean = ctx.input(3).data<T>();
    const T* var = ctx.input(4).data<T>();
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const T a = scale[c] / std::sqrt(var[c] + static_cast<T>(eps));
        const T b = bias[c] - mean[c] * a;
        const T* in = x->data<T>() + (n * channels + c) * inner;
        T* o = out + (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) o[i] = in[i] * a + b;
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

// Normalizes `rows` rows of `cols` values: y = (x - mean) / sqrt(var + eps),
// then the caller applies scale and bias per row or column.
template <typename T>
void NormalizeRows(const T* in, T* out, int64_t rows, int64_t cols, T eps, T* means, T* inv_stds,
                   ThreadPool& pool) {
  pool.ParallelFor(rows, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* x = in + r * cols;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < cols; ++i) sum += x[i];
      const double mean = sum / static_cast<double>(cols);
      for (int64_t i = 0; i < cols; ++i) sq += (x[i] - mean) * (x[i] - mean);
      const T inv = static_cast<T>(1.0 / std::sqrt(sq / static_cast<double>(cols) + eps));
      for (int64_t i = 0; i < cols; ++i) out[r * cols + i] = static_cast<T>((x[i] - mean) * inv);
      if (means) means[r] = static_cast<T>(mean);
      if (inv_stds) inv_stds[r] = inv;
    }
  });
}

absl::Status InstanceNorm(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scale, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* bias, ctx.RequireInput(2));
  if (x->dims().size() < 3) return ctx.Error("input must be at least 3-D");
  const int64_t channels = x->dims()[1], inner = Product(x->dims(), 2);
  const int64_t rows = x->dims()[0] * channels;
  if (static_cast<int64_t>(scale->element_count()) != channels ||
      static_cast<int64_t>(bias->element_count()) != channels || scale->dtype() != x->dtype() ||
      bias->dtype() != x->dtype()) {
    return ctx.Error("scale and B must hold one value per channel, of X's type");
  }
  return VisitFloat(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    NormalizeRows<T>(x->data<T>(), out, rows, inner, static_cast<T>(ctx.GetFloat("epsilon", 1e-5f)),
                     nullptr, nullptr, ctx.pool());
    for (int64_t r = 0; r < rows; ++r) {
      const T s = scale->data<T>()[r % channels], b = bias->data<T>()[r % channels];
      for (int64_t i = 0; i < inner; ++i) out[r * inner + i] = out[r * inner + i] * s + b;
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status LayerNorm(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scale, ctx.RequireInput(1));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 1, 2}));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", -1), rank));
  const int64_t rows = Product(x->dims(), 0, axis), cols = Product(x->dims(), axis);
  std::vector<int64_t> stat_shape(x->dims().begin(), x->dims().begin() + axis);
  stat_shape.resize(rank, 1);
  const std::vector<int64_t> norm_shape(x->dims().begin() + axis, x->dims().end());
  return VisitFloat(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T *out = nullptr, *means = nullptr, *inv = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    Tensor mean_t = NewTensor<T>(stat_shape, &means);
    Tensor inv_t = NewTensor<T>(stat_shape, &inv);
    NormalizeRows<T>(x->data<T>(), out, rows, cols, static_cast<T>(ctx.GetFloat("epsilon", 1e-5f)),
                     means, inv, ctx.pool());
    // Scale and bias broadcast over the normalized dimensions.
    auto apply = [&](const Tensor& t, bool add) -> absl::Status {
      auto shape = BroadcastShapes(t.dims(), norm_shape);
      if (!shape.ok() || *shape != norm_shape) return ctx.Error("scale/bias do not broadcast");
      const auto strides = BroadcastStrides(t.dims(), norm_shape);
      std::vector<int64_t> offsets(cols);
      ForEachBroadcast(norm_shape, strides, strides,
                       [&](int64_t i, int64_t o, int64_t) { offsets[i] = o; });
      const T* v = t.data<T>();
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < cols; ++i) {
          T& y = out[r * cols + i];
          y = add ? y + v[offsets[i]] : y * v[offsets[i]];
        }
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(apply(*scale, false));
    if (ctx.HasInput(2)) RETURN_IF_ERROR(apply(ctx.input(2), true));
    ctx.SetOutput(0, std::move(result));
    if (ctx.output_count() > 1) ctx.SetOutput(1, std::move(mean_t));
    if (ctx.output_count() > 2) ctx.SetOutput(2, std::move(inv_t));
    return absl::OkStatus();
  });
}

absl::Status GroupNorm(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* scale, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* bias, ctx.RequireInput(2));
  const int64_t groups = ctx.GetInt("num_groups", 0);
  if (x->dims().size() < 2 || groups <= 0 || x->dims()[1] % groups) {
    return ctx.Error("channels must divide into num_groups");
  }
  const int64_t channels = x->dims()[1], inner = Product(x->dims(), 2);
  const int64_t rows = x->dims()[0] * groups, cols = channels / groups * inner;
  // Opset 18 has one scale per group, 21 one per channel.
  const bool per_channel = static_cast<int64_t>(scale->element_count()) == channels;
  const int64_t params = per_channel ? channels : groups;
  if (static_cast<int64_t>(scale->element_count()) != params ||
      static_cast<int64_t>(bias->element_count()) != params || scale->dtype() != x->dtype() ||
      bias->dtype() != x->dtype()) {
    return ctx.Error("scale and bias must hold one value per group or per channel");
  }
  return VisitFloat(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    NormalizeRows<T>(x->data<T>(), out, rows, cols, static_cast<T>(ctx.GetFloat("epsilon", 1e-5f)),
                     nullptr, nullptr, ctx.pool());
    for (int64_t n = 0; n < x->dims()[0]; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t k = per_channel ? c : c / (channels / groups);
        T* plane = out + (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i)
          plane[i] = plane[i] * scale->data<T>()[k] + bias->data<T>()[k];
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Lrn(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t size = ctx.GetInt("size", 1);
  if (x->dims().size() < 3 || size <= 0)
    return ctx.Error("LRN needs an N-D input (N >= 3) and size > 0");
  const double alpha = ctx.GetFloat("alpha", 1e-4f), beta = ctx.GetFloat("beta", 0.75f),
               bias = ctx.GetFloat("bias", 1.0f);
  const int64_t channels = x->dims()[1], inner = Product(x->dims(), 2);
  return VisitFloat(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    const T* in = x->data<T>();
    for (int64_t n = 0; n < x->dims()[0]; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t lo = std::max<int64_t>(0, c - (size - 1) / 2);
        const int64_t hi = std::min<int64_t>(channels - 1, c + (size - 1) / 2 + (size - 1) % 2);
        for (int64_t i = 0; i < inner; ++i) {
          double sq = 0;
          for (int64_t j = lo; j <= hi; ++j) sq += std::pow(in[(n * channels + j) * inner + i], 2);
          const int64_t at = (n * channels + c) * inner + i;
          out[at] = static_cast<T>(in[at] / std::pow(bias + alpha / size * sq, beta));
        }
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterNormalizationOps(KernelRegistry& r) {
  r.Add("", "BatchNormalization", 1, BatchNorm);
  r.Add("", "InstanceNormalization", 6, InstanceNorm);
  r.Add("", "LayerNormalization", 17, LayerNorm);
  r.Add("", "GroupNormalization", 18, GroupNorm);
  r.Add("", "LRN", 1, Lrn);
}

}  // namespace pare::runtime
